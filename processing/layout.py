"""The DFOS directory layout under PHOENIX_DATA_ROOT.

raw/<date> raw frames · hdr/<date> header dumps · work/<ab>/<attempt> isolated recipe runs ·
prod/<date|run_ID>/<ab>/<attempt> science products of processed, not yet certified ABs (DFOS'
$DFS_PRODUCT) · cal/<date> certified master calibrations · cal/VCAL/<ab>/<attempt> virtual
(uncertified) ones · cal/NEW/<date> certified
COMPLETE_MODE masters waiting for the replacement workflow ·
sci/<date|run_ID> science products, IDPs in sci/<date|run_ID>/idp · plt/<date> QC plots · log/<date> logs and
AB files · archive/ what was ingested.
"""

from pathlib import Path

from django.conf import settings

TOP_LEVEL = ("raw", "hdr", "work", "prod", "cal", "cal/VCAL", "cal/NEW", "sci", "plt", "log",
             "archive")


def data_root():
    return Path(settings.PHOENIX_DATA_ROOT)


def ensure_layout(root=None):
    """Create the top-level directories (idempotent); return the root."""
    root = Path(root or data_root())
    for name in TOP_LEVEL:
        (root / name).mkdir(parents=True, exist_ok=True)
    return root


def night_dir(kind, night, root=None):
    """e.g. night_dir("raw", date(2009, 6, 15)) → <root>/raw/2009-06-15."""
    if kind not in {"raw", "hdr", "cal", "sci", "plt", "log"}:
        raise ValueError(f"{kind!r} has no per-night directories")
    return Path(root or data_root()) / kind / night.isoformat()


def work_dir(ab_name, attempt, root=None):
    """Where attempt `attempt` of an AB runs its recipe: kept after a failure for inspection."""
    return Path(root or data_root()) / "work" / ab_name / str(attempt)


def attempt_log(pseudo_date, ab_name, attempt, root=None):
    """The recipe log of one attempt: outside the work directory, so it outlives the cleanup."""
    return Path(root or data_root()) / "log" / pseudo_date / ab_name / f"attempt-{attempt}.log"


def product_dir(category, pseudo_date, ab_name, attempt, root=None):
    """Where a successful attempt's products wait for certification: CALIB products are
    virtual calibrations (cal/VCAL), science products sit in prod/<date> ($DFS_PRODUCT)."""
    root = Path(root or data_root())
    if category == "CALIB":
        return root / "cal" / "VCAL" / ab_name / str(attempt)
    return root / "prod" / pseudo_date / ab_name / str(attempt)
