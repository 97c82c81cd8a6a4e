"""Run the rule table over one FITS file or an open HDUList.

validate_file never raises for a bad file: a missing, unreadable, non-FITS or truncated file
is one ALL-READABLE error; a check that breaks on an odd file becomes an error finding of its
rule ("could not be checked: …"), so one strange keyword cannot take the validator down.
"""

import os
import warnings

from astropy.io import fits

from processing.phase3.product import Product
from processing.phase3.report import ERROR, Finding, Report
from processing.phase3.rules import RULES

HEADER_RULES = tuple(rule for rule in RULES if rule.kind not in ("open", "batch"))


def validate_hdul(hdul, filename):
    """Validate an HDUList (open file or in memory) under the name it has (or will have) as
    a file: the name counts for the file-name rules. Checksums are verified as astropy
    computes them, so an in-memory HDUList needs `add_checksum()` on each HDU first."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # astropy's notes on fixable cards; not our findings
        product = Product(hdul, os.path.basename(str(filename)))
        report = Report(file=str(filename), prodcatg=product.prodcatg)
        for rule in HEADER_RULES:
            if rule.scope not in product.scopes:
                continue
            try:
                report.findings.extend(rule.findings(product))
            except Exception as exc:  # noqa: BLE001 — reported as a finding of the rule
                reason = " ".join(str(exc).split())
                report.findings.append(Finding(
                    rule.id, ERROR, "", None, "",
                    f"could not be checked: {type(exc).__name__}: {reason}"))
    return report


def validate_file(path):
    """Validate one FITS file; see the module docstring for what happens to bad files."""
    opened, reason = _open(path)
    if opened is None:
        report = Report(file=str(path))
        report.findings.append(Finding("ALL-READABLE", ERROR, "", None, "",
                                       f"{path} cannot be read as FITS: {reason}"))
        return report
    with opened:
        return validate_hdul(opened, path)


def _open(path):
    """(HDUList, None), or (None, reason) for a file that is missing, not FITS or truncated."""
    try:
        with warnings.catch_warnings(record=True) as noted:
            warnings.simplefilter("always")
            hdul = fits.open(path)
            try:
                hdul.readall()
                truncated = _truncation(noted)
            except Exception:
                hdul.close()
                raise
    except Exception as exc:  # noqa: BLE001 — astropy raises many kinds for broken files
        return None, (exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)) or \
            type(exc).__name__
    if truncated:
        hdul.close()
        return None, truncated
    return hdul, None


def _truncation(noted):
    """Why the file is incomplete, or None: astropy warns (and goes on) when data end early
    or an HDU's header is cut off, in which case it drops that HDU."""
    for warning in noted:
        text = str(warning.message)
        if "truncated" in text or "Error validating header" in text:
            return " ".join(text.split())
    return None
