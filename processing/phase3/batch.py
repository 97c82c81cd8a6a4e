"""Validation of a batch of files, as a Phase 3 release is validated: every file on its own,
then the rules across files. The one cross-file rule that needs nothing but the files: each
SCIENCE.CUBE.IFS has exactly one ANCILLARY.IMAGE.WHITELIGHT among its ASSONi files, with the
spatial size of the cube (BATCH-CUBE-WHITELIGHT).
"""

import os
import warnings

from astropy.io import fits

from processing.phase3.categories import CUBE, WHITELIGHT
from processing.phase3.report import ERROR, Finding
from processing.phase3.validator import validate_file

RULE = "BATCH-CUBE-WHITELIGHT"


def validate_batch(paths):
    """One report per path, in order; cube reports also carry the white-light findings."""
    paths = [str(path) for path in paths]
    reports = [validate_file(path) for path in paths]
    members = {os.path.basename(path): (path, report) for path, report in zip(paths, reports)}
    for path, report in zip(paths, reports):
        if report.prodcatg == CUBE and not any(f.rule == "ALL-READABLE" for f in report.findings):
            report.findings.extend(_whitelight_findings(path, members))
    return reports


def _headers(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(path) as hdul:
            return [hdu.header.copy() for hdu in hdul]


def _spatial_size(headers, naxis):
    """(NAXIS1, NAXIS2) of the first HDU with `naxis` axes (the cube's DATA extension when it
    says so), or None."""
    ordered = sorted(headers, key=lambda header: header.get("HDUCLAS2") != "DATA")
    for header in ordered:
        if header.get("NAXIS") == naxis:
            return header.get("NAXIS1"), header.get("NAXIS2")
    return None


def _whitelight_findings(path, members):
    headers = _headers(path)
    primary = headers[0]
    associated = [str(primary[key]).strip() for key in primary
                  if key.startswith("ASSON") and key[5:].isdigit()]
    whites = [name for name in associated
              if name in members and members[name][1].prodcatg == WHITELIGHT]
    if len(whites) != 1:
        found = ", ".join(whites) if whites else "none"
        yield Finding(RULE, ERROR, "ASSON1", 0, "", (
            f"ASSON1…: a cube needs exactly one {WHITELIGHT} among its associated files in this "
            f"batch (associated: {', '.join(associated) or 'none'}; white-light images: {found})"))
        return
    cube_size = _spatial_size(headers, 3)
    white_size = _spatial_size(_headers(members[whites[0]][0]), 2)
    if cube_size != white_size:
        yield Finding(RULE, ERROR, "NAXIS1", 0, "", (
            f"NAXIS1 x NAXIS2 of the white-light image {whites[0]} is {_size_text(white_size)}, "
            f"of the cube's spatial plane {_size_text(cube_size)}"))


def _size_text(size):
    return f"{size[0]} x {size[1]}" if size else "of unknown size"
