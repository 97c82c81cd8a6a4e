"""How far a batch got: counts per AB state, and waiting for batches to end (phoenix --wait)."""

import time

from django.db.models import Count, Q

from processing.choices import ACTIVE_STATES, AbStatus, QcStatus
from processing.models import AssociationBlock
from processing.queue.reaper import reap
from processing.queue.schedule import finish_batches

#: how often `wait` runs the reaper itself, so a dead worker is noticed without the scheduler
REAP_EVERY = 5.0


def counts(batch_ids):
    """{state: number of ABs} over the batches, every AbStatus present (0 when none)."""
    rows = (AssociationBlock.objects.filter(batch_id__in=list(batch_ids))
            .values_list("status").annotate(n=Count("pk")))  # fmt: skip
    found = dict(rows)
    return {status: found.get(status, 0) for status in AbStatus.values}


def finished(batch_ids):
    """True when no AB of the batches is pending, queued or running, nor its QC job."""
    abs_ = AssociationBlock.objects.filter(batch_id__in=list(batch_ids))
    return not abs_.filter(
        Q(status__in=ACTIVE_STATES) | Q(qc_status__in=(QcStatus.QUEUED, QcStatus.RUNNING))
    ).exists()


def wait(batch_ids, on_progress=None, poll=1.0, timeout=None):
    """Block until the batches end (or `timeout` seconds); return the final counts.

    `on_progress(counts)` is called after each poll. Runs the reaper every REAP_EVERY s.
    """
    batch_ids = list(batch_ids)
    start = last_reap = time.monotonic()
    while True:
        now = time.monotonic()
        if now - last_reap >= REAP_EVERY:
            reap(clean_work=False)
            last_reap = now
        current = counts(batch_ids)
        if on_progress:
            on_progress(current)
        if finished(batch_ids):
            finish_batches(batch_ids)
            return current
        if timeout is not None and now - start > timeout:
            return current
        time.sleep(poll)
