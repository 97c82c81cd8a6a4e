"""QC1 parameters of processed ABs, scored against the instance's thresholds."""

from django.db import models


class QcParameter(models.Model):
    """One QC1 parameter of an AB (from a product header or computed on its pixels).

    score: 0 within the thresholds, 1 outlier, null when the instance sets no thresholds.
    """

    ab = models.ForeignKey("processing.AssociationBlock", on_delete=models.CASCADE,
                           related_name="qc_parameters")
    product = models.ForeignKey("processing.Product", null=True, blank=True,
                                on_delete=models.CASCADE, related_name="qc_parameters")
    name = models.CharField(max_length=80, help_text="e.g. QC.DARK.MEDIAN, QC.FWHM")
    value = models.FloatField(null=True, blank=True)
    unit = models.CharField(max_length=20, blank=True)
    source = models.CharField(max_length=10, help_text="header or computed")
    description = models.CharField(max_length=200, blank=True)
    low = models.FloatField(null=True, blank=True, help_text="lower threshold")
    high = models.FloatField(null=True, blank=True, help_text="upper threshold")
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    night = models.DateField(null=True, blank=True, help_text="for trends over the history")
    mjd_obs = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["ab", "name"]
        indexes = [models.Index(fields=["name", "mjd_obs"], name="qc_trend")]
        verbose_name = "QC parameter"

    def __str__(self):
        return f"{self.ab} {self.name}={self.value}"
