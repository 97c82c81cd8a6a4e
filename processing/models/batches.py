"""A launch: createAB (and, later, processing and -M) for a scope of an instance."""

from django.conf import settings
from django.db import models

from processing.choices import AbCategory, BatchStatus, ScopeKind


class Batch(models.Model):
    """Who launched what for which scope, and what came of it.

    `summary` keeps the outcome an operator must be able to look up later: counts per
    RAW_TYPE, incomplete ABs with what they miss, unclassified frames and frames of modes
    no rule processes (listed, never dropped silently).
    """

    instance = models.ForeignKey("processing.Instance", on_delete=models.PROTECT,
                                 related_name="batches")
    scope_kind = models.CharField(max_length=8, choices=ScopeKind.choices)
    scope = models.CharField(max_length=20, help_text="2009-06-15, 2009-06 or a run ID")
    category = models.CharField(max_length=8, choices=AbCategory.choices, blank=True,
                                help_text="CALIB or SCIENCE only; blank for both")
    ab_name = models.CharField(max_length=120, blank=True, help_text="-a: one AB only")
    steps = models.CharField(max_length=8, default="C")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL)
    actor_name = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    summary = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=BatchStatus.choices,
                              default=BatchStatus.CREATED)
    complete_mode = models.BooleanField(
        default=False, help_text="COMPLETE_MODE: SCIENCE ABs start after the CALIB part ended"
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["instance", "scope_kind", "scope"])]
        verbose_name_plural = "batches"
        permissions = [("operate_batches", "Can launch, cancel and re-run processing")]

    def __str__(self):
        what = f" {self.category}" if self.category else ""
        return f"{self.instance} {self.scope}{what} ({self.steps})"
