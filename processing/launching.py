"""A launch from the browser: what it would do (the dry-run preview), and its -M at the end.

The preview asks the same code the launch runs — createAB with dry_run for -C, the launch's
own "why not startable" for -P, `finishing.abs_to_finish` for -M — so that what the operator
reads before pressing "Launch" is what happens. `finish_batch` is the -M the command runs
itself after --wait: for a batch launched with "M" it runs once the batch ended and its QC
jobs are done (schedule.finish_batches sends it).
"""

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from processing import audit
from processing.abs.create import CreateAbsError, create_abs
from processing.abs.scope import Scope
from processing.choices import AbStatus, BatchStatus, Completeness, QcStatus, ScopeKind
from processing.finishing import FinishError, abs_to_finish, certify_and_move
from processing.models import AssociationBlock, Batch, RawFrame
from processing.queue.actions import QC_ACTIVE, why_not_startable

log = logging.getLogger(__name__)

#: how long a batch's -M waits before it looks again at QC jobs still running
QC_WAIT = timedelta(seconds=30)


class PreviewError(Exception):
    """The launch cannot be done as asked; `field` names the launch form field at fault
    (None: the launch as a whole)."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


@dataclass
class Preview:
    """What a launch with these parameters would do, before anything starts."""

    scope: Scope
    steps: str
    nights: list = field(default_factory=list)  # (night or run ID, raw frames)
    per_type: list = field(default_factory=list)  # (category, RAW_TYPE, ABs, to process)
    total: int = 0
    to_process: list = field(default_factory=list)  # AB names the launch would start
    rerun: list = field(default_factory=list)  # (AB name, last status): processed before, again now
    skipped: list = field(default_factory=list)  # (AB name, why)
    incomplete: list = field(default_factory=list)  # (AB name, what it misses)
    conflicts: list = field(default_factory=list)  # (Batch, why)
    notices: list = field(default_factory=list)  # createAB's messages (month reuse …)
    created: dict = field(default_factory=dict)  # createAB dry-run counts
    not_created: list = field(default_factory=list)  # createAB: [{ab, raw_type, why}]
    unassigned: int = 0  # frames createAB classified as nothing, or no rule processes
    to_finish: int = 0  # ABs -M would certify and move now (-M without -P)
    finish_last_only: bool = False  # DEEP -M --last

    @property
    def command(self):
        """The phoenix command line that does the same."""
        flag = {ScopeKind.DATE: "-d", ScopeKind.MONTH: "-m", ScopeKind.RUN: "-r"}[self.scope.kind]
        last = " --last" if self.finish_last_only else ""
        return f"phoenix {flag} {self.scope.value} " + " ".join(f"-{s}" for s in self.steps) + last


def check(instance, scope, *, create=False, process=True, finish=False, category=None,
          ab_name=None, finish_last_only=False):
    """The checks of the preview that need no dry run, made again when the launch is posted.

    Returns how many ABs -M alone would certify and move now (0 when P or no M)."""
    if not (create or process or finish):
        raise PreviewError("choose at least one step: C, P or M")
    if finish_last_only and not (finish and scope.kind == ScopeKind.RUN):
        raise PreviewError("“only the last processed AB” is the DEEP choice of M: it needs a "
                           "run ID as the scope and step M", "finish_last")  # fmt: skip
    if ab_name and not create and not _in_scope(instance, scope, category).filter(
        ab_name=ab_name
    ).exists():
        raise PreviewError(f"{scope} has no AB named {ab_name!r}: create it (step C) first, "
                           "or check the name on the AB monitor", "ab_name")  # fmt: skip
    if not finish or process:
        return 0
    try:
        to_finish = len(abs_to_finish(instance, scope, ab_name=ab_name,
                                      last_only=finish_last_only))  # fmt: skip
    except FinishError as exc:
        raise PreviewError(f"M: {exc}", "ab_name") from None
    if not to_finish:
        raise PreviewError(
            f"M: {scope} has no processed AB waiting to be certified and moved; add step P "
            "to process the scope first (M then runs when the batch ends)", "finish")  # fmt: skip
    return to_finish


def preview(instance, scope, *, create=False, process=True, finish=False, category=None,
            ab_name=None, finish_last_only=False):
    """The dry run of `launch` with the same arguments; raises PreviewError."""
    to_finish = check(instance, scope, create=create, process=process, finish=finish,
                      category=category, ab_name=ab_name, finish_last_only=finish_last_only)  # fmt: skip
    steps = ("C" if create else "") + ("P" if process else "") + ("M" if finish else "")
    result = Preview(scope, steps, nights=_nights(instance, scope), to_finish=to_finish,
                     finish_last_only=finish_last_only)  # fmt: skip
    existing = _in_scope(instance, scope, category)
    planned = None
    if create:
        try:
            created = create_abs(instance, scope, category=category, ab_name=ab_name,
                                 dry_run=True)  # fmt: skip
        except CreateAbsError as exc:
            raise PreviewError(str(exc), "ab_name" if str(exc).startswith("-a") else None) from None
        planned = {ab.name: ab for ab in created.plan.abs if ab.in_scope}
        summary = created.summary()
        result.created = {k: summary[k] for k in ("abs", "calib_abs", "science_abs", "virtual")}
        result.notices = summary["notices"]
        result.not_created = summary["not_created"]
        result.unassigned = len(summary["unclassified"]) + len(summary["unsupported"])
    _classify(result, _abs_as_launched(existing, planned, ab_name), process)
    result.conflicts = _conflicts(instance, scope, existing)
    return result


def _in_scope(instance, scope, category):
    abs_ = AssociationBlock.objects.filter(instance=instance).filter(scope.as_q())
    return abs_.filter(category=category) if category else abs_


def _nights(instance, scope):
    """(night, raw frames) of the scope; a run lists the nights its frames were taken."""
    frames = RawFrame.objects.filter(instrument=instance.instrument, hidden=False)
    found = dict(frames.filter(scope.as_q()).values_list("night").annotate(n=Count("pk")))
    nights = scope.nights() if not scope.is_run else sorted(found)
    return [(night, found.get(night, 0)) for night in nights]


def _abs_as_launched(existing, planned, ab_name):
    """The ABs a launch would consider, as objects `why_not_startable` reads: those createAB
    would make (with the state of the AB of that name already in the database, which it keeps
    when processed), else those in the database."""
    rows = existing.filter(ab_name=ab_name) if ab_name and planned is None else existing
    in_db = {row.ab_name: row for row in rows.only(
        "ab_name", "category", "raw_type", "status", "batch_id", "qc_status", "completeness",
        "missing")}  # fmt: skip
    if planned is None:
        return list(in_db.values())
    abs_ = []
    for name, plan in planned.items():
        row = in_db.get(name)
        if row is not None and row.status != AbStatus.CREATED:
            abs_.append(row)  # processed (or being processed): createAB keeps it as it is
        else:
            abs_.append(SimpleNamespace(ab_name=name, category=plan.category,
                                        raw_type=plan.raw_type, status=AbStatus.CREATED,
                                        batch_id=None, qc_status=QcStatus.NONE,
                                        completeness=plan.completeness, missing=plan.missing))  # fmt: skip
    return abs_


def _classify(result, abs_, process):
    per_type, starting = Counter(), Counter()
    for ab in sorted(abs_, key=lambda a: (a.category, a.raw_type, a.ab_name)):
        key = (ab.category, ab.raw_type)
        per_type[key] += 1
        if ab.completeness == Completeness.INCOMPLETE:
            result.incomplete.append((ab.ab_name, "; ".join(ab.missing or [])))
        if not process:
            continue
        why = why_not_startable(ab)
        if why:
            result.skipped.append((ab.ab_name, why))
            continue
        starting[key] += 1
        result.to_process.append(ab.ab_name)
        if ab.status != AbStatus.CREATED:
            result.rerun.append((ab.ab_name, ab.status))
    result.total = sum(per_type.values())
    result.per_type = [(c, t, n, starting[(c, t)]) for (c, t), n in sorted(per_type.items())]


def _conflicts(instance, scope, existing):
    """Batches that still work on the scope: running ones whose scope overlaps it, and those
    whose ABs of the scope are pending, queued or running (or their QC jobs)."""
    busy = existing.filter(Q(status__in=(AbStatus.PENDING, AbStatus.QUEUED, AbStatus.RUNNING))
                           | Q(qc_status__in=QC_ACTIVE)).exclude(batch=None)  # fmt: skip
    busy_ids = set(busy.values_list("batch_id", flat=True).distinct())
    overlapping = Q(scope_kind=scope.kind, scope=scope.value)
    if scope.kind == ScopeKind.DATE:
        overlapping |= Q(scope_kind=ScopeKind.MONTH, scope=scope.month())
    elif scope.kind == ScopeKind.MONTH:
        overlapping |= Q(scope_kind=ScopeKind.DATE, scope__startswith=scope.value + "-")
    batches = Batch.objects.filter(instance=instance).filter(
        Q(pk__in=busy_ids) | (overlapping & Q(status=BatchStatus.RUNNING))
    ).select_related("instance")  # fmt: skip
    conflicts = []
    for batch in batches:
        why = ("processes ABs of this scope" if batch.pk in busy_ids
               else f"is running on {batch.scope}, which overlaps {scope}")  # fmt: skip
        conflicts.append((batch, why))
    return conflicts


# --- -M at the end of a batch -------------------------------------------------------------


def scope_of(batch):
    """The Scope a Batch row was launched for."""
    return {ScopeKind.DATE: Scope.for_date, ScopeKind.MONTH: Scope.for_month,
            ScopeKind.RUN: Scope.for_run}[batch.scope_kind](batch.scope)  # fmt: skip


def finish_batch(batch_id):
    """-M of a batch launched with it: certify (automatically where QC allows) and move the
    products of its scope, convert the IDPs, queue their ingestion. Runs once the batch
    ended and its QC jobs are done (else it looks again in QC_WAIT); claimed in the batch's
    summary, so a second delivery does nothing. Returns what happened (the task's result)."""
    batch = Batch.objects.select_related("instance", "created_by").filter(pk=batch_id).first()
    if batch is None or "M" not in batch.steps:
        return f"batch #{batch_id}: no -M to run"
    if batch.status != BatchStatus.FINISHED:
        return f"batch #{batch_id} is {batch.status}: -M runs only after a batch finished"
    qc_running = AssociationBlock.objects.filter(batch=batch, qc_status__in=QC_ACTIVE).count()
    if qc_running:
        _look_again(batch_id)
        return f"batch #{batch_id}: -M waits for {qc_running} QC jobs"
    if not _claim(batch_id):
        return f"batch #{batch_id}: -M ran already"
    result_kind = audit.AuditEvent.Result.OK
    try:
        result = certify_and_move(batch.instance, scope_of(batch), ab_name=batch.ab_name or None,
                                  last_only=bool(batch.summary.get("finish_last_only")),
                                  user=batch.created_by, actor_name=batch.actor_name)  # fmt: skip
        outcome = {"status": "done", **result.as_dict()}
        moved = result.move.moved if result.move else []
        message = (f"-M of {batch.scope}: {len(result.auto_certified)} auto-certified, "
                   f"{len(moved)} ABs moved, {len(result.converted)} IDP conversions, "
                   f"{len(result.waiting)} waiting for review")  # fmt: skip
    except FinishError as exc:
        outcome, message = {"status": "failed", "error": str(exc)}, f"-M of {batch.scope}: {exc}"
        result_kind = audit.AuditEvent.Result.FAILED
    except Exception as exc:  # a bug or a broken file system: shown on the batch page
        log.exception("-M of batch #%s", batch_id)
        error = f"{type(exc).__name__}: {exc}"
        outcome, message = {"status": "failed", "error": error}, f"-M of {batch.scope}: {error}"
        result_kind = audit.AuditEvent.Result.FAILED
    _store(batch_id, outcome)
    audit.record("finish", user=batch.created_by, actor_name=batch.actor_name, obj=batch,
                 result=result_kind, message=message, detail=outcome)  # fmt: skip
    return message


def _claim(batch_id):
    with transaction.atomic():
        batch = Batch.objects.select_for_update().get(pk=batch_id)
        before = batch.summary.get("finish")
        if before and before.get("status") != "lost":
            return False
        attempt = (before or {}).get("attempt", 0) + 1
        batch.summary = {**batch.summary, "finish": {
            "status": "running", "started_at": timezone.now().isoformat(), "attempt": attempt}}
        batch.save(update_fields=["summary"])
    return True


#: attempts at a batch's -M before it is given up (a worker died each time)
FINISH_ATTEMPTS = 3


def take_back_lost_finishes(now=None):
    """-M tasks whose worker died: a claim still "running" longer than django-q2 lets a task
    run (Q_CLUSTER timeout) lost its worker. The -M is sent again (it resumes: moves are
    journalled, conversions and ingestion requests are not made twice), up to FINISH_ATTEMPTS
    times; then the batch page says it failed. Returns the batch ids taken back."""
    now = now or timezone.now()
    longest = timedelta(seconds=settings.Q_CLUSTER["timeout"] + 60)
    taken = []
    for batch in Batch.objects.filter(status=BatchStatus.FINISHED, summary__finish__status="running"):
        finish = batch.summary["finish"]
        if now - datetime.fromisoformat(finish["started_at"]) < longest:
            continue
        attempt = finish.get("attempt", 1)
        give_up = attempt >= FINISH_ATTEMPTS
        lost = f"attempt {attempt} lost its worker (running since {finish['started_at'][:19]} UT)"
        outcome = ({"status": "failed", "attempt": attempt, "error": f"{lost}; gave up after "
                    f"{attempt} attempts: launch an M-only batch of {batch.scope} to try again"}
                   if give_up else {"status": "lost", "attempt": attempt, "error": lost})  # fmt: skip
        with transaction.atomic():
            changed = Batch.objects.select_for_update().filter(
                pk=batch.pk, summary__finish__started_at=finish["started_at"]).first()  # fmt: skip
            if changed is None:
                continue  # finished or taken back meanwhile
            changed.summary = {**changed.summary, "finish": outcome}
            changed.save(update_fields=["summary"])
            if not give_up:
                _send_again(batch.pk)
        taken.append(batch.pk)
    return taken


def _send_again(batch_id):
    from django_q.tasks import async_task

    from processing.queue.schedule import FINISH_BATCH_TASK, send

    send(lambda: async_task(FINISH_BATCH_TASK, batch_id))


def _store(batch_id, outcome):
    with transaction.atomic():
        batch = Batch.objects.select_for_update().get(pk=batch_id)
        batch.summary = {**batch.summary, "finish": outcome}
        batch.save(update_fields=["summary"])


def _look_again(batch_id):
    """Send the batch's -M again in QC_WAIT (a one-off django-q2 schedule, one per batch)."""
    from django_q.models import Schedule

    from processing.queue.schedule import FINISH_BATCH_TASK

    Schedule.objects.update_or_create(
        name=f"phoenix-finish-batch-{batch_id}",
        defaults={"func": FINISH_BATCH_TASK, "args": repr((batch_id,)), "repeats": -1,
                  "schedule_type": Schedule.ONCE, "next_run": timezone.now() + QC_WAIT},
    )  # fmt: skip
