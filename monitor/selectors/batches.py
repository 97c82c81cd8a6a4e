"""Batches: the list, one batch's progress, its ABs that did not succeed, its dates.

Every function runs a fixed number of queries, whatever the number of ABs or batches.
"""

from django.db.models import Count, Q
from django.utils import timezone

from processing.choices import ACTIVE_STATES, AbStatus, BatchStatus
from processing.models import AssociationBlock, Batch
from processing.queue import progress
from processing.queue.actions import QC_ACTIVE

#: states that count as done on the progress bar
DONE_STATES = (AbStatus.SUCCESS, AbStatus.FAILED, AbStatus.CANCELLED, AbStatus.UPSTREAM_FAILED)
#: states whose ABs the batch page lists with their error
PROBLEM_STATES = (AbStatus.FAILED, AbStatus.UPSTREAM_FAILED, AbStatus.CANCELLED)


def batches(instance=None, status=None):
    """Recent batches first, with who launched them."""
    rows = Batch.objects.select_related("instance").defer("summary", "instance__config",
                                                          "instance__config_text",
                                                          "instance__rules_text")  # fmt: skip
    if instance:
        rows = rows.filter(instance__name=instance)
    if status:
        rows = rows.filter(status=status)
    return rows


def counts_per_batch(batch_ids):
    """{batch id: {state: ABs}} in one query."""
    found = {}
    rows = (AssociationBlock.objects.filter(batch_id__in=list(batch_ids)).order_by()
            .values_list("batch_id", "status").annotate(n=Count("pk")))  # fmt: skip
    for batch_id, status, n in rows:
        found.setdefault(batch_id, {})[status] = n
    return found


def duration(batch, now=None):
    """How long the batch ran (or has been running), e.g. "2 h 05 min", "42 s"."""
    end = batch.finished_at or (now or timezone.now())
    seconds = max(0, int((end - batch.created_at).total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    days, rest = divmod(seconds, 86400)
    text = f"{rest // 3600} h {rest % 3600 // 60:02d} min"
    return f"{days} d {text}" if days else text


def progress_of(batch):
    """Counts per AB state with their share of the batch, QC jobs still to do, and whether
    everything the page shows is final."""
    counts = progress.counts([batch.pk])
    total = sum(counts.values())
    qc_active = AssociationBlock.objects.filter(batch=batch, qc_status__in=QC_ACTIVE).count()
    done = sum(counts[s] for s in DONE_STATES)
    finish = (batch.summary or {}).get("finish")
    waiting_for_finish = "M" in batch.steps and batch.status == BatchStatus.FINISHED and (
        not finish or finish.get("status") in ("running", "lost"))  # fmt: skip
    ended = batch.status in (BatchStatus.FINISHED, BatchStatus.CANCELLED)
    return {
        "states": [(status, counts[status], 100 * counts[status] / total, AbStatus.colour(status))
                   for status in AbStatus.values if counts[status]],  # fmt: skip
        "total": total, "done": done, "percent": round(100 * done / total) if total else 100,
        "active": sum(counts[s] for s in ACTIVE_STATES), "qc_active": qc_active,
        "finish": finish, "waiting_for_finish": waiting_for_finish,
        "final": ended and not qc_active and not waiting_for_finish,
    }  # fmt: skip


def problems(batch, limit=50):
    """The batch's ABs that failed, were cancelled or whose upstream failed, latest first."""
    return list(AssociationBlock.objects.filter(batch=batch, status__in=PROBLEM_STATES)
                .only("pk", "ab_name", "status", "error", "finished_at", "raw_type", "category")
                .order_by("-finished_at", "-pk")[:limit])  # fmt: skip


def dates_of(batch):
    """The dates (or run) whose AB monitor shows the batch's ABs, plus the scope's own."""
    rows = (AssociationBlock.objects.filter(batch=batch).order_by().values_list("night", "run_id")
            .distinct())  # fmt: skip
    dates = {run or night.isoformat() for night, run in rows if run or night}
    if batch.scope_kind != "month":
        dates.add(batch.scope)
    return sorted(dates)


def active_counts(batch):
    """What cancelling would do: pending and queued ABs cancelled, running ones stopped."""
    return AssociationBlock.objects.filter(batch=batch).aggregate(
        waiting=Count("pk", filter=Q(status__in=(AbStatus.PENDING, AbStatus.QUEUED))),
        running=Count("pk", filter=Q(status=AbStatus.RUNNING)),
    )


def ab_links(instance, names):
    """{AB name: pk} of the named ABs of an instance (the names a batch summary keeps)."""
    names = [n for n in names if n]
    if not names:
        return {}
    return dict(AssociationBlock.objects.filter(instance=instance, ab_name__in=names)
                .values_list("ab_name", "pk"))  # fmt: skip
