"""Phoenix instances (the equivalent of one DFOS account's config.phoenix) and calSelector periods."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from processing.choices import AbSource, CalSelectorMode, Engine, InstanceMode, PeriodSource


class Instance(models.Model):
    """One phoenix instance, e.g. NACO or NACO_DEEP, loaded from processing/instances/<NAME>/.

    The columns hold what queries filter on; `config` keeps the whole validated file so that
    nothing an operator wrote is lost, and the hashes tell whether the files changed since the
    last load.
    """

    name = models.CharField(max_length=40, unique=True)
    description = models.TextField(blank=True)
    instrument = models.CharField(
        max_length=20, help_text="ARCFILE prefix of the instrument's raw frames, e.g. NACO"
    )
    instrument_code = models.CharField(
        max_length=2, help_text="2-letter code in DFOS product names, e.g. NA"
    )
    instrume_values = models.JSONField(
        default=list, help_text="INSTRUME header values of this instrument"
    )
    mode = models.CharField(max_length=8, choices=InstanceMode.choices)
    complete_mode = models.BooleanField(default=False)
    update_yn = models.BooleanField(default=False)
    enable_updates = models.BooleanField(default=False)
    ab_source = models.CharField(max_length=8, choices=AbSource.choices)
    ab_source_date = models.DateField(
        null=True, blank=True, help_text="ABs of nights from this date on are created, not imported"
    )
    engine = models.CharField(max_length=8, choices=Engine.choices)
    calselector_mode = models.CharField(max_length=12, choices=CalSelectorMode.choices)
    product_marker = models.CharField(max_length=200, blank=True)
    night_offset_hours = models.FloatField(
        default=0.0, help_text="DFO_OFFSET: hours added to the 12:00 UT date boundary"
    )
    monitor = models.JSONField(default=dict, blank=True)
    config = models.JSONField(default=dict, blank=True)
    config_path = models.CharField(max_length=500)
    config_text = models.TextField()
    config_hash = models.CharField(max_length=64)
    rules_path = models.CharField(max_length=500, blank=True)
    rules_text = models.TextField(blank=True)
    rules_hash = models.CharField(max_length=64, blank=True)
    loaded_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def calselector_mode_on(self, night):
        """The calSelector mode in force for a night: a period row overrides the default."""
        return self.calselector_modes()(night)

    def calselector_modes(self):
        """night → calSelector mode, with the periods read once (createAB asks per night).

        Where periods overlap, the one that starts latest wins.
        """
        periods = list(self.calselector_periods.order_by("-start").values_list("start", "end", "mode"))
        default = self.calselector_mode

        def mode_on(night):
            for start, end, mode in periods:
                if night is not None and start <= night <= end:
                    return mode
            return default

        return mode_on


class CalSelectorPeriod(models.Model):
    """A date range in which calSelector association is forced to raw2raw or raw2master.

    Used when master calibrations are being replaced (phoenix operational hints §6: force
    raw2raw while the old masters are hidden and the new ones not yet ingested).
    """

    instance = models.ForeignKey(
        Instance, on_delete=models.CASCADE, related_name="calselector_periods"
    )
    start = models.DateField()
    end = models.DateField(help_text="last night included")
    mode = models.CharField(max_length=12, choices=CalSelectorMode.choices)
    reason = models.TextField(blank=True)
    source = models.CharField(
        max_length=10, choices=PeriodSource.choices, default=PeriodSource.OPERATOR
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["instance", "start"]
        indexes = [models.Index(fields=["instance", "start", "end"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(start__lte=models.F("end")), name="calselector_period_start_le_end"
            )
        ]

    def __str__(self):
        return f"{self.instance} {self.start}…{self.end}: {self.mode}"

    def clean(self):
        if self.start and self.end and self.start > self.end:
            raise ValidationError({"end": "The end night lies before the start night."})
        if self.instance_id and self.start and self.end:
            overlapping = CalSelectorPeriod.objects.filter(
                instance_id=self.instance_id, start__lte=self.end, end__gte=self.start
            ).exclude(pk=self.pk)
            if overlapping.exists():
                other = overlapping.first()
                raise ValidationError(
                    f"Overlaps the period {other.start}…{other.end} ({other.mode}); "
                    "edit or delete that one first."
                )
