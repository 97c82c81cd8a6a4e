"""Start a real django-q2 cluster (`manage.py qcluster`) on the test database.

Used by the queue tests, the processing tests and the fault test: the cluster is a separate
process with the same broker, database and data root as the test, as in production.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.db import connection

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


def _default_name(redis_url):
    """With the ORM broker the queue lives in the test database: the cluster takes this
    process's cluster name, so that tasks enqueued here reach it. Redis is shared by every
    test run on the machine: a fresh name keeps runs apart (enqueue from a process with the
    cluster's environment then)."""
    if redis_url:
        return f"phoenix-test-{uuid.uuid4().hex[:8]}"
    return settings.Q_CLUSTER["name"]


def cluster_env(data_root, workers=1, redis_url=None, name=None, **extra):
    """Environment of a cluster process on the test database."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "PHOENIX_DEBUG": "1",
        "PHOENIX_DATA_ROOT": str(data_root),
        "PHOENIX_Q_WORKERS": str(workers),
        "PHOENIX_Q_CLUSTER_NAME": name or _default_name(redis_url),
        **{key: str(value) for key, value in extra.items()},
    }
    env.pop("PHOENIX_REDIS_URL", None)
    if redis_url:
        env["PHOENIX_REDIS_URL"] = redis_url
    return env


class Cluster:
    """A running qcluster process; `stop()` ends it the way an operator would (SIGTERM)."""

    def __init__(self, env, log_path):
        self.env = env
        self.log_path = Path(log_path)
        self._log = open(self.log_path, "a")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env, stdout=self._log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    @property
    def pid(self):
        return self.process.pid

    def alive(self):
        return self.process.poll() is None

    def log(self):
        return self.log_path.read_text() if self.log_path.exists() else ""

    def stop(self, timeout=30):
        # SIGTERM to the sentinel only: it stops its workers itself.
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        self._log.close()


def wait_until(predicate, timeout, interval=0.2, what="the condition"):
    """Poll `predicate` until true; AssertionError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
