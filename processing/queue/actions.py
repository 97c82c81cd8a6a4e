"""The operator's actions on processing — launch (-C/-P), cancel, re-run with dependants.

One function per action, used by the phoenix command, the web pages and the tests alike;
each writes an AuditEvent. An AB joins a launch only from a final state other than success
(created, failed, cancelled, upstream_failed): launching the same scope twice, or while its
ABs run, does nothing twice.
"""

from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from processing import audit
from processing.abs.create import create_abs
from processing.choices import (
    ACTIVE_STATES,
    AbStatus,
    BatchStatus,
    Completeness,
    ProductState,
    ScopeKind,
)  # fmt: skip
from processing.models import AssociationBlock, Batch, Product
from processing.queue import schedule

DependsOn = AssociationBlock.depends_on.through

#: QC job states in which an AB's batch has not ended
QC_ACTIVE = ("queued", "running")

#: an AB in one of these states may be (re)started by a launch
STARTABLE = (AbStatus.CREATED, AbStatus.FAILED, AbStatus.CANCELLED, AbStatus.UPSTREAM_FAILED)


#: the permission of the operator role (processing/roles.py): launch, cancel, re-run
OPERATE = "processing.operate_batches"


class ActionError(Exception):
    """The action cannot be done; the message says why and what to do instead."""


@dataclass
class LaunchResult:
    batch: Batch | None
    created: object = None  # CreateResult of -C
    pending: list = field(default_factory=list)  # AB names taken into the batch
    queued: list = field(default_factory=list)  # of which queued at once (no parent pending)
    skipped: list = field(default_factory=list)  # (AB name, why)
    other_batches: set = field(default_factory=set)  # batches already running ABs of the scope

    def summary(self):
        return {"pending": len(self.pending), "queued_at_launch": len(self.queued),
                "skipped": [{"ab": name, "why": why} for name, why in self.skipped]}  # fmt: skip


def _actor(user, actor_name, what=None):
    """Who acts; with `what`, refuse a user without the operator role (None: the command
    line, whose access is that of the machine)."""
    if what and user is not None and not user.has_perm(OPERATE):
        raise ActionError(f"{user.get_username()} may not {what} (operator role needed)")
    return audit.actor_name_of(user, actor_name)


