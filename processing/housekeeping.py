"""Housekeeping of the queue's own records (InvenTree's pattern).

django-q2 prunes the results of successful tasks at its save_limit, but keeps the row of every
failed task — its arguments and traceback — for ever. The queues page lists them, newest
first, so an operator sees a new failure; after PHOENIX_FAILED_TASK_DAYS they are history
the AB's attempts and the audit trail keep anyway, and they go.
"""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_q.models import Failure


def delete_old_failed_tasks(now=None):
    """Delete failed-task rows that stopped before PHOENIX_FAILED_TASK_DAYS ago; how many."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.PHOENIX_FAILED_TASK_DAYS)
    deleted, _ = Failure.objects.filter(stopped__lt=cutoff).delete()
    return deleted
