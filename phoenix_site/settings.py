"""Phoenix settings: everything that differs between machines comes from the environment.

Variables (see docs/CONFIGURATION.md):
  PHOENIX_DEBUG, SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL, PHOENIX_DATA_ROOT,
  PHOENIX_REDIS_URL, PHOENIX_Q_WORKERS, PHOENIX_Q_TIMEOUT, PHOENIX_Q_RETRY, PHOENIX_LOG_LEVEL,
  PHOENIX_LEASE_SECONDS, PHOENIX_HEARTBEAT_SECONDS, PHOENIX_MAX_ATTEMPTS, PHOENIX_WORK_KEEP_DAYS,
  PHOENIX_FAILED_TASK_DAYS, PHOENIX_HOST_NAME, PHOENIX_ARCHIVE_ROOT.
"""

import socket
from pathlib import Path

import plotly
from django.core.exceptions import ImproperlyConfigured

from phoenix_site.env import (
    env_bool,
    env_database,
    env_int,
    env_list,
    env_path,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

DEBUG = env_bool("PHOENIX_DEBUG", default=False)

SECRET_KEY = env_str("SECRET_KEY")
if SECRET_KEY is None:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set; it is required when PHOENIX_DEBUG is off "
            "(set PHOENIX_DEBUG=1 for a development default)"
        )
    SECRET_KEY = "phoenix-development-only-secret-key-do-not-use-in-production"
elif len(SECRET_KEY) < 32 and not DEBUG:
    raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters long")

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS is empty; set it to the comma-separated host names of this server"
    )
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

