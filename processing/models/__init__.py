"""Phoenix models, one module per aggregate."""

from processing.models.abs import AbCalibration, AbInput, AssociationBlock
from processing.models.audit import AuditEvent
from processing.models.batches import Batch
from processing.models.frames import HeaderChange, ObsRun, RawFrame
from processing.models.instances import CalSelectorPeriod, Instance
from processing.models.products import Product
from processing.models.qc import QcParameter
from processing.models.runs import AbAttempt

__all__ = [
    "AbAttempt",
    "AbCalibration",
    "AbInput",
    "AssociationBlock",
    "AuditEvent",
    "Batch",
    "CalSelectorPeriod",
    "HeaderChange",
    "Instance",
    "ObsRun",
    "Product",
    "QcParameter",
    "RawFrame",
]
