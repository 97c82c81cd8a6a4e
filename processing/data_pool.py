"""Header import into the data pool: files → RawFrame rows, one per ARCFILE.

The one entry point is `import_headers`; the `import_headers` command (and later the web UI)
call it. Headers are read in worker processes (reading is CPU-bound: ~1000 cards a header);
the parent writes batches with a few bulk statements, so a decade of frames imports in
minutes. Importing is idempotent: a known ARCFILE with the same header is left alone, a
changed header updates the row and leaves a HeaderChange with the differing cards.
"""

import logging
import multiprocessing
import os
import time
import zlib
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path

from django.db import IntegrityError, transaction
from django.db.models import Max, Min
from django.utils import timezone

from processing import audit
from processing.conventions import (
    InvalidRunId,
    mjd_to_datetime,
    night_of,
    parse_arcfile,
    parse_date_obs,
    parse_run_id,
)
from processing.headers import (
    DEFAULT_KEYWORD_PREFIXES,
    FITS_SUFFIXES,
    HDR_SUFFIXES,
    HeaderError,
    is_header_file,
    oca_name,
    parse_value,
    read_header,
    split_card,
)
from processing.models import HeaderChange, Instance, ObsRun, RawFrame

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
#: Below this many files the pool start-up costs more than it saves.
PARALLEL_THRESHOLD = 64


class FrameError(Exception):
    """A header that was read but cannot become a RawFrame (e.g. no time to assign a night)."""


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

    @property
    def ok(self):
        return not self.failed

    def as_dict(self):
        data = asdict(self)
        data["seconds"] = round(self.seconds, 3)
        return data


# --- finding files -----------------------------------------------------------------------


def find_header_files(paths, summary):
    """Expand files and directories (recursively) into header files, in a stable order.

    A path that does not exist or cannot be listed is recorded as failed; files in
    directories that are neither FITS nor .hdr are counted as skipped.
    """
    found = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            _walk(path, found, summary)
        elif path.is_file():
            found.append(str(path))
        elif path.exists():
            summary.failed.append({"path": str(path), "reason": "not a regular file"})
        else:
            summary.failed.append({"path": str(path), "reason": "no such file or directory"})
    return found


def _walk(directory, found, summary):
    def on_error(error):
        summary.failed.append(
            {"path": error.filename or str(directory), "reason": f"cannot list: {error.strerror}"}
        )

    for root, dirs, files in os.walk(directory, onerror=on_error):
        dirs.sort()
        for name in sorted(files):
            if name.startswith("."):
                continue
            if is_header_file(name):
                found.append(os.path.join(root, name))
            else:
                summary.skipped += 1


# --- reading (in worker processes) -------------------------------------------------------


def _read(path, prefixes):
    """Read one file; return plain data that pickles cheaply back to the parent."""
    try:
        read = read_header(path, prefixes)
    except HeaderError as exc:
        return path, None, str(exc)
    except Exception as exc:  # noqa: BLE001 - one bad file must not stop an import
        logger.exception("unexpected error reading %s", path)
        return path, None, f"unexpected error: {exc.__class__.__name__}: {exc}"
    text = read.text.encode("ascii", "replace")
    payload = {
        "kind": read.kind,
        "keywords": read.keywords,
        "warnings": read.warnings,
        "header": zlib.compress(text, 1),
        "md5": read.md5,
    }
    return path, payload, None


def _read_star(args):
    return _read(*args)


def _read_all(files, prefixes, workers):
    """Yield (path, payload, error) for every file, in order, in parallel where it pays."""
    if workers is None:
        workers = os.cpu_count() or 1
    jobs = ((path, prefixes) for path in files)
    if workers <= 1 or len(files) < PARALLEL_THRESHOLD:
        yield from map(_read_star, jobs)
        return
    context = multiprocessing.get_context("fork")
    with context.Pool(workers) as pool:
        yield from pool.imap(_read_star, jobs, chunksize=16)


# --- turning a header into a frame -------------------------------------------------------


