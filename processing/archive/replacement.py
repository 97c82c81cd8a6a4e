"""Replacing master calibrations after a COMPLETE_MODE reprocessing (operational hints §6),
as one guided operation tracked by a MasterReplacement row.

The new masters of a COMPLETE_MODE month wait in cal/NEW with held ingestion requests; the
old ones are in the archive. The new set is usually smaller (only what science needed), so
the old masters of the range are hidden rather than replaced one by one:

1. preview: the old current masters of the range (to hide), the static calibrations in it
   (never hidden, listed), the new held masters, calSelector periods that would conflict;
2. start: hide the old masters (static excluded), force calSelector to raw2raw for the range
   (nothing may associate the hidden masters, and the new ones are not in the archive yet),
   release the held requests of the new masters — all in one transaction — and hand them
   to the ingest task (or run ingest_products);
3. finish, once every new master is ingested: the period switches to raw2master, so that
   association uses the new masters. It stays as a record of the replacement and keeps
   raw2master in force for the range whatever the instance's default (NACO's is raw2raw).

Each step can be previewed (dry run) and writes an AuditEvent.
"""

from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django_q.tasks import async_task

from processing import audit
from processing.archive.access import check_permission
from processing.archive.hiding import hide_records, night_range
from processing.archive.queueing import INGEST_TASK
from processing.choices import (
    ArchiveStatus,
    CalSelectorMode,
    IngestStatus,
    PeriodSource,
    ProductKind,
    ReplacementStep,
)
from processing.models import (
    ArchiveRecord,
    CalSelectorPeriod,
    IngestRequest,
    Instance,
    MasterReplacement,
)
from processing.queue import schedule


class ReplacementError(Exception):
    """A step cannot be taken; the message says why and what to do."""


@dataclass
class ReplacementPlan:
    instance: Instance
    start: object
    end: object
    old_masters: list = field(default_factory=list)  # current master records: to hide
    static: list = field(default_factory=list)  # static calibrations of the range: stay
    new_masters: list = field(default_factory=list)  # held IngestRequests of new masters
    conflicts: list = field(default_factory=list)  # CalSelectorPeriods overlapping the range

    def problems(self):
        """Why the replacement cannot start (empty: it can)."""
        found = []
        for period in self.conflicts:
            owner = period.replacements.order_by("-pk").first()
            found.append(
                f"the calSelector period {period.start}…{period.end} ({period.mode}, set by "
                f"{period.source}{f' for replacement #{owner.pk}, {owner.step}' if owner else ''}) "
                "overlaps the range: finish that replacement, or delete or shorten the period"
            )  # fmt: skip
        if not self.new_masters:
            found.append(
                f"no master calibration of {self.instance.name} in {self.start}…{self.end} is "
                "held for ingestion (COMPLETE_MODE -M holds the new masters it moves to "
                "cal/NEW): nothing would replace the old masters"
            )  # fmt: skip
        return found

    def as_dict(self):
        return {"instance": self.instance.name, "start": str(self.start), "end": str(self.end),
                "old_masters": [r.adp_id for r in self.old_masters],
                "static_excluded": [r.adp_id for r in self.static],
                "new_masters": [r.key for r in self.new_masters],
                "conflicts": [f"{p.start}…{p.end} {p.mode}" for p in self.conflicts],
                "problems": self.problems()}  # fmt: skip


@dataclass
class ReplacementResult:
    plan: ReplacementPlan
    replacement: MasterReplacement | None = None  # None: a dry run
    hidden: list = field(default_factory=list)  # ADP ids hidden
    released: int = 0  # held requests opened


@dataclass
class FinishResult:
    replacement: MasterReplacement
    ready: bool  # every request of the new set is done
    statuses: dict  # status → requests of the new set
    message: str
    dry_run: bool = False


def preview_replacement(instance, start, end, *, user=None, actor_name=None):
    """What starting a replacement of the masters of start…end would do; writes nothing but
    an audit event."""
    start, end = night_range(start, end)
    plan = _plan(instance, start, end)
    audit.record("replace_masters_preview", user=user, actor_name=audit.actor_name_of(user, actor_name),
                 obj=instance, message=_summary(plan, "would hide"), detail=plan.as_dict())  # fmt: skip
    return plan


