"""The archive store: where ingested files live, and how they get there whole.

`<PHOENIX_ARCHIVE_ROOT>/<INSTANCE>/<date or run ID>/<ADP id><suffix>`, one file per
ArchiveRecord, never overwritten: a new version is a new ADP id. A file is first staged in
the run's directory under <root>/.staging (copied, md5 computed on the way, flushed to
disk), and renamed to its ADP name only inside the transaction that creates its record, so
the store never shows half a file and a record never names a file that is not complete.
"""

import hashlib
import os
import shutil
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from processing import layout

CHUNK = 1 << 20
#: where runs stage their copies, under the archive root
STAGING = ".staging"


def archive_root():
    """PHOENIX_ARCHIVE_ROOT, or PHOENIX_DATA_ROOT/archive when that is not set."""
    configured = getattr(settings, "PHOENIX_ARCHIVE_ROOT", None)
    return Path(configured) if configured else layout.data_root() / "archive"


def directory_for(instance_name, night=None, run_id=""):
    return archive_root() / instance_name / (run_id or (night.isoformat() if night else "undated"))


def file_name(adp_id, origfile):
    """The ADP id with the product's extension, as the ESO archive delivers files."""
    return adp_id + Path(origfile).suffix


@dataclass
class Staged:
    """A complete copy waiting to be published or discarded."""

    path: Path
    md5: str
    size: int


class Staging:
    """The private directory of one ingestion run, <root>/.staging/<host>-<pid>-…: copies
    wait there under their product's name (the Phase 3 validator's file-name rules judge the
    name) until they are renamed to their ADP name, on the same file system. Made when first
    needed, removed by close(); one left by a killed run is removed by sweep() once stale."""

    def __init__(self):
        self.path = None

    def stage(self, source):
        """Copy `source` here; md5 and size of what was copied. Raises OSError when the store
        cannot be written (full, read-only, not a directory)."""
        source = Path(source)
        target = self._directory() / source.name
        digest, size = hashlib.md5(), 0
        try:
            with open(source, "rb") as reader, open(target, "wb") as writer:
                for block in iter(lambda: reader.read(CHUNK), b""):
                    digest.update(block)
                    writer.write(block)
                    size += len(block)
                writer.flush()
                os.fsync(writer.fileno())
            os.chmod(target, 0o444)  # archived files are never modified in place
        except BaseException:
            discard(target)
            raise
        return Staged(target, digest.hexdigest(), size)

    def close(self):
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)

    def _directory(self):
        if self.path is None or not self.path.is_dir():
            parent = archive_root() / STAGING
            parent.mkdir(parents=True, exist_ok=True)
            prefix = f"{socket.gethostname()}-{os.getpid()}-"
            self.path = Path(tempfile.mkdtemp(dir=parent, prefix=prefix))
        return self.path


def sweep(older_than):
    """Remove staging directories untouched for `older_than` (their run was killed)."""
    parent = archive_root() / STAGING
    limit = time.time() - older_than.total_seconds()
    for directory in parent.iterdir() if parent.is_dir() else []:
        if directory.stat().st_mtime < limit:
            shutil.rmtree(directory, ignore_errors=True)


def remove_orphans(directory, recorded, older_than):
    """ADP files in `directory` that no record names (`recorded`: the names records use),
    last written before `older_than` ago: left by a run killed between renaming a file into
    place and committing its record. A live run renames and commits within moments, so a
    file that old is nobody's. Returns the files removed."""
    directory = Path(directory)
    limit = time.time() - older_than.total_seconds()
    removed = []
    for path in directory.glob("ADP.*") if directory.is_dir() else []:
        if path.name not in recorded and path.stat().st_mtime < limit:
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def publish(staged, target):
    """Rename the staged copy to its archive name and make the rename durable."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staged.path, target)
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return target


def discard(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
