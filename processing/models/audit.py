"""Who did what to which object, when, with what result."""

from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    """One action taken by a person (in the browser or on the command line).

    `actor` is the Django user when there is one; `actor_name` always says who it was, e.g.
    `alice` or `cli:qc@muc08`, so events survive the deletion of accounts.
    """

    class Result(models.TextChoices):
        OK = "ok", "succeeded"
        PARTIAL = "partial", "partly succeeded"
        FAILED = "failed", "failed"
        REFUSED = "refused", "refused"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    actor_name = models.CharField(max_length=150)
    action = models.CharField(max_length=60, db_index=True)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=100, blank=True)
    object_repr = models.CharField(max_length=300, blank=True)
    result = models.CharField(max_length=10, choices=Result.choices, default=Result.OK)
    message = models.TextField(blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id", "created_at"])]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action} {self.object_repr}"
