"""Dependency order: which pending ABs may be queued, and what a failure does to dependants.

An AB is queued only when every AB it depends on has succeeded. In a COMPLETE_MODE batch
the SCIENCE ABs moreover wait until the batch's CALIB part has ended, as DFOS runs the CALIB
part of a month before its SCIENCE part. Every state change here is a conditional UPDATE, so
two workers finishing at the same moment cannot queue an AB twice; the task reaches the
broker with the transaction that queued the AB (see `send`).
"""

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django_q.tasks import async_task

from processing.choices import ACTIVE_STATES, AbCategory, AbStatus, BatchStatus
from processing.models import AssociationBlock, Batch

PROCESS_AB_TASK = "processing.tasks.process_ab"
#: -M of a batch launched with it, sent when the batch ends (processing/launching.py)
FINISH_BATCH_TASK = "processing.tasks.finish_batch"
#: django-q2 options of the processAB and processQC tasks: the result of a successful one is
#: not saved — the AB, its attempts and its QC state are the record, and each saved result
#: costs the cluster's monitor a pruning transaction over the saved results
#: (docs/BENCHMARKS.md). A task that raised is still saved as a failure.
TASK_OPTIONS = {"save": False}


def send(callback):
    """Run `callback` (which enqueues tasks) so that the tasks go with the current transaction.

    With the ORM broker on this database the task rows are written inside the transaction:
    they commit with the state change that queued the AB or QC job, and vanish with its
    rollback. Sent after the commit instead, a process killed between the two (a worker
    SIGKILLed right after committing a success) would leave the job queued without a task,
    and nothing sends it again. Other brokers (Redis) get the tasks once the transaction
    committed, with that gap.
    """
    if tasks_go_with_transaction():
        callback()
    else:
        transaction.on_commit(callback)


def tasks_go_with_transaction():
    """True with the ORM broker on this database: no task can be lost between commit and send."""
    return settings.Q_CLUSTER.get("orm") == DEFAULT_DB_ALIAS


def enqueue(ab_ids):
    """Hand the ABs to django-q2 with the current transaction (see `send`)."""
    ab_ids = list(ab_ids)
    if ab_ids:
        send(lambda: [async_task(PROCESS_AB_TASK, pk, **TASK_OPTIONS) for pk in ab_ids])


def release_ready(batch_ids=None, ab_ids=None):
    """Queue the pending ABs (of these batches, or these ABs) whose parents all succeeded.

    Returns the ids queued.
    """
    pending = AssociationBlock.objects.filter(status=AbStatus.PENDING)
    if batch_ids is not None:
        pending = pending.filter(batch_id__in=list(batch_ids))
    if ab_ids is not None:
        pending = pending.filter(pk__in=list(ab_ids))
    unfinished = AssociationBlock.objects.exclude(status=AbStatus.SUCCESS)
    ready = pending.exclude(depends_on__in=unfinished)
    candidates = list(ready.values_list("pk", "category", "batch_id"))
    if not candidates:
        return []
    waiting_for_calib = _batches_with_calib_part_running({b for _, c, b in candidates
                                                          if c == AbCategory.SCIENCE})  # fmt: skip
    ids = [pk for pk, category, batch in candidates
           if not (category == AbCategory.SCIENCE and batch in waiting_for_calib)]  # fmt: skip
    queued = []
    with transaction.atomic():
        # Locked, then taken in one UPDATE: a concurrent release (another worker's success)
        # waits for this commit and then finds them queued, so no AB is queued twice.
        # SQLite's IMMEDIATE transaction holds the database's write lock already.
        for part in chunks(ids):
            queued += AssociationBlock.objects.select_for_update().filter(
                pk__in=part, status=AbStatus.PENDING).order_by("pk").values_list("pk", flat=True)  # fmt: skip
        now = timezone.now()
        for part in chunks(queued):
            AssociationBlock.objects.filter(pk__in=part).update(status=AbStatus.QUEUED,
                                                                queued_at=now)  # fmt: skip
        enqueue(queued)
    return queued


#: ids per `pk__in` list: well below SQLite's limit of host parameters in one statement
CHUNK = 5000


def chunks(ids):
    ids = list(ids)
    return [ids[i:i + CHUNK] for i in range(0, len(ids), CHUNK)]


