"""Association Blocks: DFOS's unit of processing, with their inputs and calibrations."""

from django.db import models

from processing.choices import (
    AbCategory,
    AbStatus,
    CalibrationKind,
    CertificationDecision,
    Completeness,
    QcStatus,
)


class AssociationBlock(models.Model):
    """One AB: raw frames, associated calibrations, a recipe with parameters.

    The fields carry the DFOS qualifiers (AB_NAME, BATCH_ID, DATE, RAW_TYPE, RECIPE,
    DRS_TYPE, AB_EVENT, COMPLETENESS, OBS_PROG_ID, OBS_MODE, OBS_ID, MJD-OBS, MJD-OBS_MOD,
    PROD_ROOT_NAME, RAW_MATCH_KEY …); processing/abs/files.py writes and reads the text form.
    `night` is the DFO date of the first raw frame; DEEP ABs have a run ID (pseudo-date).
    """

    instance = models.ForeignKey("processing.Instance", on_delete=models.PROTECT,
                                 related_name="abs")
    batch = models.ForeignKey("processing.Batch", null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="abs")
    ab_name = models.CharField(max_length=120)
    batch_label = models.CharField(max_length=40, help_text="BATCH_ID: $MODE_$DATE")
    category = models.CharField(max_length=8, choices=AbCategory.choices)
    night = models.DateField(null=True, blank=True)
    run_id = models.CharField(max_length=20, blank=True, help_text="DEEP: the run (pseudo-date)")
    raw_type = models.CharField(max_length=60)
    action = models.CharField(max_length=80)
    recipe = models.CharField(max_length=80, blank=True)
    parameters = models.JSONField(default=list, blank=True)
    drs_type = models.CharField(max_length=8, default="CPL")
    ab_event = models.CharField(max_length=40, blank=True)
    completeness = models.CharField(max_length=10, choices=Completeness.choices,
                                    default=Completeness.COMPLETE)
    missing = models.JSONField(default=list, blank=True,
                               help_text="what an INCOMPLETE AB lacks, one message per tag")
    obs_prog_id = models.CharField(max_length=40, blank=True)
    obs_mode = models.CharField(max_length=8, blank=True)
    obs_id = models.BigIntegerField(null=True, blank=True)
    target = models.CharField(max_length=80, blank=True)
    mjd_obs = models.FloatField()
    mjd_obs_mod = models.FloatField()
    prod_root_name = models.CharField(max_length=120)
    raw_match_key = models.JSONField(default=dict, blank=True)
    products_expected = models.JSONField(default=list, blank=True,
                                         help_text="[{name, PRO.CATG}] from the action")
    virtual = models.BooleanField(default=False, help_text="uses uncertified calibrations")
    quality_level = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="worst association level of its calibrations (0–3)"
    )
    depends_on = models.ManyToManyField("self", symmetrical=False, blank=True,
                                        related_name="dependants")
    status = models.CharField(max_length=16, choices=AbStatus.choices, default=AbStatus.CREATED)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Processing (processing/queue): the current attempt holds a lease it renews while the
    # recipe runs; the reaper takes back ABs whose lease expired (the worker died).
    attempts = models.PositiveIntegerField(default=0, help_text="attempts started so far")
    lease_token = models.CharField(max_length=32, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    cancel_requested = models.BooleanField(default=False)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    exec_seconds = models.FloatField(null=True, blank=True, help_text="recipe wall time")
    host = models.CharField(max_length=120, blank=True, help_text="host of the last attempt")
    worker = models.CharField(max_length=120, blank=True, help_text="worker of the last attempt")
    log_path = models.CharField(max_length=1000, blank=True)
    error = models.TextField(blank=True, help_text="why the last attempt failed")

    # processQC
    qc_status = models.CharField(max_length=8, choices=QcStatus.choices, default=QcStatus.NONE)
    qc_score = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="worst QC score: 0 ok, 1 outlier, null not scored"
    )
    auto_certify_proposed = models.BooleanField(
        default=False, help_text="every scored QC parameter passed"
    )

    # -M: certification (history in Certification rows) and the move of the products
    certification = models.CharField(max_length=10, choices=CertificationDecision.choices,
                                     blank=True, help_text="decision in force; blank: not reviewed")
    certified_at = models.DateTimeField(null=True, blank=True)
    moved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["mjd_obs", "ab_name"]
        constraints = [
            models.UniqueConstraint(fields=["instance", "ab_name"], name="ab_unique_name"),
        ]
        indexes = [
            models.Index(fields=["instance", "night", "status"], name="ab_night_status"),
            models.Index(fields=["instance", "run_id"], name="ab_run"),
            models.Index(fields=["instance", "category", "night"], name="ab_category_night"),
            models.Index(fields=["instance", "status"], name="ab_status"),
            models.Index(fields=["status", "lease_expires_at"], name="ab_lease"),
            models.Index(fields=["batch", "status"], name="ab_batch_status"),
            # phoenixMonitor (monitor/selectors/overview.py): the per-night counts of an
            # instance's calendar and grid, and the instance totals, read from these alone
            models.Index(fields=["instance", "night", "status", "completeness"],
                         name="ab_monitor_night"),
            models.Index(fields=["instance", "status", "certification", "moved_at"],
                         name="ab_monitor_totals"),
        ]
        verbose_name = "association block"

    def __str__(self):
        return self.ab_name

    @property
    def pseudo_date(self):
        """DATE as DFOS writes it: the night, or the run ID in DEEP mode."""
        return self.run_id or (self.night.isoformat() if self.night else "")


class AbInput(models.Model):
    """A raw frame of an AB, with its SOF tag (DO.CATG from classification)."""

    ab = models.ForeignKey(AssociationBlock, on_delete=models.CASCADE, related_name="inputs")
    frame = models.ForeignKey("processing.RawFrame", on_delete=models.PROTECT,
                              related_name="ab_inputs")
    tag = models.CharField(max_length=60)
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["ab", "position"]
        constraints = [models.UniqueConstraint(fields=["ab", "frame"], name="abinput_unique")]


class AbCalibration(models.Model):
    """A calibration associated to an AB under a tag, with how well it matches.

    `delta_t` is calibration time minus the AB's MJD-OBS, in days; `level` is the association
    quality level (EDPS meaning: 0 calibration plan, 1 sufficient for QC1 certification,
    2 probably still acceptable, 3 significant risk of bad quality).
    """

    ab = models.ForeignKey(AssociationBlock, on_delete=models.CASCADE,
                           related_name="calibrations")
    tag = models.CharField(max_length=60)
    kind = models.CharField(max_length=8, choices=CalibrationKind.choices)
    name = models.CharField(max_length=200, help_text="product name, ARCFILE or expected product")
    pro_catg = models.CharField(max_length=80, blank=True)
    product = models.ForeignKey("processing.Product", null=True, blank=True,
                                on_delete=models.PROTECT, related_name="used_by")
    frame = models.ForeignKey("processing.RawFrame", null=True, blank=True,
                              on_delete=models.PROTECT, related_name="used_as_calibration")
    source_ab = models.ForeignKey(AssociationBlock, null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="feeds")
    delta_t = models.FloatField()
    level = models.PositiveSmallIntegerField()
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["ab", "position"]