class _Instances:
    """Which instance (for the night offset and the instrument check) a frame belongs to."""

    def __init__(self, instance):
        self.instance = instance
        self.by_instrument = {}
        for candidate in Instance.objects.order_by("name"):
            self.by_instrument.setdefault(candidate.instrument, candidate)
            for value in candidate.instrume_values:
                self.by_instrument.setdefault(value, candidate)

    def keyword_prefixes(self):
        prefixes = set(DEFAULT_KEYWORD_PREFIXES)
        chosen = [self.instance] if self.instance else set(self.by_instrument.values())
        for instance in chosen:
            prefixes.update(instance.config.get("data_pool", {}).get("keyword_prefixes", []))
        return tuple(sorted(prefixes))

    def for_frame(self, instrument, instrume):
        if self.instance is None:
            return self.by_instrument.get(instrument) or self.by_instrument.get(instrume)
        wanted = self.instance
        if instrument == wanted.instrument or instrume in wanted.instrume_values:
            return wanted
        raise FrameError(
            f"frame of instrument {instrument or instrume!r} does not belong to instance "
            f"{wanted.name} (instrument {wanted.instrument})"
        )


def _text(keywords, key, limit, warnings):
    value = keywords.get(key)
    if value is None or isinstance(value, bool):
        return ""
    text = str(value)
    if len(text) > limit:
        warnings.append(f"{key}: value longer than {limit} characters, shortened in the index")
        text = text[:limit]
    return text


def _number(keywords, key, warnings):
    value = keywords.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        warnings.append(f"{key}: {value!r} is not a number")
        return None
    return float(value)


def frame_fields(path, payload, instances):
    """RawFrame field values for one read header; raise FrameError if it cannot be one."""
    keywords = payload["keywords"]
    warnings = list(payload["warnings"])
    name = os.path.basename(path)

    arcfile = keywords.get("ARCFILE")
    if not isinstance(arcfile, str) or not arcfile.strip():
        arcfile = _arcfile_from_file_name(name)
        warnings.append(f"no ARCFILE keyword: using the file name, {arcfile}")
    arcfile = arcfile.strip()
    try:
        parsed_arcfile = parse_arcfile(arcfile)
    except ValueError as exc:
        parsed_arcfile = None
        warnings.append(str(exc))
    if len(arcfile) > 80:
        raise FrameError(f"ARCFILE {arcfile[:40]!r}… is longer than 80 characters")

    instrume = keywords.get("INSTRUME") if isinstance(keywords.get("INSTRUME"), str) else ""
    instrument = parsed_arcfile.instrument if parsed_arcfile else ""
    instance = instances.for_frame(instrument, instrume)
    if not instrument:
        instrument = instance.instrument if instance else (instrume or "UNKNOWN")[:20]
    offset = instance.night_offset_hours if instance else 0.0

    mjd_obs = _number(keywords, "MJD-OBS", warnings)
    date_obs = None
    if isinstance(keywords.get("DATE-OBS"), str):
        try:
            date_obs = parse_date_obs(keywords["DATE-OBS"])
        except ValueError as exc:
            warnings.append(str(exc))
    if mjd_obs is not None:
        moment = mjd_to_datetime(mjd_obs)
        if date_obs is not None and abs(moment - date_obs) > timedelta(seconds=1):
            warnings.append(
                f"MJD-OBS {mjd_obs} and DATE-OBS {keywords['DATE-OBS']} differ by "
                f"{abs(moment - date_obs).total_seconds():.0f} s; the night follows MJD-OBS"
            )
    elif date_obs is not None:
        moment = date_obs
    elif parsed_arcfile is not None:
        moment = parsed_arcfile.timestamp
        warnings.append("no MJD-OBS or DATE-OBS: the night follows the ARCFILE time")
    else:
        raise FrameError("no MJD-OBS, DATE-OBS or ARCFILE time: cannot assign a night")

    prog_id = _text(keywords, "OBS.PROG.ID", 40, warnings)
    run_id = ""
    if prog_id:
        try:
            parsed_run = parse_run_id(prog_id)
        except InvalidRunId as exc:
            warnings.append(f"OBS.PROG.ID: {exc}")
        else:
            run_id = parsed_run.run_id or ""
            if not run_id:
                warnings.append(f"OBS.PROG.ID {prog_id!r} has no run letter")
    obs_id = keywords.get("OBS.ID")
    if isinstance(obs_id, bool) or not isinstance(obs_id, int) or not 0 <= obs_id < 2**63:
        obs_id = None

    kind = payload["kind"]
    return {
        "arcfile": arcfile,
        "instrument": instrument,
        "origfile": _text(keywords, "ORIGFILE", 200, warnings),
        "path": os.path.abspath(path) if kind == "fits" else None,
        "header_path": os.path.abspath(path) if kind == "hdr" else "",
        "night": night_of(moment, offset),
        "mjd_obs": mjd_obs,
        "date_obs": date_obs or moment,
        "exptime": _number(keywords, "EXPTIME", warnings),
        "object": _text(keywords, "OBJECT", 80, warnings),
        "dpr_catg": _text(keywords, "DPR.CATG", 40, warnings),
        "dpr_type": _text(keywords, "DPR.TYPE", 60, warnings),
        "dpr_tech": _text(keywords, "DPR.TECH", 60, warnings),
        "prog_id": prog_id,
        "run_id": run_id,
        "obs_id": obs_id,
        "obs_name": _text(keywords, "OBS.NAME", 80, warnings),
        "tpl_id": _text(keywords, "TPL.ID", 80, warnings),
        "tpl_start": _text(keywords, "TPL.START", 30, warnings),
        "keywords": keywords,
        "header": payload["header"],
        "header_md5": payload["md5"],
        "warnings": warnings,
    }


