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

    @classmethod
    def colour(cls, value):
        return {cls.NONE: "#9aa5b1", cls.QUEUED: "#f0ad4e", cls.RUNNING: "#1f77b4",
                cls.DONE: "#2ca02c", cls.FAILED: "#d62728", cls.SKIPPED: "#9aa5b1"}[value]  # fmt: skip


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
    SUPERSEDED = "superseded", "superseded (a re-processing of its AB was moved over it)"


#: Products in these states may be associated as master calibrations (raw2master).
USABLE_PRODUCT_STATES = ("certified", "moved", "ingested")


class ScopeKind(models.TextChoices):
    DATE = "date", "date"
    MONTH = "month", "month"
    RUN = "run", "run ID (DEEP)"


class CertificationDecision(models.TextChoices):
    """The QC scientist's verdict on an AB's products (blank: not reviewed yet)."""

    CERTIFIED = "certified", "certified"
    REJECTED = "rejected", "rejected"

    @classmethod
    def colour(cls, value):
        return {cls.CERTIFIED: "#2ca02c", cls.REJECTED: "#d62728"}.get(value, "#9aa5b1")


class ConversionStatus(models.TextChoices):
    """How the IDP conversion of one science product ended (DFOS' CONVERTED log)."""

    OK = "ok", "converted"
    FAILED = "failed", "conversion failed"


class IngestStatus(models.TextChoices):
    """State of one ingestion request (a JOBS_INGEST line).

    `held`: waits for an operator step first (COMPLETE_MODE master calibrations are ingested by
    the replacement workflow, after the old ones are hidden); `refused`: the Phase 3 validator
    or ENABLE_UPDATES=NO stopped it, with the reason in `error`.
    """

    HELD = "held", "held (waits for the replacement workflow)"
    OPEN = "open", "open"
    RUNNING = "running", "running"
    DONE = "done", "done"
    FAILED = "failed", "failed (3 attempts)"
    REFUSED = "refused", "refused"

    @classmethod
    def colour(cls, value):
        return {
            cls.HELD: "#c5b0d5", cls.OPEN: "#f0ad4e", cls.RUNNING: "#1f77b4", cls.DONE: "#2ca02c",
            cls.FAILED: "#d62728", cls.REFUSED: "#8c564b",
        }[value]  # fmt: skip


#: Ingestion requests in these states may still be executed.
INGEST_PENDING_STATES = ("held", "open", "running")


class ArchiveStatus(models.TextChoices):
    """Version status of an archived file (ESO archive: current, obsolete, deprecated, hidden)."""

    CURRENT = "current", "current"
    OBSOLETE = "obsolete", "obsolete (a newer version replaced it)"
    DEPRECATED = "deprecated", "deprecated"
    HIDDEN = "hidden", "hidden"

    @classmethod
    def colour(cls, value):
        return {cls.CURRENT: "#2ca02c", cls.OBSOLETE: "#9aa5b1", cls.DEPRECATED: "#8c564b",
                cls.HIDDEN: "#7f7f7f"}[value]  # fmt: skip


#: archived files in these states are withdrawn: raw2master no longer associates their products
WITHDRAWN_ARCHIVE_STATES = ("obsolete", "deprecated", "hidden")


class ReplacementStep(models.TextChoices):
    """Where a master-calibration replacement stands (operational hints §6)."""

    PREVIEWED = "previewed", "previewed"
    HIDDEN = "hidden", "old masters hidden, calSelector forced to raw2raw"
    INGESTING = "ingesting", "new masters being ingested"
    COMPLETE = "complete", "complete (calSelector back to raw2master)"
    ABANDONED = "abandoned", "abandoned"
