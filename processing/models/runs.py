"""Attempts at running an AB's recipe: every try an operator may need to look at later."""

from django.db import models

from processing.choices import AttemptStatus


class AbAttempt(models.Model):
    """One attempt: which worker on which host ran the recipe, how it ended, where its files are.

    An AB's `attempts` counter numbers them. The token is the lease the attempt held: the
    attempt may write its outcome only while the AB still carries this token.
    """

    ab = models.ForeignKey("processing.AssociationBlock", on_delete=models.CASCADE,
                           related_name="attempt_rows")
    number = models.PositiveIntegerField()
    token = models.CharField(max_length=32)
    status = models.CharField(max_length=10, choices=AttemptStatus.choices,
                              default=AttemptStatus.RUNNING)
    engine = models.CharField(max_length=8)
    host = models.CharField(max_length=120)
    worker = models.CharField(max_length=120)
    pid = models.IntegerField(null=True, blank=True, help_text="recipe process (group) id")
    started_at = models.DateTimeField()
    heartbeat_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    exit_status = models.IntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    work_dir = models.CharField(max_length=1000)
    work_dir_removed = models.BooleanField(default=False)
    log_path = models.CharField(max_length=1000)

    class Meta:
        ordering = ["ab", "number"]
        constraints = [
            models.UniqueConstraint(fields=["ab", "number"], name="attempt_unique_number"),
        ]
        indexes = [models.Index(fields=["status", "finished_at"], name="attempt_status")]

    def __str__(self):
        return f"{self.ab} #{self.number} ({self.status})"
