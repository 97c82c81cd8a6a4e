"""File operations every step needs: atomic writes and moves, checksums.

A reader (or a crash) never sees half a file: data goes to a temporary file in the target's
directory, is flushed to disk, and is renamed over the target.
"""

import errno
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

CHUNK = 1 << 20


def atomic_write(path, data):
    """Write bytes to `path` through a unique temporary file in its directory + rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        _unlink(temporary)
        raise
    return path


def atomic_copy(source, target):
    """Copy `source` to `target` so that `target` is either absent/old or complete."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with open(source, "rb") as reader, os.fdopen(fd, "wb") as writer:
            shutil.copyfileobj(reader, writer, CHUNK)
            writer.flush()
            os.fsync(writer.fileno())
        shutil.copystat(source, temporary)
        os.replace(temporary, target)
    except BaseException:
        _unlink(temporary)
        raise
    return target


def move_file(source, target):
    """Move a file atomically: a rename on one file system, else a complete copy renamed into
    place before the source goes. At every moment the file is whole in one of the places."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(source, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        atomic_copy(source, target)
        os.unlink(source)
    return target


def md5_of(path):
    digest = hashlib.md5()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _unlink(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
