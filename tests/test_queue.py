"""A real django-q2 cluster (separate process, the configured broker) runs Phoenix tasks."""

import os
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django_q.models import Schedule
from django_q.tasks import result

from processing.schedules import SCHEDULES, register_schedules
from tests.conftest import ON_CI

ROOT = Path(__file__).resolve().parent.parent


def database_url():
    """The URL of the test database this test process uses, for the cluster process."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def redis_reachable():
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(params=["orm", "redis"])
def q_cluster(request, transactional_db, tmp_path):
    """A qcluster process on the test database, with the ORM broker or with Redis."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "PHOENIX_DEBUG": "1",
        "PHOENIX_DATA_ROOT": str(tmp_path),
        "PHOENIX_Q_WORKERS": "1",
        "PHOENIX_Q_CLUSTER_NAME": f"phoenix-test-{uuid.uuid4().hex[:8]}",
    }
    env.pop("PHOENIX_REDIS_URL", None)
    if request.param == "redis":
        if not redis_reachable():
            if ON_CI:
                pytest.fail("Redis must be running on 127.0.0.1:6379 on CI", pytrace=False)
            pytest.skip("no Redis server on 127.0.0.1:6379")
        env["PHOENIX_REDIS_URL"] = "redis://127.0.0.1:6379/0"
    log = open(tmp_path / "qcluster.log", "w")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env, stdout=log,
        stderr=subprocess.STDOUT, start_new_session=True,
    )
    process.env = env
    yield process
    # SIGTERM to the sentinel only: it stops its workers itself (a signal to the whole
    # group kills them under it and it waits in vain).
    process.terminate()
    try:
        process.wait(timeout=30)
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()
        log.close()


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
    assert q_cluster.poll() is None, "the cluster died"
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


def test_heartbeat_is_plain_data():
    from processing.tasks import heartbeat

    beat = heartbeat()
    assert set(beat) == {"host", "pid", "at"}
    assert beat["pid"] == os.getpid()
