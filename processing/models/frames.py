"""The data pool: one RawFrame per ARCFILE, the observing runs they belong to, header changes."""

from django.db import models

from processing.headers import decompress_header


class ObsRun(models.Model):
    """An ESO observing run `TP.C-NNNN(R)`; the unit a DEEP instance processes."""

    run_id = models.CharField(max_length=20, unique=True)
    programme_id = models.CharField(max_length=16, db_index=True)
    period = models.PositiveSmallIntegerField(db_index=True)
    programme_type = models.CharField(max_length=1, blank=True)
    category = models.CharField(max_length=1)
    first_night = models.DateField(null=True, blank=True)
    last_night = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run_id"]
        verbose_name = "observing run"

    def __str__(self):
        return self.run_id


class RawFrame(models.Model):
    """One raw frame of the data pool, identified by its ARCFILE.

    The columns hold the keywords that the monitor and the rules query most (night, DPR keys,
    run ID, template); `keywords` holds every header keyword under its OCA name (HIERARCH ESO
    dropped, blanks → dots: `DET.DIT`, `INS.OPTI4.NAME`); `header` keeps the primary header
    exactly as read (LZ4-compressed 80-column cards), so nothing is lost even for messy cards.
    """

    arcfile = models.CharField(max_length=80, unique=True)
    instrument = models.CharField(max_length=20)
    origfile = models.CharField(max_length=200, blank=True)
    path = models.CharField(
        max_length=1000, null=True, blank=True, help_text="the FITS file; null if header-only"
    )
    header_path = models.CharField(max_length=1000, blank=True)
    night = models.DateField()
    mjd_obs = models.FloatField(null=True, blank=True)
    date_obs = models.DateTimeField(null=True, blank=True)
    exptime = models.FloatField(null=True, blank=True)
    object = models.CharField(max_length=80, blank=True)
    dpr_catg = models.CharField(max_length=40, blank=True)
    dpr_type = models.CharField(max_length=60, blank=True)
    dpr_tech = models.CharField(max_length=60, blank=True)
    prog_id = models.CharField(max_length=40, blank=True, help_text="OBS.PROG.ID as written")
    run_id = models.CharField(max_length=20, blank=True, help_text="validated run ID, or blank")
    obs_id = models.BigIntegerField(null=True, blank=True)
    obs_name = models.CharField(max_length=80, blank=True)
    tpl_id = models.CharField(max_length=80, blank=True)
    tpl_start = models.CharField(max_length=30, blank=True)
    keywords = models.JSONField(default=dict)
    header = models.BinaryField()
    header_digest = models.CharField(max_length=40, help_text="SHA-1 of the header cards")
    header_revision = models.PositiveIntegerField(default=1)
    warnings = models.JSONField(default=list, blank=True)
    hidden = models.BooleanField(default=False)
    imported_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["mjd_obs", "arcfile"]
        indexes = [
            models.Index(fields=["instrument", "night"], name="rawframe_instr_night"),
            models.Index(fields=["night", "mjd_obs"], name="rawframe_night_mjd"),
            models.Index(fields=["instrument", "mjd_obs"], name="rawframe_instr_mjd"),
            models.Index(fields=["run_id", "night"], name="rawframe_run_night"),
            models.Index(
                fields=["instrument", "dpr_catg", "dpr_type", "dpr_tech"], name="rawframe_dpr"
            ),
            models.Index(fields=["instrument", "tpl_start"], name="rawframe_tpl_start"),
            models.Index(fields=["obs_id"], name="rawframe_obs_id"),
        ]

    def __str__(self):
        return self.arcfile

    @property
    def header_text(self):
        """The primary header as FITS cards, one per line."""
        return decompress_header(self.header)


class HeaderChange(models.Model):
    """A re-import found a different header for a known ARCFILE (e.g. after a DBCM correction)."""

    frame = models.ForeignKey(RawFrame, on_delete=models.CASCADE, related_name="header_changes")
    revision = models.PositiveIntegerField(help_text="the frame's header revision after the change")
    changed = models.JSONField(help_text="{keyword: [old, new]}; null stands for absent")
    previous_header = models.BinaryField()
    previous_digest = models.CharField(max_length=40)
    source = models.CharField(max_length=1000)
    detected_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["frame", "revision"]
        constraints = [
            models.UniqueConstraint(fields=["frame", "revision"], name="headerchange_unique_rev")
        ]

    def __str__(self):
        return f"{self.frame.arcfile} r{self.revision}: {', '.join(sorted(self.changed))}"
