"""Phoenix models, one module per aggregate."""

from processing.models.audit import AuditEvent
from processing.models.frames import HeaderChange, ObsRun, RawFrame
from processing.models.instances import CalSelectorPeriod, Instance

__all__ = [
    "AuditEvent",
    "CalSelectorPeriod",
    "HeaderChange",
    "Instance",
    "ObsRun",
    "RawFrame",
]