DATABASES = {"default": env_database("DATABASE_URL", VAR_DIR / "phoenix.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The DFOS directory tree (raw/<date>, hdr/<date>, work/, cal/, sci/, plt/, log/, archive/).
PHOENIX_DATA_ROOT = env_path("PHOENIX_DATA_ROOT", "var/data", BASE_DIR)
PHOENIX_INSTANCES_DIR = env_path(
    "PHOENIX_INSTANCES_DIR", BASE_DIR / "processing" / "instances", BASE_DIR
)
# The archive store ingestion copies products into. Unset: PHOENIX_DATA_ROOT/archive, resolved
# when used (processing/archive/store.py), so it follows the data root; set it to put the
# archive on a volume of its own.
PHOENIX_ARCHIVE_ROOT = (env_path("PHOENIX_ARCHIVE_ROOT", None, BASE_DIR)
                        if env_str("PHOENIX_ARCHIVE_ROOT") else None)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_q",
    "processing",
    "monitor",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # every page needs a login; only the login page itself is exempt (login_not_required)
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "phoenix_site.urls"
WSGI_APPLICATION = "phoenix_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "monitor:home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"  # ESO operations and DFO dates are in UT.
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
# plotly.js comes with the plotly package: served from there, no CDN (the pages work offline).
STATICFILES_DIRS = [BASE_DIR / "static", ("plotly", Path(plotly.__file__).parent / "package_data")]
# collectstatic target for production (served by WhiteNoise); in debug, files come from the
# finders and there is nothing to collect.
STATIC_ROOT = None if DEBUG else env_path("PHOENIX_STATIC_ROOT", "var/staticfiles", BASE_DIR)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = True

# --- queue -------------------------------------------------------------------------------
# django-q2 delivers at least once: a task not acknowledged within `retry` seconds is handed
# out again. `timeout` must end a task well before that happens, so retry exceeds timeout by
# a margin that covers the time a task waits in a cluster's internal queue.
PHOENIX_REDIS_URL = env_str("PHOENIX_REDIS_URL")
if PHOENIX_REDIS_URL and not PHOENIX_REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured(
        f"PHOENIX_REDIS_URL={PHOENIX_REDIS_URL!r} is not a redis:// , rediss:// or unix:// URL"
    )
Q_TIMEOUT = env_int("PHOENIX_Q_TIMEOUT", 3600, minimum=10)
Q_RETRY = env_int("PHOENIX_Q_RETRY", Q_TIMEOUT + max(300, Q_TIMEOUT // 5), minimum=20)
Q_RETRY_MARGIN = 60
if Q_RETRY < Q_TIMEOUT + Q_RETRY_MARGIN:
    raise ImproperlyConfigured(
        f"PHOENIX_Q_RETRY={Q_RETRY} must exceed PHOENIX_Q_TIMEOUT={Q_TIMEOUT} by at least "
        f"{Q_RETRY_MARGIN} s, otherwise django-q2 hands a still-running task out again"
    )

Q_CLUSTER = {
    "name": env_str("PHOENIX_Q_CLUSTER_NAME", "phoenix"),
    "workers": env_int("PHOENIX_Q_WORKERS", 2, minimum=1),
    "timeout": Q_TIMEOUT,
    "retry": Q_RETRY,
    "max_attempts": 3,
    "ack_failures": True,
    # Task results are transport (AB state lives in Phoenix's tables); saving one makes the
    # monitor load every saved success to prune the oldest, in a locking transaction, so a
    # short list keeps each save cheap (benchmarks/bench_queue.py, docs/BENCHMARKS.md).
    "save_limit": 100,
    # A new worker starts a new recipe zygote at its first Python AB (~0.7 s to import the
    # NACO recipes' numpy and astropy); the recipes run in the zygote's children, so the
    # worker itself grows little between recycles.
    "recycle": 1000,
    "queue_limit": 8,
    "catch_up": False,
    "poll": 0.5,
    "label": "Queue (django-q2)",
}
if PHOENIX_REDIS_URL:
    Q_CLUSTER["redis"] = PHOENIX_REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# An attempt at an AB holds a lease that its worker renews every PHOENIX_HEARTBEAT_SECONDS
# while the recipe runs; the reaper (every minute) re-queues ABs whose lease expired, up to
# PHOENIX_MAX_ATTEMPTS attempts. Work directories of failed attempts are kept this many days.
PHOENIX_HEARTBEAT_SECONDS = env_int("PHOENIX_HEARTBEAT_SECONDS", 10, minimum=1)
PHOENIX_LEASE_SECONDS = env_int("PHOENIX_LEASE_SECONDS", 60, minimum=2)
if PHOENIX_LEASE_SECONDS < 2 * PHOENIX_HEARTBEAT_SECONDS:
    raise ImproperlyConfigured(
        f"PHOENIX_LEASE_SECONDS={PHOENIX_LEASE_SECONDS} must be at least twice "
        f"PHOENIX_HEARTBEAT_SECONDS={PHOENIX_HEARTBEAT_SECONDS}: one late heartbeat must not "
        "cost a running AB its lease"
    )
PHOENIX_MAX_ATTEMPTS = env_int("PHOENIX_MAX_ATTEMPTS", 3, minimum=1)
PHOENIX_WORK_KEEP_DAYS = env_int("PHOENIX_WORK_KEEP_DAYS", 7, minimum=0)
# django-q2 keeps a failed task's row (its traceback) forever; the daily housekeeping does not
PHOENIX_FAILED_TASK_DAYS = env_int("PHOENIX_FAILED_TASK_DAYS", 30, minimum=1)
PHOENIX_HOST_NAME = env_str("PHOENIX_HOST_NAME") or socket.gethostname()

# django-q2 keeps cluster statistics in the cache; it must be shared between processes.
if PHOENIX_REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": PHOENIX_REDIS_URL,
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "phoenix_cache",
        }
    }

# --- logging -----------------------------------------------------------------------------
LOG_LEVEL = env_str("PHOENIX_LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(f"PHOENIX_LOG_LEVEL={LOG_LEVEL!r} is not a logging level")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "processing": {"level": LOG_LEVEL},
        "monitor": {"level": LOG_LEVEL},
        "django-q": {"level": LOG_LEVEL},
    },
}

if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("PHOENIX_SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"
