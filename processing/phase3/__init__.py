"""Phase 3 validation of IDP files against the ESO Science Data Products standard.

    validate_file(path) -> Report         one FITS file (never raises for a bad file)
    validate_hdul(hdul, filename) -> Report an open or in-memory HDUList
    validate_batch(paths) -> [Report]     files of one release, with the cross-file rules
    RULES                                 the rule table (rules.py; docs/PHASE3.md)

A Report has .findings, .errors, .warnings, .ok (no error), .prodcatg and .as_dict().
"""

from processing.phase3.batch import validate_batch
from processing.phase3.report import ERROR, WARNING, Finding, Report
from processing.phase3.rules import BY_ID, RULES
from processing.phase3.validator import validate_file, validate_hdul

__all__ = ["BY_ID", "ERROR", "RULES", "WARNING", "Finding", "Report", "validate_batch",
           "validate_file", "validate_hdul"]
