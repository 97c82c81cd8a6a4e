"""Date comments: what a QC scientist noted about a date (or a DEEP run) of an instance."""

from django.conf import settings
from django.db import models


class DateComment(models.Model):
    """The comment shown on the month page and the AB monitor header (DFOS date comments,
    e.g. "CALIB ABs in unsupported modes - pls. check the raw frame(s)"). One per
    (instance, pseudo-date); each change is an AuditEvent, so the history is kept there."""

    instance = models.ForeignKey("processing.Instance", on_delete=models.CASCADE,
                                 related_name="date_comments")  # fmt: skip
    pseudo_date = models.CharField(max_length=20, help_text="the night (YYYY-MM-DD) or a run ID")
    text = models.TextField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                               on_delete=models.SET_NULL)  # fmt: skip
    author_name = models.CharField(max_length=150)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["instance", "pseudo_date"],
                                               name="date_comment_unique")]  # fmt: skip
        ordering = ["instance", "pseudo_date"]

    def __str__(self):
        return f"{self.instance} {self.pseudo_date}: {self.text[:60]}"
