"""The reaper: nothing stays "running" forever, no work directory stays for ever.

Scheduled every minute (processing/schedules.py) and run by `phoenix --wait` while it
watches a batch. An AB whose lease expired lost its worker (killed, host down): the reaper
takes the AB back with a conditional UPDATE on the expired token — so two reapers cannot
both do it — and queues it again, or fails it once PHOENIX_MAX_ATTEMPTS attempts were made.
QC jobs whose worker died are queued again the same way. With a broker that receives tasks
after the commit (Redis), a process killed in between leaves an AB or QC job queued without a
task: when the broker's queue is empty while such jobs have waited longer than a lease, the
reaper sends their tasks again (a duplicate delivery is harmless: every task claims its work).
"""

import contextlib
import shutil
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Subquery
from django.utils import timezone
from django_q.brokers import get_broker

from processing import layout
from processing.choices import AbStatus, AttemptStatus, BatchStatus, QcStatus
from processing.launching import take_back_lost_finishes
from processing.models import AbAttempt, AssociationBlock, Batch
from processing.queue import schedule
from processing.queue.qc_job import enqueue_qc

#: a QC job running longer than this is presumed dead (QC of one AB takes seconds)
QC_STALE = timedelta(minutes=15)


@dataclass
class Reaped:
    requeued: list = field(default_factory=list)  # AB names queued again
    failed: list = field(default_factory=list)  # AB names that ran out of attempts
    qc_requeued: list = field(default_factory=list)
    resent: list = field(default_factory=list)  # AB names whose lost task was sent again
    released: list = field(default_factory=list)  # pending AB names queued after their parents
    finishes_taken_back: list = field(default_factory=list)  # batch ids whose -M worker died
    work_dirs_removed: list = field(default_factory=list)

    def __bool__(self):
        return bool(self.requeued or self.failed or self.qc_requeued or self.resent
                    or self.released or self.finishes_taken_back or self.work_dirs_removed)


def reap(now=None, clean_work=True):
    now = now or timezone.now()
    result = Reaped()
    expired = AssociationBlock.objects.filter(status=AbStatus.RUNNING, lease_expires_at__lt=now)
    for ab in expired.only("pk", "ab_name", "attempts", "lease_token", "host", "worker",
                           "batch_id", "category"):  # fmt: skip
        _take_back(ab, now, result)
    _requeue_stale_qc(now, result)
    _resend_lost_tasks(now, result)
    _release_stranded(result)
    result.finishes_taken_back = take_back_lost_finishes(now)
    if clean_work:
        _finish_cleanups(now, result)
        _clean_work_dirs(now, result)
    return result


def _release_stranded(result):
    """Pending ABs whose parents all ended, in running batches: a worker that died between
    its AB's commit and the release after it leaves them waiting (schedule.after_success);
    the same for batches whose last AB ended that way."""
    running = list(Batch.objects.filter(status=BatchStatus.RUNNING).values_list("pk", flat=True))
    if running:
        queued = schedule.release_ready(batch_ids=running)
        result.released += list(AssociationBlock.objects.filter(pk__in=queued)
                                .values_list("ab_name", flat=True))  # fmt: skip
        schedule.finish_batches(running)


def _resend_lost_tasks(now, result):
    """Jobs queued without a task in the broker (see the module docstring)."""
    if schedule.tasks_go_with_transaction():
        return
    waited = now - timedelta(seconds=settings.PHOENIX_LEASE_SECONDS)
    abs_ = list(AssociationBlock.objects.filter(status=AbStatus.QUEUED, queued_at__lt=waited)
                .values_list("pk", "ab_name"))  # fmt: skip
    qc = list(AssociationBlock.objects.filter(qc_status=QcStatus.QUEUED, finished_at__lt=waited)
              .values_list("pk", "ab_name"))  # fmt: skip
    if not (abs_ or qc) or get_broker().queue_size():
        return  # nothing waits, or the broker still holds tasks the workers will get to
    with transaction.atomic():
        # stamped, so that the next reap waits another lease before sending again
        AssociationBlock.objects.filter(pk__in=[pk for pk, _ in abs_]).update(queued_at=now)
        schedule.enqueue([pk for pk, _ in abs_])
        for pk, _ in qc:
            schedule.send(lambda pk=pk: enqueue_qc(pk))
    result.resent += [name for _, name in abs_ + qc]


def attempts_in_batch(ab):
    """Attempts at `ab` since it joined its batch: PHOENIX_MAX_ATTEMPTS caps the retries of
    one launch, not the attempts of the AB's life (an AB re-run twice starts afresh)."""
    attempts = AbAttempt.objects.filter(ab_id=ab.pk)
    if ab.batch_id is not None:
        joined = Batch.objects.filter(pk=ab.batch_id).values("created_at")
        attempts = attempts.filter(started_at__gte=Subquery(joined))
    return attempts.count()


