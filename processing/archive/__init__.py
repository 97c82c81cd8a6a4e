"""The archive side: ingestion (JOBS_INGEST), the archive store, versions, hiding and the
master-calibration replacement workflow (docs/INGESTION.md).

access.py       who may change the archive (certifier role)
queueing.py     queue_ingestion: one request per product file (name + md5), duplicates counted
ingest.py       ingest_requests / ingest_scope: claim, check, copy, record — each request once
checks.py       what a file must pass: the Phase 3 validator (IDPs), FITS integrity (masters)
records.py      ADP ids, versions and ENABLE_UPDATES
store.py        the archive store (PHOENIX_ARCHIVE_ROOT) and its atomic writes
hiding.py       hide_records / unhide_records, never static calibrations
replacement.py  preview / start / finish the replacement of master calibrations
"""

from processing.archive.access import ArchiveAccessError
from processing.archive.hiding import HideError, HideResult, hide_records, unhide_records
from processing.archive.ingest import IngestResult, ingest_requests, ingest_scope
from processing.archive.queueing import (
    IngestError,
    QueueResult,
    queue_ingestion,
    reopen_requests,
)
from processing.archive.replacement import (
    ReplacementError,
    finish_replacement,
    find_replacement,
    preview_replacement,
    start_replacement,
)

__all__ = [
    "ArchiveAccessError",
    "HideError",
    "HideResult",
    "IngestError",
    "IngestResult",
    "QueueResult",
    "ReplacementError",
    "find_replacement",
    "finish_replacement",
    "hide_records",
    "ingest_requests",
    "ingest_scope",
    "preview_replacement",
    "queue_ingestion",
    "reopen_requests",
    "start_replacement",
    "unhide_records",
]