def _batches_with_calib_part_running(batch_ids):
    """COMPLETE_MODE batches among `batch_ids` whose CALIB ABs have not all ended."""
    complete = Batch.objects.filter(pk__in=[b for b in batch_ids if b], complete_mode=True)
    return set(
        complete.filter(abs__category=AbCategory.CALIB, abs__status__in=ACTIVE_STATES)
        .values_list("pk", flat=True)
        .distinct()
    )


def after_success(ab):
    """After `ab` succeeded: queue its dependants that became ready, and, if it ended the
    CALIB part of a COMPLETE_MODE batch, that batch's SCIENCE ABs; close its batch if it was
    the batch's last active AB. Returns the ids queued.

    Called after the success committed, never inside its transaction: two parents ending at
    once on PostgreSQL would each see the other still running in their own transaction, and
    neither would release the child (or the SCIENCE part, or close the batch). After the
    commit, whichever checks last sees both ended. A worker dying between the commit and
    this call leaves the child pending until the reaper releases it and closes the batch
    (reaper._release_stranded).

    One query answers both questions of the usual AB (a SCIENCE AB, or any AB with no
    dependant waiting): are dependants pending, is anything of the batch still active —
    it runs once per AB on the workers' hot path (docs/BENCHMARKS.md).
    """
    waiting, batch_active = (
        AssociationBlock.objects.filter(pk=ab.pk)
        .annotate(
            waiting=Exists(AssociationBlock.objects.filter(depends_on=OuterRef("pk"),
                                                           status=AbStatus.PENDING)),
            batch_active=Exists(AssociationBlock.objects.filter(
                batch_id=OuterRef("batch_id"), status__in=ACTIVE_STATES)),
        )
        .values_list("waiting", "batch_active")
        .get()
    )  # fmt: skip
    queued = []
    if waiting:
        queued += release_ready(ab_ids=ab.dependants.filter(status=AbStatus.PENDING)
                                .values_list("pk", flat=True))  # fmt: skip
    if ab.batch_id and ab.category == AbCategory.CALIB:
        queued += release_ready(batch_ids=[ab.batch_id])
    if ab.batch_id and not batch_active:  # pending dependants or SCIENCE part count as active
        _close_batch(ab.batch_id)
    return queued


def after_failure(ab, why):
    """After `ab` ended without success (failed, cancelled, given up): its dependants become
    upstream_failed; if it was a CALIB AB of a COMPLETE_MODE batch, the batch's SCIENCE ABs
    may now be released (the CALIB part ended); the batch may have ended."""
    fail_dependants(ab, why)
    if ab.category == AbCategory.CALIB and ab.batch_id:
        release_ready(batch_ids=[ab.batch_id])
    finish_batches([ab.batch_id])


def fail_dependants(ab, why):
    """Mark every pending or queued AB downstream of `ab` upstream_failed, naming the parent.

    Returns the ids marked. Queued ones are taken back too: their task then finds nothing to
    claim.
    """
    marked, frontier = [], [ab.pk]
    while frontier:
        children = list(
            AssociationBlock.objects.filter(
                depends_on__in=frontier, status__in=(AbStatus.PENDING, AbStatus.QUEUED)
            ).values_list("pk", flat=True).distinct()
        )  # fmt: skip
        frontier = []
        for pk in children:
            if AssociationBlock.objects.filter(
                pk=pk, status__in=(AbStatus.PENDING, AbStatus.QUEUED)
            ).update(status=AbStatus.UPSTREAM_FAILED, finished_at=timezone.now(),
                     error=f"{ab.ab_name} {why}"):  # fmt: skip
                marked.append(pk)
                frontier.append(pk)
    return marked


def finish_batches(batch_ids):
    """Close the running batches among `batch_ids` that have no active AB left; a batch
    launched with -M (steps hold "M") gets its certify-and-move task as it closes.

    The conditional UPDATE closes a batch once, so its -M task is sent once, with the
    transaction that closed it (see `send`).
    """
    for batch_id in {b for b in batch_ids if b}:
        active = AssociationBlock.objects.filter(batch_id=batch_id, status__in=ACTIVE_STATES)
        if not active.exists():
            _close_batch(batch_id)


def _close_batch(batch_id):
    """Close a running batch (once: a conditional UPDATE) and send its -M task if it has one."""
    closed = Batch.objects.filter(pk=batch_id, status=BatchStatus.RUNNING).update(
        status=BatchStatus.FINISHED, finished_at=timezone.now()
    )
    if closed and Batch.objects.filter(pk=batch_id, steps__contains="M").exists():
        send(lambda: async_task(FINISH_BATCH_TASK, batch_id))
