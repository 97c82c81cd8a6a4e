"""Thin django-q2 entry points. Each calls one function of the processing package.

django-q2 delivers at least once, so every task here must be safe to run twice.
"""

import os
import socket

from django.utils import timezone


def heartbeat():
    """Scheduled every few minutes: its result rows show that a cluster is alive and where.

    Harmless when delivered twice.
    """
    return {"host": socket.gethostname(), "pid": os.getpid(), "at": timezone.now().isoformat()}


def process_ab(ab_id):
    """processAB: one attempt at an AB (a no-op when another delivery has claimed it)."""
    from processing.queue.attempt import process_ab as run

    return run(ab_id)


def process_qc(ab_id):
    """processQC of a succeeded AB (a no-op unless its QC job is queued)."""
    from processing.queue.qc_job import process_qc as run

    return run(ab_id)


def finish_batch(batch_id):
    """-M (certify and move) of a batch launched with it, once the batch ended; waits for its
    QC jobs first. Safe twice: the batch's -M is claimed before it runs."""
    from processing.launching import finish_batch as run

    return run(batch_id)


def convert_and_queue(instance_id, ab_ids, user_id=None, actor_name=None):
    """The AB monitor's bulk "ingest" of many science products, in the background: IDP
    conversion, then ingestion requests. Safe twice: see
    processing.finishing.convert_and_queue_in_background."""
    from django.contrib.auth import get_user_model

    from processing.finishing import convert_and_queue as run
    from processing.models import AssociationBlock, Instance

    from processing.archive.access import ArchiveAccessError

    user = None
    if user_id is not None:  # sent by a person: their role is checked again, never skipped
        user = get_user_model().objects.filter(pk=user_id).first()
        if user is None:
            raise ArchiveAccessError(f"user #{user_id}, who sent this conversion, no longer "
                                     "exists: nothing converted or queued")  # fmt: skip
    abs_ = list(AssociationBlock.objects.filter(instance_id=instance_id, pk__in=ab_ids))
    result = run(Instance.objects.get(pk=instance_id), abs_, user=user, actor_name=actor_name)
    return {"converted": result.idps_made, "failed": result.conversion_failures,
            "queued": result.requests("created")}


def housekeeping():
    """Daily: delete the rows of django-q2 tasks that failed longer ago than
    PHOENIX_FAILED_TASK_DAYS (successes are pruned by django-q2's save_limit already)."""
    from processing.housekeeping import delete_old_failed_tasks

    return {"failed_tasks_deleted": delete_old_failed_tasks()}


def reap():
    """Scheduled every minute: re-queue ABs whose worker died, clear stale work directories."""
    from processing.queue.reaper import reap as run

    result = run()
    return {"requeued": result.requeued, "failed": result.failed,
            "qc_requeued": result.qc_requeued, "work_dirs_removed": len(result.work_dirs_removed)}  # fmt: skip


def ingest(request_ids=None):
    """Execute open ingestion requests: those given (queued just now), else every open one
    (scheduled every few minutes). A request is claimed before it is executed, so a second
    delivery, or the schedule running meanwhile, ingests nothing twice."""
    from processing.archive import ingest_requests

    result = ingest_requests(request_ids, actor_name="q2:ingest")
    return {"counts": result.counts(), "retried": result.retried, "taken_back": result.taken_back}
