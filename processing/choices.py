"""Choice sets of the domain, each value with its label (and colour where pages show it).

Defined once here so that models, forms, templates and the CLI agree.
"""

from django.db import models


class InstanceMode(models.TextChoices):
    IDP = "IDP", "IDP (OB-based science products)"
    MCALIB = "MCALIB", "MCALIB (master calibrations)"
    DEEP = "DEEP", "DEEP (cross-OB products per run ID)"


class Engine(models.TextChoices):
    ESOREX = "esorex", "esorex (ESO CPL pipeline)"
    PYTHON = "python", "Python recipes shipped with Phoenix"
    AUTO = "auto", "esorex for the recipes it has on the host, else the Python recipes"


class CalSelectorMode(models.TextChoices):
    RAW2RAW = "raw2raw", "raw2raw (associate raw calibrations, make the masters)"
    RAW2MASTER = "raw2master", "raw2master (associate certified master calibrations)"


class AbSource(models.TextChoices):
    CREATE = "create", "create ABs from the data pool (createAB)"
    IMPORT = "import", "import historical AB files"


class PeriodSource(models.TextChoices):
    CONFIG = "config", "instance configuration file"
    OPERATOR = "operator", "set by an operator"


class AbCategory(models.TextChoices):
    """DFOS processing mode of an AB: calibrations first, science after."""

    CALIB = "CALIB", "CALIB"
    SCIENCE = "SCIENCE", "SCIENCE"


class AbStatus(models.TextChoices):
    """Processing state of an AB; `colour` is the one every page uses for it."""

    CREATED = "created", "created"
    PENDING = "pending", "pending (waits for the ABs it depends on)"
    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    SUCCESS = "success", "success"
    FAILED = "failed", "failed"
    CANCELLED = "cancelled", "cancelled"
    UPSTREAM_FAILED = "upstream_failed", "upstream failed"

    @classmethod
    def colour(cls, value):
        return {
            cls.CREATED: "#9aa5b1", cls.PENDING: "#c5b0d5", cls.QUEUED: "#f0ad4e", cls.RUNNING: "#1f77b4",
            cls.SUCCESS: "#2ca02c", cls.FAILED: "#d62728", cls.CANCELLED: "#7f7f7f",
            cls.UPSTREAM_FAILED: "#e377c2",
        }[value]  # fmt: skip


#: ABs in these states were processed (or are being processed): re-creating a scope keeps them.
PROCESSED_STATES = ("pending", "queued", "running", "success", "failed", "cancelled",
                    "upstream_failed")

#: ABs in these states are final: nothing more happens to them without an operator.
FINAL_STATES = ("success", "failed", "cancelled", "upstream_failed")

#: ABs in these states are part of a launched batch that has not finished with them.
ACTIVE_STATES = ("pending", "queued", "running")


class AttemptStatus(models.TextChoices):
    """How one attempt at running an AB's recipe ended (`running` while it runs)."""

    RUNNING = "running", "running"
    SUCCESS = "success", "success"
    FAILED = "failed", "failed (the recipe failed)"
    TIMEOUT = "timeout", "timed out"
    CANCELLED = "cancelled", "cancelled"
    LOST = "lost", "lost (the worker stopped heart-beating)"
    SUPERSEDED = "superseded", "superseded (another attempt took the AB)"


class QcStatus(models.TextChoices):
    """State of an AB's QC job (processQC)."""

    NONE = "none", "no QC yet"
    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    DONE = "done", "done"
    FAILED = "failed", "failed"
    SKIPPED = "skipped", "nothing to check (no products)"


class BatchStatus(models.TextChoices):
    CREATED = "created", "ABs created (not processed)"
    RUNNING = "running", "running"
    FINISHED = "finished", "finished"
    CANCELLED = "cancelled", "cancelled"

    @classmethod
    def colour(cls, value):
        return {
            cls.CREATED: "#9aa5b1", cls.RUNNING: "#1f77b4", cls.FINISHED: "#2ca02c",
            cls.CANCELLED: "#7f7f7f",
        }[value]  # fmt: skip


class Completeness(models.TextChoices):
    COMPLETE = "COMPLETE", "complete"
    INCOMPLETE = "INCOMPLETE", "incomplete (a required calibration is missing)"


class CalibrationKind(models.TextChoices):
    MASTER = "master", "certified master calibration"
    VIRTUAL = "virtual", "virtual (made by a CALIB AB, not yet certified)"
    RAW = "raw", "raw frame"
    STATIC = "static", "static calibration"


class ProductKind(models.TextChoices):
    MASTER = "master", "master calibration"
    SCIENCE = "science", "science product"
    IDP = "idp", "IDP"
    ANCILLARY = "ancillary", "ancillary"
    STATIC = "static", "static calibration"
    PLOT = "plot", "QC plot"
    LOG = "log", "log"


class ProductState(models.TextChoices):
    VIRTUAL = "virtual", "virtual"
    CERTIFIED = "certified", "certified"
    REJECTED = "rejected", "rejected"
    MOVED = "moved", "moved"
    INGESTED = "ingested", "ingested"


#: Products in these states may be associated as master calibrations (raw2master).
USABLE_PRODUCT_STATES = ("certified", "moved", "ingested")


class ScopeKind(models.TextChoices):
    DATE = "date", "date"
    MONTH = "month", "month"
    RUN = "run", "run ID (DEEP)"
