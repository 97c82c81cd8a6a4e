"""Serving files to the browser without serving the server.

Views never take a path from the URL: they look up a row (Product, AB, attempt) by id and hand
the path recorded there to `send`. Even a recorded path is not trusted blindly — a row written
by hand, a `../` in a name, or a symlink planted in the tree must not expose a file outside
the data: the path is resolved (symlinks followed) and must lie under one of the allowed roots
(PHOENIX_DATA_ROOT and the archive root), and be a regular file. Anything else is a 404 whose
message names the thing asked for and the reason, but shows no server path outside the data
root.
"""

import mimetypes
import os
from pathlib import Path

from django.conf import settings
from django.http import FileResponse
from django.shortcuts import render

from processing.archive.store import archive_root

#: content types FITS and DFOS text files get (mimetypes does not know them everywhere)
CONTENT_TYPES = {
    ".fits": "application/fits",
    ".fit": "application/fits",
    ".fts": "application/fits",
    ".ab": "text/plain",
    ".log": "text/plain",
    ".txt": "text/plain",
    ".png": "image/png",
}


class Unavailable(Exception):
    """The file cannot be served; str() is the reason, safe to show."""


def roots():
    """The directories files may be served from, resolved (symlinked roots are fine)."""
    found = []
    for root in (Path(settings.PHOENIX_DATA_ROOT), archive_root()):
        try:
            found.append(root.resolve(strict=True))
        except OSError:
            continue  # a root that does not exist holds nothing to serve
    return found


def shown(path):
    """`path` as a user may see it: relative to the data root, or only its name."""
    for root in roots():
        try:
            return str(Path(path).relative_to(root))
        except ValueError:
            continue
    return Path(path).name


def resolve(path):
    """The real, regular file `path` (as recorded) names, or Unavailable. A relative path is
    taken relative to the data root; symlinks are followed before the root check."""
    if not path:
        raise Unavailable("no file is recorded")
    if "\x00" in str(path):
        raise Unavailable("the recorded path is not a valid file name")
    allowed = roots()
    candidate = Path(path)
    if not candidate.is_absolute():
        candidate = Path(settings.PHOENIX_DATA_ROOT) / candidate
    try:
        real = Path(os.path.realpath(candidate)).resolve(strict=True)
    except (OSError, RuntimeError):
        # Missing (or a symlink loop). Say where it was expected only if that is inside the data.
        lexical = Path(os.path.normpath(os.path.abspath(candidate)))
        if any(lexical.is_relative_to(root) for root in allowed):
            raise Unavailable(f"the file {shown(lexical)} is missing") from None
        raise Unavailable("the recorded file is missing or outside the data root") from None
    if not any(real.is_relative_to(root) for root in allowed):
        raise Unavailable("the recorded file lies outside the data root")
    if not real.is_file():
        raise Unavailable(f"{shown(real)} is not a regular file")
    return real


def unavailable(request, label, reason, status=404):
    """The page (or htmx fragment) saying why `label` cannot be served."""
    template = ("monitor/refused_fragment.html" if getattr(request, "htmx", False)
                else "monitor/products/unavailable.html")  # fmt: skip
    message = f"{label}: {reason}." if label else f"{reason[:1].upper()}{reason[1:]}."
    return render(request, template, {"message": message, "label": label}, status=status)


def send(request, path, *, as_attachment=True, download_name=None, content_type=None,
         label=None):
    """A FileResponse for the recorded `path` if it is a regular file under an allowed root,
    else a 404 naming `label` (default: the download name) and the reason."""
    label = label or download_name or (Path(path).name if path else "")
    try:
        real = resolve(path)
    except Unavailable as refusal:
        return unavailable(request, label, str(refusal))
    name = download_name or real.name
    if content_type is None:
        content_type = (CONTENT_TYPES.get(Path(name).suffix.lower())
                        or mimetypes.guess_type(name)[0] or "application/octet-stream")  # fmt: skip
    response = FileResponse(open(real, "rb"), as_attachment=as_attachment, filename=name,
                            content_type=content_type)  # fmt: skip
    response["X-Content-Type-Options"] = "nosniff"
    return response