def launch(instance, scope, *, create=False, process=True, finish=False, category=None,
           ab_name=None, finish_last_only=False, user=None, actor_name=None):
    """phoenix -C, -P and/or -M for a scope: one Batch row for the launch.

    -C creates the ABs (processing/abs/create.py); -P takes the scope's startable ABs
    (with -a only that AB) and the unfinished ABs they depend on into the batch, queues
    those whose parents succeeded, and leaves the others pending until they did. With
    `finish` (-M, the web's launch: the command runs -M itself after --wait) the batch's
    steps hold "M": when the batch ends, schedule.finish_batches queues the certify-and-move
    of its scope (processing/launching.py); `finish_last_only` (DEEP: a run) makes that -M
    take only the run's last processed AB, the command's `-M --last`.
    """
    if not (create or process or finish):
        raise ActionError("nothing to do: give -C (create ABs), -P (process them) and/or -M")
    actor = _actor(user, actor_name, "launch batches")
    if finish and user is not None and not user.has_perm("processing.move_products"):
        raise ActionError(f"{user.get_username()} may not certify and move products "
                          "(-M; certifier role needed)")  # fmt: skip
    if finish_last_only and not (finish and scope.kind == ScopeKind.RUN):
        raise ActionError("only the last processed AB (-M --last) is a choice of -M on a run "
                          "(DEEP mode)")  # fmt: skip
    steps = ("C" if create else "") + ("P" if process else "") + ("M" if finish else "")
    batch = Batch.objects.create(
        instance=instance, scope_kind=scope.kind, scope=scope.value, category=category or "",
        ab_name=ab_name or "", steps=steps, created_by=user if user and user.pk else None,
        actor_name=actor, complete_mode=instance.complete_mode,
    )  # fmt: skip
    result = LaunchResult(batch)
    if create:
        result.created = create_abs(instance, scope, category=category, ab_name=ab_name,
                                    user=user, actor_name=actor, batch=batch)  # fmt: skip
    if process:
        abs_ = AssociationBlock.objects.filter(instance=instance).filter(scope.as_q())
        if category:
            abs_ = abs_.filter(category=category)
        if ab_name:
            abs_ = abs_.filter(ab_name=ab_name)
            if not abs_.exists():
                raise ActionError(f"-a: {scope} has no AB named {ab_name!r} (create it with -C)")
        _take_into_batch(batch, list(abs_), result)
    with transaction.atomic():
        if process:
            result.queued = schedule.release_ready(batch_ids=[batch.pk])
        # the summary is written before the batch can end: the -M task of a batch with "M"
        # in its steps adds its outcome to it (processing/launching.py)
        summary = dict(batch.summary if create else {}, processing=result.summary(),
                       **({"finish_last_only": True} if finish_last_only else {}))
        Batch.objects.filter(pk=batch.pk).update(summary=summary)
        if process or finish:  # with -M alone the batch ends at once and its -M is queued
            Batch.objects.filter(pk=batch.pk).update(status=BatchStatus.RUNNING)
            schedule.finish_batches([batch.pk])
    batch.refresh_from_db()
    audit.record(
        "launch", user=user, actor_name=actor, obj=batch,
        message=(f"phoenix -{steps} {scope}: {len(result.pending)} ABs to process "
                 f"({len(result.queued)} queued at once), {len(result.skipped)} skipped"),
        detail={"steps": steps, "scope": scope.value, **result.summary()},
    )  # fmt: skip
    return result


def _take_into_batch(batch, abs_, result):
    """Mark the ABs and the unfinished ABs they depend on pending in `batch`.

    Set-based: one query per level of the dependency graph to find the parents, one to lock
    the startable ABs and one UPDATE to take them (a launch of a month takes its thousands
    of ABs in a few statements, not a few per AB).
    """
    asked = {ab.pk for ab in abs_}
    found = {ab.pk: ab for ab in abs_}
    parents = {}  # AB id → ids of the ABs it depends on
    frontier = list(found)
    while frontier:
        edges = [edge for part in schedule.chunks(frontier) for edge in
                 DependsOn.objects.filter(from_associationblock_id__in=part)
                 .values_list("from_associationblock_id", "to_associationblock_id")]  # fmt: skip
        for child, parent in edges:
            parents.setdefault(child, []).append(parent)
        new = {parent for _, parent in edges} - set(found)
        for part in schedule.chunks(new):
            found.update((ab.pk, ab) for ab in AssociationBlock.objects.filter(pk__in=part))
        # only unfinished parents join the launch; their own parents are looked at in turn
        frontier = [pk for pk in new if found[pk].status != AbStatus.SUCCESS]
    chosen = {}
    stack = list(abs_)
    while stack:
        ab = stack.pop()
        if ab.pk in chosen:
            continue
        why = why_not_startable(ab)
        if ab.batch_id and (ab.status in ACTIVE_STATES or ab.qc_status in QC_ACTIVE):
            result.other_batches.add(ab.batch_id)
        if why:
            if ab.pk in asked:
                result.skipped.append((ab.ab_name, why))
            chosen[ab.pk] = None  # seen, not taken
            continue
        chosen[ab.pk] = ab
        stack.extend(found[pk] for pk in parents.get(ab.pk, ())
                     if found[pk].status != AbStatus.SUCCESS)  # fmt: skip
    chosen = [ab for ab in chosen.values() if ab is not None]
    blocked = _blocked(chosen, parents, found)
    for ab in chosen:
        if ab.pk in blocked:
            result.skipped.append((ab.ab_name, blocked[ab.pk]))
    ids = [ab.pk for ab in chosen if ab.pk not in blocked]
    with transaction.atomic():
        # locked, so that a concurrent launch of an overlapping scope waits and then finds
        # them pending (SQLite: the IMMEDIATE transaction already holds the write lock)
        taken = []
        for part in schedule.chunks(ids):
            taken += AssociationBlock.objects.select_for_update().filter(
                pk__in=part, status__in=STARTABLE).order_by("pk").values_list("pk", flat=True)  # fmt: skip
        for part in schedule.chunks(taken):
            AssociationBlock.objects.filter(pk__in=part).update(
                status=AbStatus.PENDING, batch=batch, cancel_requested=False, error="",
                queued_at=None, started_at=None, finished_at=None,
            )  # fmt: skip
    taken = set(taken)
    result.pending += [ab.ab_name for ab in chosen if ab.pk in taken]
    return ids


