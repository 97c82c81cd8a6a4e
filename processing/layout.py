"""The DFOS directory layout under PHOENIX_DATA_ROOT.

raw/<date> raw frames · hdr/<date> header dumps · work/<ab>/<attempt> isolated recipe runs ·
cal/<date> certified master calibrations · cal/VCAL virtual (uncertified) ones ·
sci/<date|run_ID> science products and IDPs · plt/<date> QC plots · log/<date> logs and
AB files · archive/ what was ingested.
"""

from pathlib import Path

from django.conf import settings

TOP_LEVEL = ("raw", "hdr", "work", "cal", "cal/VCAL", "sci", "plt", "log", "archive")


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