def _arcfile_from_file_name(name):
    lower = name.lower()
    for suffix in sorted(FITS_SUFFIXES + HDR_SUFFIXES, key=len, reverse=True):
        if lower.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return f"{name}.fits"


# --- writing batches ---------------------------------------------------------------------

_DATA_FIELDS = [
    "instrument", "origfile", "night", "mjd_obs", "date_obs", "exptime", "object",
    "dpr_catg", "dpr_type", "dpr_tech", "prog_id", "run_id", "obs_id", "obs_name", "tpl_id",
    "tpl_start", "keywords", "header", "header_md5", "warnings",
]  # fmt: skip


def _card_values(header_blob):
    """{OCA name: value} of every card with a value (all categories), to say what changed."""
    values = {}
    for card in zlib.decompress(bytes(header_blob)).decode("ascii", "replace").split("\n"):
        keyword, value_text, _ = split_card(card)
        if value_text is not None:
            values[oca_name(keyword)] = parse_value(value_text)[0]
    return values


def _changed_cards(old_blob, new_blob):
    old, new = _card_values(old_blob), _card_values(new_blob)
    return {
        key: [old.get(key), new.get(key)]
        for key in sorted(old.keys() | new.keys())
        if old.get(key) != new.get(key)
    }


class _BatchWriter:
    def __init__(self, summary):
        self.summary = summary
        self.pending = {}
        self.run_ids = set()

    def add(self, fields, source):
        if fields["arcfile"] in self.pending:
            self.flush()  # the same frame twice in one import: write the first one first
        self.pending[fields["arcfile"]] = (fields, source)
        if len(self.pending) >= BATCH_SIZE:
            self.flush()

    def flush(self):
        if not self.pending:
            return
        for attempt in range(3):
            try:
                with transaction.atomic():
                    counts = self._write(self.pending)
                break
            except IntegrityError:
                if attempt == 2:
                    raise
                logger.info("another import created some of these frames; retrying the batch")
        self.summary.imported += counts[0]
        self.summary.updated += counts[1]
        self.summary.unchanged += counts[2]
        self.pending = {}

    def _write(self, pending):
        existing = {
            row["arcfile"]: row
            for row in RawFrame.objects.filter(arcfile__in=list(pending)).values(
                "id", "arcfile", "header_md5", "header_revision", "path", "header_path"
            )
        }
        now = timezone.now()
        new, changed, relocated = [], [], []
        for arcfile, (fields, _source) in pending.items():
            row = existing.get(arcfile)
            if row is None:
                new.append(RawFrame(**fields))
                continue
            path = fields["path"] or row["path"]
            header_path = fields["header_path"] or row["header_path"]
            if row["header_md5"] == fields["header_md5"]:
                if (path, header_path) != (row["path"], row["header_path"]):
                    relocated.append(
                        RawFrame(id=row["id"], path=path, header_path=header_path, updated_at=now)
                    )
                continue
            changed.append((row, fields, path, header_path))

        changes, updated = [], []
        if changed:
            old_headers = dict(
                RawFrame.objects.filter(id__in=[row["id"] for row, *_ in changed]).values_list(
                    "id", "header"
                )
            )
            for row, fields, path, header_path in changed:
                revision = row["header_revision"] + 1
                frame = RawFrame(id=row["id"], path=path, header_path=header_path,
                                 header_revision=revision, updated_at=now)
                for name in _DATA_FIELDS:
                    setattr(frame, name, fields[name])
                updated.append(frame)
                changes.append(
                    HeaderChange(
                        frame_id=row["id"],
                        revision=revision,
                        changed=_changed_cards(old_headers[row["id"]], fields["header"]),
                        previous_header=old_headers[row["id"]],
                        previous_md5=row["header_md5"],
                        source=pending[fields["arcfile"]][1],
                    )
                )
        RawFrame.objects.bulk_create(new)
        if updated:
            RawFrame.objects.bulk_update(
                updated, [*_DATA_FIELDS, "path", "header_path", "header_revision", "updated_at"]
            )
            HeaderChange.objects.bulk_create(changes)
        if relocated:
            RawFrame.objects.bulk_update(relocated, ["path", "header_path", "updated_at"])
        run_ids = {fields["run_id"] for fields, _ in pending.values() if fields["run_id"]}
        _register_runs(run_ids - self.run_ids)
        self.run_ids |= run_ids
        return len(new), len(updated), len(pending) - len(new) - len(updated)


