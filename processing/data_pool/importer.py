"""`import_headers`: the entry point. Files are read and written in chunks; with several CPUs
each chunk runs in a worker process that reads its headers and writes its own batch, so
reading (CPU-bound: ~1000 cards a header) and writing proceed on every core and nothing big
travels between processes."""

import logging
import multiprocessing
import os
import time
from dataclasses import asdict, dataclass, field

from django.db import DatabaseError, connection, connections

from processing import audit
from processing.data_pool.files import find_header_files
from processing.data_pool.records import FrameContext, read_frame
from processing.data_pool.writer import BatchWriter, update_run_nights

logger = logging.getLogger(__name__)

CHUNK_SIZE = 200
#: Below this many files, starting worker processes costs more than it saves.
PARALLEL_THRESHOLD = 2 * CHUNK_SIZE


@dataclass
class ImportSummary:
    files: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    warnings: list = field(default_factory=list)
    failed: list = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self):
        data = asdict(self)
        data["seconds"] = round(self.seconds, 3)
        return data


@dataclass
class ChunkResult:
    files: int
    counts: dict
    warnings: list
    failed: list
    arcfiles: list  # (arcfile, path) in reading order
    run_ids: set


def import_chunk(paths, context):
    """Read and write one chunk of files (in a worker process or in the caller's)."""
    writer = BatchWriter()
    warnings, failed, arcfiles = [], [], []
    try:
        for path in paths:
            fields, reason = read_frame(path, context)
            if reason is not None:
                failed.append({"path": path, "reason": reason})
                continue
            arcfiles.append((fields["arcfile"], path))
            if fields["warnings"]:
                warnings.append(
                    {"path": path, "arcfile": fields["arcfile"], "messages": fields["warnings"]}
                )
            writer.add(fields, path)
        writer.flush()
    except DatabaseError as exc:
        # The failing batch was one transaction: none of it was written. Name every file
        # that is not in the database, so that the operator can import them again.
        logger.exception("database error while writing a batch of frames")
        reason = f"database error, not imported: {exc}"
        unreadable = {item["path"] for item in failed}
        failed.extend(
            {"path": path, "reason": reason}
            for path in paths
            if path not in writer.written and path not in unreadable
        )
        arcfiles = [(arcfile, path) for arcfile, path in arcfiles if path in writer.written]
    return ChunkResult(len(paths), writer.counts, warnings, failed, arcfiles, writer.run_ids)


_worker_context = None


def _init_worker(context):
    global _worker_context
    _worker_context = context


def _import_chunk_in_worker(paths):
    return import_chunk(paths, _worker_context)


def _chunks(files):
    for start in range(0, len(files), CHUNK_SIZE):
        yield files[start : start + CHUNK_SIZE]


def _run_chunks(files, context, workers):
    """Yield a ChunkResult per chunk, in order; in worker processes where that is possible.

    Workers commit their own transactions, so an import inside an enclosing transaction
    (a caller's atomic block) runs in this process instead.
    """
    if workers is None:
        # One per CPU: more only compete with a local database server for the same CPUs
        # (measured on 2 CPUs: 3 workers 10 % slower than 2 on PostgreSQL, equal on SQLite).
        workers = os.cpu_count() or 1
    if workers <= 1 or len(files) < PARALLEL_THRESHOLD or connection.in_atomic_block:
        for chunk in _chunks(files):
            yield import_chunk(chunk, context)
        return
    connections.close_all()  # each worker opens its own connection
    pool = multiprocessing.get_context("fork").Pool(
        workers, initializer=_init_worker, initargs=(context,)
    )
    try:
        yield from pool.imap(_import_chunk_in_worker, _chunks(files))
    finally:
        pool.close()
        pool.join()


def import_headers(paths, *, instance=None, user=None, actor_name=None, progress=None,
                   workers=None):
    """Import the headers of files and directories into the data pool.

    `instance` (an Instance) restricts the import to that instance's instrument and uses its
    night offset; without it, each frame's instance is found by its instrument. `progress`,
    if given, is called once with the number of files found, then with the number of files
    done after each chunk. Returns an ImportSummary and writes one AuditEvent.
    """
    started = time.monotonic()
    summary = ImportSummary()
    files = find_header_files(paths, summary)
    summary.files = len(files)
    if progress is not None:
        progress(len(files))
    context = FrameContext.from_database(instance)
    first_seen = {}
    run_ids = set()
    for result in _run_chunks(files, context, workers):
        for key, value in result.counts.items():
            setattr(summary, key, getattr(summary, key) + value)
        summary.warnings.extend(result.warnings)
        summary.failed.extend(result.failed)
        run_ids |= result.run_ids
        for arcfile, path in result.arcfiles:
            earlier = first_seen.setdefault(arcfile, path)
            if earlier != path:
                summary.warnings.append(
                    {"path": path, "arcfile": arcfile,
                     "messages": [f"the same ARCFILE was also read from {earlier}"]}
                )  # fmt: skip
        if progress is not None:
            progress(result.files)
    update_run_nights(run_ids)
    summary.seconds = time.monotonic() - started
    _audit(summary, paths, instance, user, actor_name)
    return summary


def _audit(summary, paths, instance, user, actor_name):
    Result = audit.AuditEvent.Result
    if summary.failed and not (summary.imported or summary.updated or summary.unchanged):
        result = Result.FAILED
    else:
        result = Result.PARTIAL if summary.failed else Result.OK
    audit.record(
        "import_headers",
        user=user,
        actor_name=actor_name,
        obj=instance,
        object_type="processing.RawFrame" if instance is None else "",
        object_repr=f"headers from {', '.join(map(str, paths))}"[:300],
        result=result,
        message=(
            f"{summary.files} files: {summary.imported} imported, {summary.updated} updated, "
            f"{summary.unchanged} unchanged, {len(summary.failed)} failed"
        ),
        detail={
            "paths": [str(p) for p in paths][:50],
            "imported": summary.imported,
            "updated": summary.updated,
            "unchanged": summary.unchanged,
            "warnings": len(summary.warnings),
            "failed": summary.failed[:100],
        },
    )