def start_replacement(instance, start, end, *, reason, dry_run=False, user=None,
                      actor_name=None):
    """Hide the old masters of start…end (static ones excluded), force calSelector to raw2raw
    for the range and release the held requests of the new masters, in one transaction."""
    reason = (reason or "").strip()
    if not reason:
        raise ReplacementError("a reason is required: say why the masters are replaced")
    if dry_run:
        return ReplacementResult(preview_replacement(instance, start, end, user=user,
                                                     actor_name=actor_name))  # fmt: skip
    check_permission(user, "replace master calibrations")
    start, end = night_range(start, end)
    actor = audit.actor_name_of(user, actor_name)
    with transaction.atomic():
        Instance.objects.select_for_update().filter(pk=instance.pk).first()  # one at a time
        plan = _plan(instance, start, end)
        problems = plan.problems()
        if not problems:
            result = _start(plan, reason, user, actor)
    if problems:
        audit.record("replace_masters_start", user=user, actor_name=actor, obj=instance,
                     result=audit.AuditEvent.Result.REFUSED, message="; ".join(problems),
                     detail=plan.as_dict())  # fmt: skip
        raise ReplacementError(f"cannot start replacing the masters of {instance.name} "
                               f"{start}…{end}: " + "; ".join(problems))  # fmt: skip
    return result


def finish_replacement(replacement, *, dry_run=False, user=None, actor_name=None):
    """Switch the replacement's period to raw2master, once every new master is ingested;
    otherwise refuse (ReplacementError), saying how many requests are open, failed …"""
    if not dry_run:
        check_permission(user, "finish a replacement of master calibrations")
    actor = audit.actor_name_of(user, actor_name)
    replacement.refresh_from_db()
    if replacement.step != ReplacementStep.INGESTING:
        raise ReplacementError(f"replacement #{replacement.pk} is {replacement.step}: nothing "
                               "to finish")  # fmt: skip
    new_set = IngestRequest.objects.filter(pk__in=replacement.summary.get("released", []))
    statuses = dict(new_set.order_by().values("status").annotate(n=Count("pk"))
                    .values_list("status", "n"))  # fmt: skip
    total, done = sum(statuses.values()), statuses.get(IngestStatus.DONE, 0)
    scope = f"--instance {replacement.instance.name} --from {replacement.start} --to {replacement.end}"
    if done < total:
        waiting = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()) if s != IngestStatus.DONE)
        message = (f"{total - done} of {total} new master calibrations are not ingested yet "
                   f"({waiting}): run `manage.py ingest_products --instance "
                   f"{replacement.instance.name}` or wait for the ingest task; failed or refused "
                   "ones need `ingest_products --retry` once their cause is fixed; then "
                   f"`replace_masters {scope} --finish` again")  # fmt: skip
    else:
        message = (f"all {total} new master calibrations are ingested: calSelector "
                   f"{replacement.start}…{replacement.end} "
                   + ("would switch" if dry_run else "switched") + " to raw2master")  # fmt: skip
    result = FinishResult(replacement, done == total, statuses, message, dry_run)
    if dry_run or not result.ready:
        audit.record("replace_masters_finish_preview" if dry_run else "replace_masters_finish",
                     user=user, actor_name=actor, obj=replacement, message=message,
                     result=(audit.AuditEvent.Result.OK if dry_run else
                             audit.AuditEvent.Result.REFUSED),
                     detail={"statuses": statuses})  # fmt: skip
        if not dry_run:
            raise ReplacementError(f"cannot finish replacement #{replacement.pk}: {message}")
        return result
    now = timezone.now()
    with transaction.atomic():
        summary = {**replacement.summary, "finished_at": now.isoformat(), "finished_by": actor}
        if MasterReplacement.objects.filter(pk=replacement.pk, step=ReplacementStep.INGESTING).update(
            step=ReplacementStep.COMPLETE, summary=summary, updated_at=now,
        ):  # fmt: skip
            CalSelectorPeriod.objects.filter(pk=replacement.period_id).update(
                mode=CalSelectorMode.RAW2MASTER,
                reason=f"master replacement #{replacement.pk} complete on {now:%Y-%m-%d}: "
                       f"the new masters are ingested ({replacement.reason})",
            )  # fmt: skip
        replacement.refresh_from_db()
        audit.record("replace_masters_finish", user=user, actor_name=actor, obj=replacement,
                     message=message, detail={"statuses": statuses})  # fmt: skip
    return result


