"""A real django-q2 cluster (separate process, the configured broker) runs Phoenix tasks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django_q.models import Schedule
from django_q.tasks import result

from processing.schedules import SCHEDULES, register_schedules
from tests.cluster import Cluster, cluster_env, redis_reachable
from tests.conftest import ON_CI

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(params=["orm", "redis"])
def q_cluster(request, transactional_db, tmp_path):
    """A qcluster process on the test database, with the ORM broker or with Redis."""
    redis_url = None
    if request.param == "redis":
        if not redis_reachable():
            if ON_CI:
                pytest.fail("Redis must be running on 127.0.0.1:6379 on CI", pytrace=False)
            pytest.skip("no Redis server on 127.0.0.1:6379")
        redis_url = "redis://127.0.0.1:6379/0"
    cluster = Cluster(cluster_env(tmp_path, workers=1, redis_url=redis_url),
                      tmp_path / "qcluster.log")  # fmt: skip
    yield cluster
    cluster.stop()


def enqueue(env, func):
    """Enqueue from a separate process configured like the cluster (same broker)."""
    code = f"from django_q.tasks import async_task; print(async_task({func!r}))"
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=60, check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def test_cluster_runs_a_task_through_the_broker(q_cluster):
    task_id = enqueue(q_cluster.env, "processing.tasks.heartbeat")
    outcome = result(task_id, wait=60_000)
    assert q_cluster.alive(), "the cluster died"
    assert outcome is not None, "the cluster did not run the task within 60 s"
    assert outcome["pid"] != os.getpid()
    assert outcome["host"]


def test_settings_keep_retry_above_timeout():
    q = settings.Q_CLUSTER
    assert q["retry"] >= q["timeout"] + 60
    assert ("orm" in q) != ("redis" in q)


@pytest.mark.django_db
def test_schedules_are_registered_once():
    register_schedules()
    register_schedules()
    for name, (func, minutes) in SCHEDULES.items():
        schedule = Schedule.objects.get(name=name)
        assert (schedule.func, schedule.minutes) == (func, minutes)
    assert Schedule.objects.count() == len(SCHEDULES)


@pytest.mark.django_db
def test_the_daily_housekeeping_deletes_only_old_failed_tasks(settings):
    from datetime import timedelta
    from uuid import uuid4

    from django.utils import timezone
    from django.utils.module_loading import import_string
    from django_q.models import Failure, Success, Task

    settings.PHOENIX_FAILED_TASK_DAYS = 30
    now = timezone.now()

    def task(days_ago, success):
        at = now - timedelta(days=days_ago)
        return Task.objects.create(id=uuid4().hex, name=uuid4().hex, func="processing.tasks.reap",
                                   started=at, stopped=at, success=success, result="boom")  # fmt: skip

    old, recent, kept = task(31, False), task(29, False), task(31, True)
    func, minutes = SCHEDULES["phoenix-housekeeping"]
    assert minutes == 24 * 60
    assert import_string(func)() == {"failed_tasks_deleted": 1}
    assert set(Failure.objects.values_list("pk", flat=True)) == {recent.pk}
    assert set(Success.objects.values_list("pk", flat=True)) == {kept.pk}
    assert not Task.objects.filter(pk=old.pk).exists()


def test_heartbeat_is_plain_data():
    from processing.tasks import heartbeat

    beat = heartbeat()
    assert set(beat) == {"host", "pid", "at"}
    assert beat["pid"] == os.getpid()
