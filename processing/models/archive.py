"""The archive side: IDP conversions, ingestion requests (JOBS_INGEST), archived files and
their versions, hide requests and master-calibration replacements."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from processing.choices import (
    ArchiveStatus,
    ConversionStatus,
    IngestStatus,
    ReplacementStep,
)


class IdpConversion(models.Model):
    """One IDP conversion of a certified science product (DFOS' CONVERTED log line).

    `idp` is the IDP Product written (null when the conversion failed); `detail` keeps what
    the conversion derived and from where (e.g. PHOTZP from which standard star, or nominal).
    """

    product = models.ForeignKey("processing.Product", on_delete=models.CASCADE,
                                related_name="conversions")
    idp = models.ForeignKey("processing.Product", null=True, blank=True,
                            on_delete=models.SET_NULL, related_name="converted_from")
    status = models.CharField(max_length=8, choices=ConversionStatus.choices)
    message = models.TextField(blank=True)
    detail = models.JSONField(default=dict, blank=True)
    actor_name = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["product", "-created_at", "-id"]
        verbose_name = "IDP conversion"

    def __str__(self):
        return f"{self.product} → {self.status}"


class IngestRequest(models.Model):
    """One product to ingest: a JOBS_INGEST line, de-duplicated.

    `key` is the product name plus its md5, unique: queueing the same file again only counts
    a duplicate, it never makes a second request. A reprocessed product (same name, new
    content) has a new key and so a request of its own; ENABLE_UPDATES decides at ingestion
    whether it may replace the archived version.
    """

    instance = models.ForeignKey("processing.Instance", on_delete=models.PROTECT,
                                 related_name="ingest_requests")
    product = models.ForeignKey("processing.Product", on_delete=models.PROTECT,
                                related_name="ingest_requests")
    key = models.CharField(max_length=240, unique=True, help_text="<name>:<md5>")
    night = models.DateField(null=True, blank=True)
    run_id = models.CharField(max_length=20, blank=True)
    status = models.CharField(max_length=10, choices=IngestStatus.choices,
                              default=IngestStatus.OPEN)
    duplicates = models.PositiveIntegerField(
        default=0, help_text="times the same product was queued again (never executed)"
    )
    attempts = models.PositiveIntegerField(default=0)
    claim_token = models.CharField(max_length=32, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    record = models.ForeignKey("processing.ArchiveRecord", null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="requests")
    actor_name = models.CharField(max_length=150, help_text="who queued it")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["instance", "status", "night"], name="ingest_status_night"),
            models.Index(fields=["instance", "run_id"], name="ingest_run"),
        ]

    def __str__(self):
        return f"{self.key} ({self.status})"


class ArchiveRecord(models.Model):
    """One file in the archive store (PHOENIX_DATA_ROOT/archive), with its ADP id.

    Versions of a product share (instance, ORIGFILE); at most one of them is current.
    """

    instance = models.ForeignKey("processing.Instance", on_delete=models.PROTECT,
                                 related_name="archive_records")
    product = models.ForeignKey("processing.Product", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="archive_records")
    adp_id = models.CharField(max_length=40, unique=True, help_text="ADP.<UTC timestamp>")
    origfile = models.CharField(max_length=200, help_text="the product's name at ingestion")
    prodcatg = models.CharField(max_length=60, blank=True, help_text="PRODCATG (IDPs)")
    pro_catg = models.CharField(max_length=80, blank=True)
    kind = models.CharField(max_length=10, help_text="ProductKind of the product")
    ab_name = models.CharField(max_length=120, blank=True)
    night = models.DateField(null=True, blank=True)
    mjd_obs = models.FloatField(null=True, blank=True)
    path = models.CharField(max_length=1000, help_text="file in the archive store")
    md5 = models.CharField(max_length=32)
    size = models.BigIntegerField()
    version = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=10, choices=ArchiveStatus.choices,
                              default=ArchiveStatus.CURRENT)
    replaced_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="replaces")
    hide_request = models.ForeignKey("processing.HideRequest", null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="records")
    status_reason = models.TextField(blank=True)
    ingested_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["instance", "origfile", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["instance", "origfile", "version"],
                                    name="archive_unique_version"),
            models.UniqueConstraint(fields=["instance", "origfile"],
                                    condition=Q(status="current"),
                                    name="archive_one_current_version"),
        ]
        indexes = [
            models.Index(fields=["instance", "kind", "status", "mjd_obs"], name="archive_kind"),
            models.Index(fields=["instance", "night"], name="archive_night"),
        ]

    def __str__(self):
        return f"{self.adp_id} {self.origfile} v{self.version} ({self.status})"


class HideRequest(models.Model):
    """A request to hide archived files (DFOS: a DBCM hide request): a time range and kinds,
    or explicit records; static calibrations in the range are listed and never hidden."""

    instance = models.ForeignKey("processing.Instance", on_delete=models.PROTECT,
                                 related_name="hide_requests")
    start = models.DateField(null=True, blank=True)
    end = models.DateField(null=True, blank=True, help_text="last night included")
    kinds = models.JSONField(default=list, blank=True, help_text="ProductKind values hidden")
    reason = models.TextField()
    excluded = models.JSONField(default=list, blank=True,
                                help_text="ADP ids in the range left visible (static calibrations)")
    hidden_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL)
    actor_name = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"hide {self.instance} {self.start}…{self.end} ({self.hidden_count})"


class MasterReplacement(models.Model):
    """The guided replacement of master calibrations after a COMPLETE_MODE reprocessing
    (operational hints §6): hide the old masters of a range (static ones excluded), ingest the
    new ones from cal/NEW, force calSelector to raw2raw meanwhile, back to raw2master after."""

    instance = models.ForeignKey("processing.Instance", on_delete=models.PROTECT,
                                 related_name="master_replacements")
    start = models.DateField()
    end = models.DateField(help_text="last night included")
    reason = models.TextField()
    step = models.CharField(max_length=10, choices=ReplacementStep.choices,
                            default=ReplacementStep.PREVIEWED)
    hide_request = models.ForeignKey(HideRequest, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="replacements")
    period = models.ForeignKey("processing.CalSelectorPeriod", null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="replacements")
    summary = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL)
    actor_name = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"replace masters {self.instance} {self.start}…{self.end} ({self.step})"
