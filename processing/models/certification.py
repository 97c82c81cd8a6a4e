"""Certification verdicts on ABs: every decision kept, the latest one in force."""

from django.conf import settings
from django.db import models

from processing.choices import CertificationDecision


class Certification(models.Model):
    """One verdict on an AB's products by a QC scientist (or by auto-certification).

    The AB carries the decision in force (`AssociationBlock.certification`); these rows are
    its history, so a re-run after a rejection still shows who rejected what and why.
    """

    ab = models.ForeignKey("processing.AssociationBlock", on_delete=models.CASCADE,
                           related_name="certifications")
    decision = models.CharField(max_length=10, choices=CertificationDecision.choices)
    comment = models.TextField(blank=True)
    automatic = models.BooleanField(default=False, help_text="auto-certified by QC score")
    attempt = models.PositiveIntegerField(
        null=True, blank=True, help_text="the AB attempt whose products were judged"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.SET_NULL)
    actor_name = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["ab", "-created_at", "-id"]
        permissions = [
            ("certify_products", "Can certify or reject the products of ABs"),
            ("move_products", "Can move certified products and queue their ingestion"),
            ("ingest_products", "Can ingest, hide and replace archived products"),
        ]

    def __str__(self):
        return f"{self.ab} {self.decision} by {self.actor_name}"
