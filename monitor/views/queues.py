"""The queues page: q2 clusters and workers (live), the q2 queue, the ingestion queue,
failed ABs across dates."""

from django.shortcuts import render

from monitor.live import partial
from monitor.selectors import queues as selectors


def _live_context():
    running = selectors.running_abs()
    return {"clusters": selectors.clusters(running), "running": running,
            "q2": selectors.q2_queue(), "heartbeats": selectors.heartbeats()}  # fmt: skip


def page(request):
    failed, failed_count = selectors.failed_abs()
    return render(request, "monitor/queues/page.html", {
        **_live_context(), "failed_tasks": selectors.failed_tasks(),
        "ingestion": selectors.ingestion(), "ingestion_problems": selectors.ingestion_problems(),
        "failed_abs": failed, "failed_count": failed_count,
    })  # fmt: skip


def live(request):
    """The clusters, workers and queue sizes: polled, never final (clusters come and go)."""
    return partial(request, "monitor/queues/live.html", _live_context())
