"""Queue benchmark: orchestration overhead of processAB against plain django-q2 tasks
(issue 7, point 8).

    .venv/bin/python benchmarks/bench_queue.py [--abs 1000] [--workers 2] [--rounds 3]
        [--database sqlite|postgres|postgres://…/NAME] [--broker orm|redis]
        [--q KEY=VALUE …] [--db KEY=VALUE …] [--profile DIR]

It makes its own database (a temporary SQLite file, or the PostgreSQL database
phoenix_bench_queue on 127.0.0.1, dropped and re-created) and data root, loads the NACO
instance (engine python) and starts one `manage.py qcluster` with --workers workers and the
production settings (PHOENIX_DEBUG=0, the Q_CLUSTER of phoenix_site/settings.py). Then, in
each round, on that same cluster:

- **plain**: --abs django-q2 tasks of a trivial function (processing.tasks.heartbeat) are
  enqueued with async_task in a loop, in one transaction as launch() queues its ABs (with
  the ORM broker the cluster sees them all at its commit); the time runs until the last is
  done;
- **queue**: --abs ABs of the no-op recipe phoenix_noop (no inputs, no products, so no QC
  job) go through processing.queue.actions.launch(process=True); the time runs until every AB
  is `success` (each one claimed with its lease, recipe forked, outcome registered).

The order of the two alternates between rounds; the task results table is emptied before
each measurement (django-q2 prunes it at save_limit, which costs the monitor more as it
fills) and the ABs are reset. Reported per measurement: the wall time from the first enqueue
(or the launch) to the last completion (plain: the task acknowledged — its ORM queue row
deleted after its result was saved; queue: the AB `success`), and the sustained rate while
between 90 % and 10 % of the work remained (start-up and tail left out), from the remaining
count sampled every 50 ms (with Redis, which hands tasks to the cluster while they are still
being enqueued, from the saved completion times of the plain tasks: give --q save_limit=0),
and the CPU time the cluster's processes (sentinel, workers, pusher, monitor, recipe children)
spent per task or AB — on the 2 shared cores of the development VM, throughput comes down to
it. Medians over the rounds; the ratio queue/plain (sustained rates) per round. Prints a JSON
line at the end.

--q KEY=VALUE and --db KEY=VALUE override a key of Q_CLUSTER or of DATABASES['default'] for
the run (bench process and cluster), to measure a setting before proposing it.

--profile DIR samples the cluster with py-spy (if installed) during the first queue
measurement and writes the collapsed stacks of each cluster process into DIR (one
cluster-<pid>.txt each; flamegraph.pl or speedscope draw them).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.fault_run import (
    children,
    drop_database,
    make_abs,
    python_instance,
    sentinel_children,
)

DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/phoenix_bench_queue"
PLAIN_TASK = "processing.tasks.heartbeat"
TARGET_RATE = 20.0  # ABs/s
TARGET_RATIO = 0.5


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--abs", type=int, default=1000, help="ABs (and plain tasks) per round")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database", default="sqlite",
                        help=f"sqlite (temporary file), postgres ({DEFAULT_POSTGRES}) or a "
                        "postgres://…/NAME URL; that database is dropped and re-created")
    parser.add_argument("--broker", choices=["orm", "redis"], default="orm",
                        help="django-q2 broker (redis: redis://127.0.0.1:6379/0)")
    parser.add_argument("--q", action="append", default=[], metavar="KEY=VALUE",
                        help="override a Q_CLUSTER setting for this run (bench process and "
                        "cluster), e.g. --q save_limit=100; values are Python literals")
    parser.add_argument("--db", action="append", default=[], metavar="KEY=VALUE",
                        help="override a key of DATABASES['default'] the same way, e.g. "
                        "--db CONN_MAX_AGE=60")
    parser.add_argument("--profile", type=Path,
                        help="py-spy samples of the cluster during the first queue round")
    parser.add_argument("--keep", action="store_true", help="keep the database and data root")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="phoenix-bench-queue-"))
    data_root = work / "data"
    data_root.mkdir()
    database = {"sqlite": f"sqlite:///{work}/queue.sqlite3", "postgres": DEFAULT_POSTGRES}.get(
        args.database, args.database
    )
    name = f"phoenix-bench-{uuid.uuid4().hex[:8]}"
    settings_module = _settings_with(work, args.q, args.db)
    os.environ.update({
        "PHOENIX_DEBUG": "0", "PHOENIX_LOG_LEVEL": "WARNING", "DATABASE_URL": database,
        "PHOENIX_DATA_ROOT": str(data_root), "PHOENIX_Q_WORKERS": str(args.workers),
        "PHOENIX_Q_CLUSTER_NAME": name, "DJANGO_SETTINGS_MODULE": settings_module,
    })  # fmt: skip
    os.environ.setdefault("SECRET_KEY", "bench-queue-" + "x" * 40)
    os.environ.setdefault("ALLOWED_HOSTS", "localhost")
    redis_url = "redis://127.0.0.1:6379/0" if args.broker == "redis" else None
    if redis_url:
        os.environ["PHOENIX_REDIS_URL"] = redis_url
    else:
        os.environ.pop("PHOENIX_REDIS_URL", None)

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from tests.cluster import Cluster, cluster_env

    instance = python_instance(connection, database)
    ab_ids = make_abs(instance, args.abs, recipe="phoenix_noop", parameters=[], catg=None,
                      prefix="NOOP")  # fmt: skip
    warm_ids = make_abs(instance, 2 * args.workers, recipe="phoenix_noop", parameters=[],
                        catg=None, prefix="WARM", night=_day_after())  # fmt: skip
    env = cluster_env(data_root, workers=args.workers, redis_url=redis_url, name=name,
                      PHOENIX_DEBUG=0, PHOENIX_LOG_LEVEL="WARNING")  # fmt: skip
    cluster = Cluster(env, work / "qcluster.log")
    version = _database_version(connection)
    print(f"{connection.vendor} {version}, broker {args.broker}, {args.workers} workers, "
          f"{args.abs} ABs/tasks per measurement, {args.rounds} rounds; Q_CLUSTER poll "
          f"{settings.Q_CLUSTER.get('poll')} s, queue_limit {settings.Q_CLUSTER.get('queue_limit')}, "
          f"recycle {settings.Q_CLUSTER.get('recycle')}, bulk {settings.Q_CLUSTER.get('bulk', 1)}, "
          f"save_limit {settings.Q_CLUSTER.get('save_limit')}",
          flush=True)  # fmt: skip
    rounds = []
    try:
        deadline = time.monotonic() + 120
        while len(sentinel_children(cluster)) < args.workers + 2:
            if time.monotonic() > deadline or not cluster.alive():
                raise RuntimeError(f"the cluster did not start:\n{cluster.log()[-3000:]}")
            time.sleep(0.2)
        # Warm-up: each worker imports the recipes (numpy, astropy) at its first AB.
        run_queue(instance, warm_ids, cluster, timeout=120)
        run_plain(2 * args.workers, cluster, timeout=120)
        for number in range(args.rounds):
            order = ("plain", "queue") if number % 2 == 0 else ("queue", "plain")
            figures = {}
            for what in order:
                if what == "plain":
                    figures["plain"] = run_plain(args.abs, cluster)
                else:
                    profiler = _profile(cluster, args.profile) if number == 0 and args.profile else None
                    figures["queue"] = run_queue(instance, ab_ids, cluster)
                    if profiler:
                        _stop_profile(profiler)
                print(f"round {number + 1} {what:5s}: {_describe(figures[what])}", flush=True)
            plain, queue = figures["plain"]["sustained"], figures["queue"]["sustained"]
            figures["ratio"] = round(queue / plain, 3) if plain and queue else None
            rounds.append(figures)
    finally:
        cluster.stop()
    result = summarise(rounds, args, connection.vendor, version)
    print(f"\nmedian over {args.rounds} rounds: queue {result['queue_sustained']} ABs/s sustained "
          f"({result['queue_wall']} ABs/s launch → all success), plain "
          f"{result['plain_sustained']} tasks/s ({result['plain_wall']}/s); ratio "
          f"{result['ratio']} (per round {result['ratios']}); cluster CPU per AB "
          f"{result['queue_cpu_ms']} ms, per plain task {result['plain_cpu_ms']} ms; "
          f"targets ≥ {TARGET_RATE:g} ABs/s "
          f"and ≥ {TARGET_RATIO}× plain: {'met' if result['targets_met'] else 'MISSED'}")  # fmt: skip
    if args.keep:
        print(f"kept: {work} ({database})")
    else:
        drop_database(connection, database)
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result))


def _settings_with(work, q_overrides, db_overrides):
    """The settings module of the run: phoenix_site.settings, or a module in `work` that
    overrides some Q_CLUSTER and DATABASES['default'] keys (put on PYTHONPATH for the cluster
    too)."""
    if not (q_overrides or db_overrides):
        return "phoenix_site.settings"
    q, db = _pairs("--q", q_overrides), _pairs("--db", db_overrides)
    (work / "bench_queue_settings.py").write_text(
        "from phoenix_site.settings import *  # noqa: F403\n"
        f"Q_CLUSTER = {{**Q_CLUSTER, **{q!r}}}  # noqa: F405\n"
        f"DATABASES['default'].update({db!r})  # noqa: F405\n"
    )
    sys.path.insert(0, str(work))
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(work), str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    )
    return "bench_queue_settings"


def _pairs(option, items):
    import ast

    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            sys.exit(f"{option} {item!r}: expected KEY=VALUE")
        pairs[key.strip()] = ast.literal_eval(value.strip())
    return pairs


def _day_after():
    from datetime import timedelta

    from benchmarks.fault_run import NIGHT

    return NIGHT + timedelta(days=1)


def run_plain(count, cluster, timeout=600):
    """Enqueue `count` trivial tasks; wait until the cluster has done them all; figures.

    Done = acknowledged (ORM broker: its queue row deleted, which the monitor does after
    saving the result), or, with Redis (no receipts), a saved result row.
    """
    from django.conf import settings
    from django.db import transaction
    from django_q.conf import Conf
    from django_q.models import OrmQ, Task
    from django_q.tasks import async_task

    Task.objects.all().delete()
    if "orm" in settings.Q_CLUSTER:
        queue = OrmQ.objects.filter(key=Conf.CLUSTER_NAME)

        def remaining():
            return queue.count()
    else:
        limit = settings.Q_CLUSTER.get("save_limit", 250)
        if 0 < limit < count:
            raise SystemExit(f"--broker redis counts saved results: give --q save_limit=0 "
                             f"(keep all) or ≥ {count}, not {limit}")  # fmt: skip
        done = Task.objects.filter(func=PLAIN_TASK)

        def remaining():
            return count - done.count()

    # One transaction, as launch() queues its ABs: the cluster sees all tasks at once.
    cpu = ClusterCpu(cluster)
    start = time.monotonic()
    with transaction.atomic():
        for _ in range(count):
            async_task(PLAIN_TASK)
    enqueued = time.monotonic() - start
    figures = _drain(count, start, remaining, timeout, enqueue_seconds=enqueued)
    figures["cluster_cpu_ms"] = cpu.per_item(count)
    if "orm" not in settings.Q_CLUSTER:
        # Redis takes each task at once (outside the transaction): the cluster works while
        # they are enqueued, so the drain afterwards says little. The same 10 %–90 % window,
        # from the saved completion times instead.
        stops = sorted(done.values_list("stopped", flat=True))
        low, high = stops[count // 10], stops[count - count // 10 - 1]
        span = (high - low).total_seconds()
        figures["sustained"] = round((count - 2 * (count // 10) - 1) / span, 1) if span > 0 else None
    return figures


def run_queue(instance, ab_ids, cluster, timeout=600):
    """Reset the ABs, launch their night with -P, wait until all succeeded; figures."""
    from django.db.models import Count
    from django_q.models import Task

    from processing.abs.scope import Scope
    from processing.choices import AbStatus
    from processing.models import AbAttempt, AssociationBlock
    from processing.queue import actions

    abs_ = AssociationBlock.objects.filter(pk__in=ab_ids)
    AbAttempt.objects.filter(ab__in=abs_).delete()
    abs_.update(status=AbStatus.CREATED, attempts=0, batch=None, started_at=None,
                finished_at=None, queued_at=None)  # fmt: skip
    Task.objects.all().delete()
    night = abs_.values_list("night", flat=True).first()

    cpu = ClusterCpu(cluster)
    start = time.monotonic()
    result = actions.launch(instance, Scope.for_date(night.isoformat()), process=True)
    launched = time.monotonic() - start
    assert len(result.pending) == len(ab_ids), result.summary()
    batch = AssociationBlock.objects.filter(batch=result.batch).order_by()

    def remaining():
        # One small query per sample (the batch's ABs by state, on the batch index), so that
        # watching costs the machine about as little as watching the plain tasks does.
        states = dict(batch.values_list("status").annotate(n=Count("pk")))
        for failed in (AbStatus.FAILED, AbStatus.CANCELLED):
            if states.get(failed):
                ab = batch.filter(status=failed).first()
                raise RuntimeError(f"{ab.ab_name} {ab.status}: {ab.error}")
        return len(ab_ids) - states.get(AbStatus.SUCCESS, 0)

    figures = _drain(len(ab_ids), start, remaining, timeout, launch_seconds=launched)
    figures["cluster_cpu_ms"] = cpu.per_item(len(ab_ids))
    figures["attempts"] = AbAttempt.objects.filter(ab__in=abs_).count()
    return figures


class ClusterCpu:
    """CPU time the cluster spent since this object was made: every process of its tree (the
    qcluster process, the sentinel, workers, pusher, monitor, running recipes) with the
    children each has reaped (finished recipes, recycled workers). Divided by the items done:
    what an item costs the machine, which throughput on 2 shared cores comes down to."""

    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self, cluster):
        self.cluster = cluster
        self.start = self._seconds()

    def _seconds(self):
        total, pids = 0, [self.cluster.pid]
        while pids:
            pid = pids.pop()
            pids += children(pid)
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            total += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
        return total / self.TICK

    def per_item(self, count):
        return round(1000 * (self._seconds() - self.start) / count, 1)


def _drain(count, start, remaining, timeout, **extra):
    """Poll `remaining()` every 50 ms until 0: wall time from `start`, and the sustained rate
    between 90 % and 10 % remaining (start-up and tail left out), linearly interpolated."""
    samples = []
    while True:
        left = remaining()
        now = time.monotonic()
        samples.append((now, left))
        if left == 0:
            break
        if now - start > timeout:
            raise RuntimeError(f"{left} of {count} not done after {timeout} s")
        time.sleep(0.05)
    wall = samples[-1][0] - start
    t_high, t_low = _crossing(samples, 0.9 * count), _crossing(samples, 0.1 * count)
    sustained = 0.8 * count / (t_low - t_high) if t_low > t_high else None
    return {
        "n": count,
        "wall_seconds": round(wall, 2),
        "wall_rate": round(count / wall, 1),
        "sustained": round(sustained, 1) if sustained else None,
        **{k: round(v, 2) if isinstance(v, float) else v for k, v in extra.items()},
    }


def _crossing(samples, level):
    """Time at which the remaining count fell to `level` (interpolated between samples)."""
    previous = None
    for t, left in samples:
        if left <= level:
            if previous is None or previous[1] == left:
                return t
            t0, l0 = previous
            return t0 + (t - t0) * (l0 - level) / (l0 - left)
        previous = (t, left)
    return samples[-1][0]


def _describe(figures):
    extra = ", ".join(f"{k} {v}" for k, v in figures.items()
                      if k not in {"n", "wall_seconds", "wall_rate", "sustained"})  # fmt: skip
    return (f"{figures['n']} in {figures['wall_seconds']} s = {figures['wall_rate']}/s, "
            f"sustained {figures['sustained']}/s ({extra})")  # fmt: skip


def summarise(rounds, args, vendor, version):
    def median(what, key):
        return round(statistics.median(r[what][key] or 0 for r in rounds), 1)

    queue = median("queue", "sustained")
    ratio = round(statistics.median(r["ratio"] or 0 for r in rounds), 3)
    return {
        "database": vendor,
        "database_version": version,
        "broker": args.broker,
        "q_overrides": args.q,
        "db_overrides": args.db,
        "workers": args.workers,
        "cpus": os.cpu_count(),
        "n": args.abs,
        "rounds": rounds,
        "queue_sustained": queue,
        "queue_wall": median("queue", "wall_rate"),
        "plain_sustained": median("plain", "sustained"),
        "plain_wall": median("plain", "wall_rate"),
        "queue_cpu_ms": median("queue", "cluster_cpu_ms"),
        "plain_cpu_ms": median("plain", "cluster_cpu_ms"),
        "ratio": ratio,
        "ratios": [r["ratio"] for r in rounds],
        "targets_met": queue >= TARGET_RATE and ratio >= TARGET_RATIO,
    }


def _database_version(connection):
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version" if connection.vendor == "postgresql"
                       else "SELECT sqlite_version()")  # fmt: skip
        return cursor.fetchone()[0].split()[0]


def _profile(cluster, directory):
    """py-spy record of every process of the cluster (sentinel's children), in the background."""
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if spy is None:
        print("--profile: py-spy is not installed (pip install py-spy)", file=sys.stderr)
        return None
    directory.mkdir(parents=True, exist_ok=True)
    return [subprocess.Popen([spy, "record", "--pid", str(pid), "--rate", "250", "--idle",
                              "--format", "raw", "--nonblocking",
                              "--output", str(directory / f"cluster-{pid}.txt")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for pid in sentinel_children(cluster)]  # fmt: skip


def _stop_profile(profilers):
    for process in profilers:
        process.send_signal(2)  # SIGINT: py-spy writes its output and ends
    for process in profilers:
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


if __name__ == "__main__":
    main()
