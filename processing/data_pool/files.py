"""Which files an import reads: FITS and .hdr files, directories searched recursively."""

import os
from pathlib import Path

from processing.headers import is_header_file


def find_header_files(paths, summary):
    """Expand files and directories into header files, in a stable order.

    A path that does not exist or cannot be listed is recorded as failed; files in
    directories that are neither FITS nor .hdr are counted as skipped. A file given by name
    is always read, whatever its name: the reader says what is wrong with it.
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
