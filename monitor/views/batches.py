"""Batches: the list, one batch's page with its live progress, and cancelling it."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from monitor import live
from monitor.access import requires
from monitor.selectors import batches as selectors
from monitor.selectors.audit import trail
from processing.choices import ACTIVE_STATES, BatchStatus
from processing.models import Batch, Instance
from processing.queue.actions import cancel_batch

BATCHES_PER_PAGE = 50
#: entries of the summary's lists shown on the page (the counts are complete)
LISTED = 200


def index(request):
    instance, status = request.GET.get("instance", ""), request.GET.get("status", "")
    if status not in BatchStatus.values:
        status = ""
    page = Paginator(selectors.batches(instance, status), BATCHES_PER_PAGE).get_page(
        request.GET.get("page"))
    counts = selectors.counts_per_batch([b.pk for b in page.object_list])
    now = timezone.now()
    rows = []
    for b in page.object_list:
        mine = counts.get(b.pk, {})
        rows.append((b, mine, sum(mine.values()), sum(mine.get(s, 0) for s in ACTIVE_STATES),
                     selectors.duration(b, now)))  # fmt: skip
    return render(request, "monitor/batches/index.html", {
        "page": page, "rows": rows, "instance": instance, "status": status,
        "instances": Instance.objects.values_list("name", flat=True),
        "statuses": BatchStatus.choices,
    })  # fmt: skip


def _batch(pk):
    return get_object_or_404(Batch.objects.select_related("instance", "created_by"), pk=pk)


def page(request, pk):
    batch = _batch(pk)
    summary = batch.summary or {}
    processing = summary.get("processing") or {}
    skipped = (processing.get("skipped") or [])[:LISTED]
    incomplete = (summary.get("incomplete") or [])[:LISTED]
    waiting = ((summary.get("finish") or {}).get("waiting") or [])[:LISTED]
    links = selectors.ab_links(batch.instance, [r["ab"] for r in skipped + incomplete + waiting])
    skipped, incomplete, waiting = ([{**row, "pk": links.get(row["ab"])} for row in rows]
                                    for rows in (skipped, incomplete, waiting))  # fmt: skip
    return render(request, "monitor/batches/page.html", {
        "batch": batch, "summary": summary, "processing": processing, "skipped": skipped,
        "incomplete": incomplete, "waiting": waiting,
        "dates": selectors.dates_of(batch), "duration": selectors.duration(batch),
        "progress": selectors.progress_of(batch), "problems": selectors.problems(batch),
        "active": selectors.active_counts(batch), "audit_events": trail(batch),
        "may_cancel": request.user.has_perm("processing.operate_batches"),
    })  # fmt: skip


def progress(request, pk):
    """The polled progress, with the batch's facts out of band (status, duration, cancel)."""
    batch = _batch(pk)
    state = selectors.progress_of(batch)
    return live.partial(request, "monitor/batches/progress.html", {
        "batch": batch, "progress": state, "problems": selectors.problems(batch),
        "oob": bool(request.htmx), "dates": selectors.dates_of(batch),
        "duration": selectors.duration(batch), "active": selectors.active_counts(batch),
        "may_cancel": request.user.has_perm("processing.operate_batches"),
    }, final=state["final"])  # fmt: skip


@require_POST
@requires("processing.operate_batches", "cancel batches")
def cancel(request, pk):
    """Cancel a batch: first a confirmation saying how many ABs it stops, then the cancel."""
    batch = _batch(pk)
    if batch.status not in (BatchStatus.RUNNING, BatchStatus.CREATED):
        messages.error(request, f"Batch #{batch.pk} is {batch.get_status_display()}: nothing "
                                "to cancel.")  # fmt: skip
        return redirect("monitor:batch", batch.pk)
    if request.POST.get("confirm") != "yes":
        return render(request, "monitor/batches/cancel.html", {
            "batch": batch, "active": selectors.active_counts(batch)})  # fmt: skip
    cancelled, stopping = cancel_batch(batch, user=request.user)
    messages.success(request, f"Batch #{batch.pk} cancelled: {len(cancelled)} ABs cancelled, "
                              f"{len(stopping)} running ones being stopped.")  # fmt: skip
    return redirect("monitor:batch", batch.pk)