def _register_runs(run_ids):
    runs = []
    for run_id in sorted(run_ids):
        parsed = parse_run_id(run_id)
        runs.append(
            ObsRun(
                run_id=run_id,
                programme_id=parsed.programme_id,
                period=parsed.period,
                programme_type=parsed.programme_type or "",
                category=parsed.category,
            )
        )
    ObsRun.objects.bulk_create(runs, ignore_conflicts=True)


def _update_run_nights(run_ids):
    if not run_ids:
        return
    spans = (
        RawFrame.objects.filter(run_id__in=run_ids)
        .values("run_id")
        .annotate(first=Min("night"), last=Max("night"))
    )
    runs = {run.run_id: run for run in ObsRun.objects.filter(run_id__in=run_ids)}
    for span in spans:
        run = runs.get(span["run_id"])
        if run is not None:
            run.first_night, run.last_night = span["first"], span["last"]
    ObsRun.objects.bulk_update(runs.values(), ["first_night", "last_night"])


# --- the entry point ---------------------------------------------------------------------


def import_headers(paths, *, instance=None, user=None, actor_name=None, progress=None,
                   workers=None):
    """Import the headers of files and directories into the data pool.

    `instance` (an Instance) restricts the import to that instance's instrument and uses its
    night offset; without it each frame's instance is found by its instrument. `progress`, if
    given, is called with the number of files found and then once per file read.
    Returns an ImportSummary; writes one AuditEvent.
    """
    started = time.monotonic()
    summary = ImportSummary()
    files = find_header_files(paths, summary)
    summary.files = len(files)
    if progress is not None:
        progress(len(files))
    instances = _Instances(instance)
    writer = _BatchWriter(summary)
    first_seen = {}
    for path, payload, error in _read_all(files, instances.keyword_prefixes(), workers):
        if progress is not None:
            progress(None)
        if error is not None:
            summary.failed.append({"path": path, "reason": error})
            continue
        try:
            fields = frame_fields(path, payload, instances)
        except FrameError as exc:
            summary.failed.append({"path": path, "reason": str(exc)})
            continue
        earlier = first_seen.setdefault(fields["arcfile"], path)
        if earlier != path:
            fields["warnings"].append(f"the same ARCFILE was also read from {earlier}")
        if fields["warnings"]:
            summary.warnings.append(
                {"path": path, "arcfile": fields["arcfile"], "messages": fields["warnings"]}
            )
        writer.add(fields, path)
    writer.flush()
    _update_run_nights(writer.run_ids)
    summary.seconds = time.monotonic() - started
    _audit(summary, paths, instance, user, actor_name)
    return summary


def _audit(summary, paths, instance, user, actor_name):
    if summary.failed and not (summary.imported or summary.updated or summary.unchanged):
        result = audit.AuditEvent.Result.FAILED
    elif summary.failed:
        result = audit.AuditEvent.Result.PARTIAL
    else:
        result = audit.AuditEvent.Result.OK
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
