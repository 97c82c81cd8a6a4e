"""Settings come from the environment; a misconfigured variable stops start-up by name."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOOD_KEY = "k" * 50


def start(env, code="import django; django.setup(); from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])"):
    """Start Django in a fresh process with exactly these Phoenix variables."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PHOENIX_", "DATABASE_URL",
                                                                    "SECRET_KEY", "ALLOWED_HOSTS"))}
    base["DJANGO_SETTINGS_MODULE"] = "phoenix_site.settings"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**base, **env},
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    "env, named",
    [
        ({}, "SECRET_KEY"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"SECRET_KEY": GOOD_KEY}, "ALLOWED_HOSTS"),
        ({"PHOENIX_DEBUG": "maybe"}, "PHOENIX_DEBUG"),
        ({"PHOENIX_DEBUG": "1", "DATABASE_URL": "mysql://root@localhost/phoenix"}, "DATABASE_URL"),
        ({"PHOENIX_DEBUG": "1", "DATABASE_URL": "postgres://postgres@127.0.0.1:5432"}, "DATABASE_URL"),
        ({"PHOENIX_DEBUG": "1", "PHOENIX_REDIS_URL": "http://127.0.0.1:6379"}, "PHOENIX_REDIS_URL"),
        ({"PHOENIX_DEBUG": "1", "PHOENIX_Q_TIMEOUT": "600", "PHOENIX_Q_RETRY": "610"}, "PHOENIX_Q_RETRY"),
        ({"PHOENIX_DEBUG": "1", "PHOENIX_Q_TIMEOUT": "ten"}, "PHOENIX_Q_TIMEOUT"),
        ({"PHOENIX_DEBUG": "1", "PHOENIX_Q_WORKERS": "0"}, "PHOENIX_Q_WORKERS"),
        ({"PHOENIX_DEBUG": "1", "PHOENIX_DATA_ROOT": "/etc/hostname"}, "PHOENIX_DATA_ROOT"),
        ({"PHOENIX_DEBUG": "1", "PHOENIX_LOG_LEVEL": "LOUD"}, "PHOENIX_LOG_LEVEL"),
    ],
)
def test_misconfiguration_names_the_variable(env, named):
    done = start(env)
    assert done.returncode != 0
    last_line = done.stderr.strip().splitlines()[-1]
    assert "ImproperlyConfigured" in last_line and named in last_line, done.stderr


def test_production_settings_start():
    done = start({"SECRET_KEY": GOOD_KEY, "ALLOWED_HOSTS": "phoenix.example.org"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "django.db.backends.sqlite3"


def test_postgres_url_selects_psycopg():
    code = ("import django; django.setup(); from django.conf import settings; "
            "d = settings.DATABASES['default']; print(d['ENGINE'], d['NAME'], d['HOST'], d['PORT'])")
    done = start({"PHOENIX_DEBUG": "1",
                  "DATABASE_URL": "postgres://phoenix@db.example.org:5433/phoenix"}, code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["django.db.backends.postgresql", "phoenix", "db.example.org", "5433"]


def test_redis_url_switches_broker_and_cache():
    code = ("import django; django.setup(); from django.conf import settings; "
            "print(settings.Q_CLUSTER.get('redis'), settings.Q_CLUSTER.get('orm'), "
            "settings.CACHES['default']['BACKEND'])")
    done = start({"PHOENIX_DEBUG": "1", "PHOENIX_REDIS_URL": "redis://127.0.0.1:6379/1"}, code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["redis://127.0.0.1:6379/1", "None",
                                   "django.core.cache.backends.redis.RedisCache"]


def test_embedded_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path):
    code = ("import django; django.setup(); from django.db import connection; "
            "c = connection.cursor(); c.execute('PRAGMA journal_mode'); print(c.fetchone()[0]); "
            "c.execute('PRAGMA busy_timeout'); print(c.fetchone()[0])")
    done = start({"PHOENIX_DEBUG": "1", "DATABASE_URL": f"sqlite:///{tmp_path}/phoenix.sqlite3"},
                 code)
    assert done.returncode == 0, done.stderr
    mode, timeout = done.stdout.split()
    assert mode == "wal" and int(timeout) >= 30000


def test_embedded_sqlite_keeps_its_connection_across_tasks(tmp_path):
    """django-q2's pusher, monitor and workers call close_old_connections around every task;
    the SQLite connection (and its PRAGMAs) stays, as PostgreSQL's does."""
    code = ("import django; django.setup(); from django.db import close_old_connections, "
            "connection; connection.ensure_connection(); first = connection.connection; "
            "close_old_connections(); connection.ensure_connection(); "
            "print(connection.connection is first)")
    done = start({"PHOENIX_DEBUG": "1", "DATABASE_URL": f"sqlite:///{tmp_path}/phoenix.sqlite3"},
                 code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"
