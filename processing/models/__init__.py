"""Phoenix models, one module per aggregate."""

from processing.models.abs import AbCalibration, AbInput, AssociationBlock
from processing.models.archive import (
    ArchiveRecord,
    HideRequest,
    IdpConversion,
    IngestRequest,
    MasterReplacement,
)
from processing.models.audit import AuditEvent
from processing.models.batches import Batch
from processing.models.certification import Certification
from processing.models.comments import DateComment
from processing.models.frames import HeaderChange, ObsRun, RawFrame
from processing.models.instances import CalSelectorPeriod, Instance
from processing.models.products import Product
from processing.models.qc import QcParameter
from processing.models.runs import AbAttempt

__all__ = [
    "AbAttempt",
    "AbCalibration",
    "AbInput",
    "ArchiveRecord",
    "AssociationBlock",
    "AuditEvent",
    "Batch",
    "CalSelectorPeriod",
    "Certification",
    "DateComment",
    "HeaderChange",
    "HideRequest",
    "IdpConversion",
    "IngestRequest",
    "Instance",
    "MasterReplacement",
    "ObsRun",
    "Product",
    "QcParameter",
    "RawFrame",
]
