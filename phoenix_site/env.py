"""Tiny helpers that read settings from the environment.

Every helper raises ImproperlyConfigured with the variable's name and the reason, so a
misconfigured deployment stops at start-up with a message an operator can act on instead of
failing later in a worker.
"""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_str(name, default=None):
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip()


def env_bool(name, default=False):
    value = env_str(name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={value!r} is not a boolean: use one of {sorted(_TRUE | _FALSE)}"
    )


def env_int(name, default, minimum=None):
    value = env_str(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} must be at least {minimum}")
    return number


def env_list(name, default=()):
    value = env_str(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_path(name, default, base):
    """A directory path; relative paths are taken relative to `base` (the project root)."""
    value = env_str(name)
    path = Path(value) if value is not None else Path(default)
    if not path.is_absolute():
        path = base / path
    if path.exists() and not path.is_dir():
        raise ImproperlyConfigured(f"{name}={str(path)!r} exists but is not a directory")
    return path


#: seconds a database connection is kept for the next request or task (SQLite and PostgreSQL)
CONN_MAX_AGE = 60


def env_database(name, default_sqlite_path):
    """Parse DATABASE_URL into a Django DATABASES entry.

    Only SQLite and PostgreSQL are supported: those are the two databases the suite runs on.
    The embedded SQLite default runs in WAL mode with a busy timeout and IMMEDIATE
    transactions, so the web process and the q2 cluster can share the file without
    "database is locked" errors on concurrent writes.
    """
    import dj_database_url

    url = env_str(name)
    if url is None:
        return sqlite_database(default_sqlite_path)
    scheme = url.split(":", 1)[0].lower()
    if scheme in {"sqlite"}:
        try:
            config = dj_database_url.parse(url)
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name}: cannot parse {url!r}: {exc}") from None
        return sqlite_database(Path(config["NAME"]))
    if scheme not in {"postgres", "postgresql", "pgsql"}:
        raise ImproperlyConfigured(
            f"{name}={url!r}: unsupported database scheme {scheme!r}; "
            "use postgres://user@host:port/name or sqlite:////absolute/path"
        )
    try:
        config = dj_database_url.parse(url, conn_max_age=CONN_MAX_AGE, conn_health_checks=True)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}: cannot parse {url!r}: {exc}") from None
    if not config.get("NAME"):
        raise ImproperlyConfigured(f"{name}={url!r} names no database (…/dbname)")
    config["ENGINE"] = "django.db.backends.postgresql"
    return config


def sqlite_database(path):
    """Django settings for an SQLite file; its directory is created (var/ on a fresh clone)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ImproperlyConfigured(
            f"DATABASE_URL: cannot create the directory of the SQLite file {path}: {exc.strerror}"
        ) from None
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path,
        # Kept between requests and tasks, as on PostgreSQL: django-q2's pusher, monitor and
        # workers close their connection around every task, and a new SQLite connection costs
        # its PRAGMAs (WAL) — a third of the cluster's CPU per AB (docs/BENCHMARKS.md).
        "CONN_MAX_AGE": CONN_MAX_AGE,
        "OPTIONS": {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": (
                "PRAGMA journal_mode=WAL;"
                "PRAGMA synchronous=NORMAL;"
                "PRAGMA busy_timeout=30000;"
                "PRAGMA foreign_keys=ON;"
            ),
        },
        # one test database per test run (process id): two runs on one machine (a developer's
        # and CI's, or parallel checks) must not share, and so corrupt, one SQLite file
        "TEST": {"NAME": path.with_name(f"test_{os.getpid()}_{path.name}")},
    }