def why_not_startable(ab):
    """Why a launch would not start `ab` ("" if it would); the launch preview asks it too."""
    if ab.status == AbStatus.SUCCESS:
        return "processed already (success); re-run it to process it again"
    if ab.status in ACTIVE_STATES:
        return f"{ab.status} in batch #{ab.batch_id}"
    if ab.completeness == Completeness.INCOMPLETE:
        return "INCOMPLETE: " + "; ".join(ab.missing or ["a required calibration is missing"])
    return ""


def _blocked(chosen, parents, found):
    """ABs among `chosen` that depend on an AB that can neither run nor has succeeded
    (`parents` and `found` as _take_into_batch gathered them)."""
    ids = {ab.pk for ab in chosen}
    blocked = {}
    changed = True
    while changed:
        changed = False
        for ab in chosen:
            if ab.pk in blocked:
                continue
            for parent in (found[pk] for pk in parents.get(ab.pk, ())):
                ok = parent.status == AbStatus.SUCCESS or parent.status in ACTIVE_STATES or (
                    parent.pk in ids and parent.pk not in blocked)
                if not ok:
                    blocked[ab.pk] = (f"depends on {parent.ab_name}, which cannot run "
                                      f"({why_not_startable(parent) or parent.status})")  # fmt: skip
                    changed = True
                    break
    return blocked


def cancel(abs_, *, user=None, actor_name=None, batch=None):
    """Cancel ABs: pending and queued ones at once, running ones by killing their recipe
    (the worker notices within seconds). Their pending dependants become upstream_failed.

    Returns (cancelled now, cancel requested for running ones).
    """
    actor = _actor(user, actor_name, "cancel processing")
    now, cancelled, requested, ended = timezone.now(), [], [], []
    with transaction.atomic():
        for ab in abs_:
            if AssociationBlock.objects.filter(
                pk=ab.pk, status__in=(AbStatus.PENDING, AbStatus.QUEUED)
            ).update(status=AbStatus.CANCELLED, finished_at=now, error=f"cancelled by {actor}"):
                cancelled.append(ab.ab_name)
                ended.append(ab)
            elif AssociationBlock.objects.filter(pk=ab.pk, status=AbStatus.RUNNING).update(
                cancel_requested=True
            ):
                requested.append(ab.ab_name)
    for ab in ended:  # after the commit: see schedule.after_success
        schedule.after_failure(ab, "was cancelled")
    schedule.finish_batches({ab.batch_id for ab in abs_})
    what = batch or (abs_[0] if len(abs_) == 1 else None)
    audit.record(
        "cancel", user=user, actor_name=actor, obj=what,
        object_type="" if what else "processing.AssociationBlock",
        object_repr="" if what else f"{len(abs_)} ABs",
        message=f"{len(cancelled)} ABs cancelled, {len(requested)} running ones being stopped",
        detail={"cancelled": cancelled, "stopping": requested},
    )  # fmt: skip
    return cancelled, requested