def find_replacement(instance, start, end):
    """The replacement of exactly start…end still ingesting, or ReplacementError."""
    start, end = night_range(start, end)
    found = MasterReplacement.objects.filter(instance=instance, start=start, end=end,
                                             step=ReplacementStep.INGESTING).first()  # fmt: skip
    if found is None:
        others = MasterReplacement.objects.filter(instance=instance).order_by("-pk")[:5]
        listed = "; ".join(f"#{r.pk} {r.start}…{r.end} {r.step}" for r in others) or "none"
        raise ReplacementError(f"no replacement of the masters of {instance.name} {start}…{end} "
                               f"is ingesting (latest: {listed})")  # fmt: skip
    return found


def _plan(instance, start, end):
    in_range = ArchiveRecord.objects.filter(instance=instance, status=ArchiveStatus.CURRENT,
                                            night__range=(start, end)).order_by("night", "origfile")  # fmt: skip
    return ReplacementPlan(
        instance, start, end,
        old_masters=list(in_range.filter(kind=ProductKind.MASTER)),
        static=list(in_range.filter(kind=ProductKind.STATIC)),
        new_masters=list(IngestRequest.objects.filter(
            instance=instance, status=IngestStatus.HELD, product__kind=ProductKind.MASTER,
            night__range=(start, end)).order_by("night", "key")),
        conflicts=list(CalSelectorPeriod.objects.filter(instance=instance, start__lte=end,
                                                        end__gte=start)),
    )  # fmt: skip


def _start(plan, reason, user, actor):
    instance = plan.instance
    replacement = MasterReplacement.objects.create(
        instance=instance, start=plan.start, end=plan.end, reason=reason,
        created_by=user if user is not None and user.pk else None, actor_name=actor,
    )  # fmt: skip
    label = f"master replacement #{replacement.pk}"
    hidden = hide_records(instance, start=plan.start, end=plan.end, kinds=[ProductKind.MASTER],
                          reason=f"{label}: {reason}", user=user, actor_name=actor)  # fmt: skip
    period = CalSelectorPeriod.objects.create(
        instance=instance, start=plan.start, end=plan.end, mode=CalSelectorMode.RAW2RAW,
        source=PeriodSource.OPERATOR, created_by=replacement.created_by,
        reason=f"{label}: old masters hidden, new ones being ingested ({reason})",
    )  # fmt: skip
    ids = [r.pk for r in plan.new_masters]
    released = IngestRequest.objects.filter(pk__in=ids, status=IngestStatus.HELD).update(
        status=IngestStatus.OPEN, updated_at=timezone.now())
    schedule.send(lambda: async_task(INGEST_TASK, ids))
    replacement.step = ReplacementStep.INGESTING
    replacement.hide_request = hidden.request
    replacement.period = period
    replacement.summary = {**plan.as_dict(), "hidden": [r.adp_id for r in hidden.hidden],
                           "released": ids, "period": period.pk}  # fmt: skip
    replacement.save()
    audit.record("replace_masters_start", user=user, actor_name=actor, obj=replacement,
                 message=_summary(plan, "hid") + f"; calSelector raw2raw for {plan.start}…"
                                                 f"{plan.end}; {released} new masters released",
                 detail=replacement.summary)  # fmt: skip
    return ReplacementResult(plan, replacement, [r.adp_id for r in hidden.hidden], released)


def _summary(plan, verb):
    return (f"{plan.instance.name} {plan.start}…{plan.end}: {verb} {len(plan.old_masters)} old "
            f"masters, {len(plan.static)} static calibrations excluded, "
            f"{len(plan.new_masters)} new masters held"
            + (f"; problems: {'; '.join(plan.problems())}" if plan.problems() else ""))  # fmt: skip
