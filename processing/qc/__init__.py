"""The QC job (DFOS processQC + scoreQC): QC1 parameters of an AB's products, scored against
the instance's thresholds, with plots. See docs/QC.md.

    from processing.qc import run_qc
    result = run_qc(ab)   # QcResult(parameters, score, proposed, plots, warnings, …)
"""

from processing.qc.service import QcResult, run_qc
from processing.qc.thresholds import ThresholdError, parse_thresholds

__all__ = ["QcResult", "ThresholdError", "parse_thresholds", "run_qc"]