def cancel_batch(batch, *, user=None, actor_name=None):
    """Cancel everything a batch still has to do."""
    _actor(user, actor_name, "cancel processing")
    Batch.objects.filter(pk=batch.pk, status__in=(BatchStatus.RUNNING, BatchStatus.CREATED)).update(
        status=BatchStatus.CANCELLED, finished_at=timezone.now()
    )
    active = list(AssociationBlock.objects.filter(batch=batch, status__in=ACTIVE_STATES))
    return cancel(active, user=user, actor_name=actor_name, batch=batch)


def rerun_with_dependants(ab, *, user=None, actor_name=None):
    """Process `ab` again with every AB downstream of it, in a new batch."""
    actor = _actor(user, actor_name, "re-run ABs")
    ab = AssociationBlock.objects.get(pk=ab.pk)  # its state now, not when the caller read it
    subtree, frontier = [ab], [ab]
    while frontier:
        children = list(AssociationBlock.objects.filter(depends_on__in=frontier).distinct())
        children = [c for c in children if c.pk not in {s.pk for s in subtree}]
        subtree += children
        frontier = children
    busy = [s.ab_name for s in subtree if s.status in ACTIVE_STATES]
    if busy:
        raise ActionError(f"cannot re-run {ab.ab_name}: {', '.join(busy)} still "
                          "pending, queued or running (cancel first, or wait)")  # fmt: skip
    # certified products not yet moved would be replaced unseen; moved (and ingested) ones stay
    # where they are until the new products are certified and moved over them
    certified = sorted(set(Product.objects.filter(ab__in=subtree, state=ProductState.CERTIFIED)
                           .values_list("ab__ab_name", flat=True)))  # fmt: skip
    if certified:
        raise ActionError(f"cannot re-run {ab.ab_name}: {', '.join(certified)} have certified "
                          "products not moved yet; move or reject them first")  # fmt: skip
    incomplete = [s.ab_name for s in subtree if s.completeness == Completeness.INCOMPLETE]
    if ab.completeness == Completeness.INCOMPLETE:
        raise ActionError(f"cannot re-run {ab.ab_name}: it is INCOMPLETE ({'; '.join(ab.missing)})")
    kind = ScopeKind.RUN if ab.run_id else ScopeKind.DATE
    names = []
    with transaction.atomic():
        batch = Batch.objects.create(
            instance=ab.instance, scope_kind=kind, scope=ab.pseudo_date, ab_name=ab.ab_name,
            steps="P", created_by=user if user and user.pk else None, actor_name=actor,
            complete_mode=False, status=BatchStatus.RUNNING,
        )  # fmt: skip
        for member in subtree:
            if member.completeness == Completeness.INCOMPLETE:
                continue
            if AssociationBlock.objects.filter(pk=member.pk, status=member.status).update(
                status=AbStatus.PENDING, batch=batch, cancel_requested=False, error="",
                queued_at=None, started_at=None, finished_at=None,
            ):  # fmt: skip
                names.append(member.ab_name)
        if ab.ab_name not in names:  # another launch took it since it was read: no empty batch
            raise ActionError(f"cannot re-run {ab.ab_name}: its state changed meanwhile "
                              "(another launch or cancel); look again and retry")  # fmt: skip
        queued = schedule.release_ready(batch_ids=[batch.pk])
        schedule.finish_batches([batch.pk])
    Batch.objects.filter(pk=batch.pk).update(
        summary={"processing": {"pending": len(names), "queued_at_launch": len(queued),
                                "skipped": [{"ab": n, "why": "INCOMPLETE"} for n in incomplete]}}
    )  # fmt: skip
    audit.record(
        "rerun", user=user, actor_name=actor, obj=ab,
        message=f"re-run of {ab.ab_name} with {len(names) - 1} dependants in batch #{batch.pk}",
        detail={"batch": batch.pk, "abs": names},
    )  # fmt: skip
    return batch
