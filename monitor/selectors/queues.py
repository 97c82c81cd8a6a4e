"""The queues page: django-q2 clusters and their workers, the q2 queue, the ingestion queue
and failed ABs across dates.

django-q2 keeps each cluster's statistics (`Stat`) in Django's cache for a few seconds,
refreshed by the cluster's sentinel: with PHOENIX_REDIS_URL the cache is Redis, else the
database cache table — both shared between processes, so this web process sees every
cluster. A Stat lists its workers' pids; the AB a worker runs is the running AB whose
`host`/`worker` (processing.queue.attempt.worker_identity: "<cluster name>:<pid>") match.
The heartbeat task's saved results say when each host's cluster last ran a scheduled task.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, Sum
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import Failure, Success
from django_q.status import Stat

from processing.choices import AbStatus, IngestStatus
from processing.models import AssociationBlock, IngestRequest

HEARTBEAT_TASK = "processing.tasks.heartbeat"
LISTED = 50


@dataclass
class Worker:
    pid: int
    ab: object = None  # the AB it runs now, or None (idle)


@dataclass
class Cluster:
    host: str
    cluster_id: str
    pid: int
    state: str
    uptime: float | None  # seconds
    task_queue: int
    result_queue: int
    reincarnations: int
    workers: list = field(default_factory=list)


def running_abs():
    """Every running AB with where it runs, longest running first."""
    return list(AssociationBlock.objects.filter(status=AbStatus.RUNNING)
                .select_related("instance").only("pk", "ab_name", "night", "run_id", "host",
                                                 "worker", "started_at", "recipe", "attempts",
                                                 "instance__name")
                .order_by("started_at", "pk"))  # fmt: skip


def clusters(running):
    """The django-q2 clusters alive now, each worker with the AB it runs (from `running`)."""
    name = settings.Q_CLUSTER.get("name", "phoenix")
    by_worker = {(ab.host, ab.worker): ab for ab in running}
    by_pid = {}
    for ab in running:  # PHOENIX_HOST_NAME may differ from the cluster's socket host name
        by_pid.setdefault(ab.worker, []).append(ab)
    found = []
    for stat in Stat.get_all(get_broker()):
        tob = getattr(stat, "tob", None)
        cluster = Cluster(
            host=stat.host, cluster_id=str(stat.cluster_id), pid=stat.pid, state=stat.status,
            uptime=(timezone.now() - tob).total_seconds() if tob else None,
            task_queue=stat.task_q_size, result_queue=stat.done_q_size,
            reincarnations=stat.reincarnations,
        )  # fmt: skip
        for pid in stat.workers:
            key = f"{name}:{pid}"
            ab = by_worker.get((stat.host, key)) or (by_pid.get(key) or [None])[0]
            cluster.workers.append(Worker(pid, ab))
        found.append(cluster)
    return sorted(found, key=lambda c: (c.host, c.cluster_id))


def q2_queue():
    """Tasks waiting in the broker, those taken by a worker (ORM broker), failures kept."""
    broker = get_broker()
    taken = broker.lock_size() if hasattr(broker, "lock_size") else None
    return {"waiting": broker.queue_size(), "taken": taken, "broker": broker.info(),
            "failures": Failure.objects.count()}  # fmt: skip


def failed_tasks(limit=10):
    return list(Failure.objects.defer("args", "kwargs").order_by("-stopped")[:limit])


def heartbeats(limit=20):
    """The latest heartbeat per host: when a cluster there last ran a scheduled task."""
    latest = {}
    for success in Success.objects.filter(func=HEARTBEAT_TASK).order_by("-stopped")[:limit]:
        result = success.result if isinstance(success.result, dict) else {}
        host = result.get("host") or "?"
        latest.setdefault(host, {"host": host, "pid": result.get("pid"), "at": success.stopped})
    return sorted(latest.values(), key=lambda h: h["host"])


def ingestion():
    """Ingestion requests per state (every state, 0 when none) and duplicates suppressed."""
    rows = IngestRequest.objects.order_by().values_list("status").annotate(
        n=Count("pk"), duplicates=Sum("duplicates"))
    found = {status: (n, duplicates or 0) for status, n, duplicates in rows}
    return {
        "states": [(value, found.get(value, (0, 0))[0]) for value in IngestStatus.values],
        "duplicates": sum(d for _, d in found.values()),
    }


def ingestion_problems(limit=20):
    """The latest failed or refused ingestion requests, with the product and why."""
    return list(IngestRequest.objects.filter(status__in=(IngestStatus.FAILED, IngestStatus.REFUSED))
                .select_related("product", "instance").only(
                    "pk", "status", "error", "attempts", "updated_at", "night", "run_id",
                    "product__id", "product__name", "instance__name")
                .order_by("-updated_at", "-pk")[:limit])  # fmt: skip


def failed_abs(limit=LISTED):
    """Failed ABs across dates, latest first, and how many there are."""
    failed = AssociationBlock.objects.filter(status=AbStatus.FAILED)
    rows = list(failed.select_related("instance").only(
        "pk", "ab_name", "night", "run_id", "raw_type", "recipe", "error", "finished_at",
        "attempts", "host", "instance__name").order_by("-finished_at", "-pk")[:limit])  # fmt: skip
    return rows, failed.count()