def _take_back(ab, now, result):
    lost = (f"attempt {ab.attempts} lost: its worker {ab.worker} on {ab.host} stopped "
            f"renewing its lease")  # fmt: skip
    tries = attempts_in_batch(ab)
    give_up = tries >= settings.PHOENIX_MAX_ATTEMPTS
    with transaction.atomic():
        changes = dict(lease_token="", lease_expires_at=None)
        if give_up:
            changes.update(status=AbStatus.FAILED, finished_at=now,
                           error=f"{lost}; gave up after {tries} attempts in batch "
                                 f"#{ab.batch_id} "
                                 f"(PHOENIX_MAX_ATTEMPTS={settings.PHOENIX_MAX_ATTEMPTS})")  # fmt: skip
        else:
            changes.update(status=AbStatus.QUEUED, queued_at=now, error=f"{lost}; queued again")
        taken = AssociationBlock.objects.filter(
            pk=ab.pk, status=AbStatus.RUNNING, lease_token=ab.lease_token
        ).update(**changes)
        if not taken:
            return
        AbAttempt.objects.filter(ab_id=ab.pk, token=ab.lease_token,
                                 status=AttemptStatus.RUNNING).update(
            status=AttemptStatus.LOST, finished_at=now, error=lost)  # fmt: skip
        if not give_up:
            result.requeued.append(ab.ab_name)
            schedule.enqueue([ab.pk])
    if give_up:  # after the commit: see schedule.after_success
        result.failed.append(ab.ab_name)
        schedule.after_failure(ab, "failed (its worker was lost too often)")


def _requeue_stale_qc(now, result):
    stale = AssociationBlock.objects.filter(
        qc_status=QcStatus.RUNNING, status=AbStatus.SUCCESS, finished_at__lt=now - QC_STALE
    )
    for pk, name in stale.values_list("pk", "ab_name"):
        with transaction.atomic():
            if AssociationBlock.objects.filter(pk=pk, qc_status=QcStatus.RUNNING).update(
                qc_status=QcStatus.QUEUED
            ):
                result.qc_requeued.append(name)
                schedule.send(lambda pk=pk: enqueue_qc(pk))


def _finish_cleanups(now, result):
    """Finish the clean-up after a success whose worker died between its commit and the end
    of the clean-up (work_dir_removed still false a lease time later): the work directory,
    and the product directories of the AB's other attempts that no product row uses — an
    earlier attempt killed after moving its products left one."""
    from processing.queue.attempt import _remove_other_attempts_products

    unfinished = AbAttempt.objects.filter(
        status=AttemptStatus.SUCCESS, work_dir_removed=False,
        finished_at__lt=now - timedelta(seconds=settings.PHOENIX_LEASE_SECONDS),
    ).select_related("ab")  # fmt: skip
    for attempt in unfinished:
        ab = attempt.ab
        shutil.rmtree(attempt.work_dir, ignore_errors=True)
        result.work_dirs_removed.append(attempt.work_dir)
        if ab.status == AbStatus.SUCCESS and ab.attempts == attempt.number:  # not re-run since
            _remove_other_attempts_products(ab, layout.product_dir(
                ab.category, ab.pseudo_date, ab.ab_name, attempt.number))  # fmt: skip
        AbAttempt.objects.filter(pk=attempt.pk).update(work_dir_removed=True)


def _clean_work_dirs(now, result):
    """Remove work/<ab>/<attempt> directories nobody needs: those of failed attempts older
    than PHOENIX_WORK_KEEP_DAYS, and leftovers no attempt owns (successful attempts: their
    worker, else _finish_cleanups)."""
    root = layout.data_root() / "work"
    if not root.is_dir():
        return
    keep_after = now - timedelta(days=settings.PHOENIX_WORK_KEEP_DAYS)
    attempts = {
        a.work_dir: a
        for a in AbAttempt.objects.filter(work_dir_removed=False).only(
            "pk", "work_dir", "status", "finished_at"
        )
    }
    for ab_dir in root.iterdir():
        try:
            _clean_ab_dir(ab_dir, attempts, keep_after, result)
        except FileNotFoundError:
            continue  # removed meanwhile: another reaper, or a worker's own clean-up


def _clean_ab_dir(ab_dir, attempts, keep_after, result):
    if not ab_dir.is_dir():
        return
    for attempt_dir in ab_dir.iterdir():
        attempt = attempts.get(str(attempt_dir))
        if attempt is None:
            stale = attempt_dir.stat().st_mtime < time.time() - 86400
        elif attempt.status in (AttemptStatus.RUNNING, AttemptStatus.SUCCESS):
            stale = False
        else:
            stale = attempt.finished_at is not None and attempt.finished_at < keep_after
        if stale:
            shutil.rmtree(attempt_dir, ignore_errors=True)
            result.work_dirs_removed.append(str(attempt_dir))
            if attempt is not None:
                AbAttempt.objects.filter(pk=attempt.pk).update(work_dir_removed=True)
    if not any(ab_dir.iterdir()):
        with contextlib.suppress(OSError):  # gone meanwhile, or a new attempt started in it
            ab_dir.rmdir()
