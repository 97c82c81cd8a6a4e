"""Phoenix models, one module per aggregate."""

from processing.models.abs import AbCalibration, AbInput, AssociationBlock
from processing.models.audit import AuditEvent
from processing.models.batches import Batch
from processing.models.frames import HeaderChange, ObsRun, RawFrame
from processing.models.instances import CalSelectorPeriod, Instance
from processing.models.products import Product

__all__ = [
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
    "RawFrame",
]
