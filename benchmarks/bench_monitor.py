"""Dashboard benchmark (issue 6, point 6): the phoenixMonitor pages and the AB monitor with
1 000 000 ABs in the database, measured with the Django test client, against named baselines
in the same run.

    .venv/bin/python benchmarks/bench_monitor.py [--abs 1000000] [--requests 30]
        [--database postgres://postgres@127.0.0.1:5432/bench_monitor] [--keep DIR] [--reuse]

It seeds the data itself (prepared rows written with executemany, explicit ids): one NACO instance with N ABs spread over
the 2 922 nights of 2009–2016 (30 % CALIB, 70 % SCIENCE; 88 % succeeded, 4 % failed, 1 %
upstream failed, 1 % cancelled, 6 % created; 3 % incomplete, 5 % virtual; succeeded ABs 85 %
certified, 3 % rejected, 90 % of the certified moved), whose month 2012-06 holds 10 000 ABs,
2 000 of them on 2012-06-15. Every succeeded AB has its product (a master or a science
product); every moved SCIENCE AB an IDP (COADDED_IMG), its IdpConversion and a done
ingestion request; every moved CALIB AB a done ingestion request for its master. Raw frames:
3 per AB in 2012-06, 20 per night elsewhere. Then, logged in as an operator and a certifier
(the comment forms are drawn), it times ≥ 30 requests after 3 warm-ups of

- the **month page** of 2012-06 (10 000 ABs), and its polled table;
- the **instance page** (years × months grid and calendar over all 1 000 000 ABs);
- the **home page** (totals of every instance);
- the **AB monitor** of 2012-06-15 (2 000 ABs) — when it answers 200, else reported as not built;
- baselines: the **data pool page** (the same login, session and template machinery with two
  small queries), and the month's lines built **naively, one date at a time** (the same
  selector called per date, 6 queries per date) against the grouped selector (6 queries for
  the month), both without HTTP;
- the instance and home pages once more **without migration 0010's two indexes** (dropped,
  measured, made again);

and reports p50/p95/max server time and the SQL queries of one request of each. Production
settings (PHOENIX_DEBUG=0). Prints one JSON line with the figures at the end.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FIRST_NIGHT, LAST_NIGHT = date(2009, 1, 1), date(2016, 12, 31)
MONTH, MONTH_FIRST, MONTH_LAST = "2012-06", date(2012, 6, 1), date(2012, 6, 30)
BUSY_NIGHT = date(2012, 6, 15)
MONTH_ABS, BUSY_ABS = 10_000, 2_000
CHUNK = 20_000  # ABs seeded per transaction


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--abs", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=30, help="timed requests per page")
    parser.add_argument("--database", help="postgres://…/DBNAME of a database the benchmark "
                                           "may wipe (default: a SQLite file in --keep or a temp dir)")
    parser.add_argument("--keep", help="directory of the SQLite database (kept)")
    parser.add_argument("--reuse", action="store_true",
                        help="keep a database seeded by an earlier run with the same --abs")
    args = parser.parse_args()

    work = Path(args.keep or tempfile.mkdtemp(prefix="phoenix-bench-monitor-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ["PHOENIX_DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", "benchmark-" + "x" * 40)
    os.environ["ALLOWED_HOSTS"] = "testserver,localhost"
    os.environ["PHOENIX_LOG_LEVEL"] = "WARNING"
    os.environ["PHOENIX_DATA_ROOT"] = str(work / "data")
    os.environ["DATABASE_URL"] = args.database or f"sqlite:///{work}/bench_monitor.sqlite3"
    if args.database:
        from benchmarks.bench_import_headers import _create_postgres_database

        _create_postgres_database(args.database)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "phoenix_site.settings")

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from processing.models import AssociationBlock, Instance

    seeded = None
    if args.reuse:
        try:
            if AssociationBlock.objects.count() == args.abs:
                seeded = {"reused": True}
                call_command("migrate", verbosity=0)  # indexes added since the seeding
                analyze(connection)
        except Exception:  # noqa: BLE001 - no tables yet: seed
            connection.close()
    if seeded is None:
        from benchmarks.bench_import_headers import _fresh_database

        _fresh_database(connection, call_command)
        call_command("load_instances", "NACO", stdout=open(os.devnull, "w"))
        started = time.perf_counter()
        seeded = seed(Instance.objects.get(name="NACO"), args.abs)
        seeded["seconds"] = round(time.perf_counter() - started, 1)
        analyze(connection)
    print(f"seeded: {json.dumps(seeded)}", file=sys.stderr)
    load = os.getloadavg()[0]
    figures = measure(args.requests)
    figures.update(without_monitor_indexes(args.requests))
    figures.update(database=connection.vendor, abs=args.abs, seeded=seeded,
                   load_1min=[round(load, 1), round(os.getloadavg()[0], 1)])  # fmt: skip
    print(json.dumps(figures))


def _night_sizes(total):
    """{night: ABs}: MONTH gets MONTH_ABS (BUSY_ABS on BUSY_NIGHT), the rest share the others."""
    nights = [FIRST_NIGHT + timedelta(days=n) for n in range((LAST_NIGHT - FIRST_NIGHT).days + 1)]
    month = [n for n in nights if MONTH_FIRST <= n <= MONTH_LAST]
    others = [n for n in nights if not MONTH_FIRST <= n <= MONTH_LAST]
    sizes = {}
    quiet = [n for n in month if n != BUSY_NIGHT]
    rest = MONTH_ABS - BUSY_ABS
    for index, night in enumerate(quiet):
        sizes[night] = rest // len(quiet) + (index < rest % len(quiet))
    sizes[BUSY_NIGHT] = BUSY_ABS
    left = total - MONTH_ABS
    for index, night in enumerate(others):
        sizes[night] = left // len(others) + (index < left % len(others))
    return dict(sorted(sizes.items()))


#: per 100 ABs: the status of AB number n is _STATUS[n % 100]
_STATUS = (["success"] * 88 + ["failed"] * 4 + ["upstream_failed"] + ["cancelled"]
           + ["created"] * 6)  # fmt: skip


class _Rows:
    """Fast inserts of one model: rows as tuples in column order, every column not given
    holding the model's default (computed once), written with executemany — seeding 1 000 000
    ABs through Model() and bulk_create would spend minutes in Python alone."""

    def __init__(self, model):
        from django.db import connection

        self.model, self.connection = model, connection
        fields = list(model._meta.concrete_fields)
        blank = model()
        self.fields = {field.attname: field for field in fields}
        self.index = {field.attname: number for number, field in enumerate(fields)}
        self.template = [field.get_db_prep_save(field.pre_save(blank, True), connection)
                         for field in fields]  # fmt: skip
        quote = connection.ops.quote_name
        self.sql = (f"INSERT INTO {quote(model._meta.db_table)} "
                    f"({', '.join(quote(field.column) for field in fields)}) "
                    f"VALUES ({', '.join(['%s'] * len(fields))})")  # fmt: skip
        self.rows, self.count = [], 0

    def add(self, **values):
        row = list(self.template)
        for name, value in values.items():
            row[self.index[name]] = self.fields[name].get_db_prep_save(value, self.connection)
        self.rows.append(row)

    def flush(self):
        with self.connection.cursor() as cursor:
            for start in range(0, len(self.rows), 5000):
                cursor.executemany(self.sql, self.rows[start:start + 5000])
        self.count += len(self.rows)
        self.rows = []


def seed(instance, total):
    """Write the ABs and what hangs off them; returns the row counts."""
    from django.db import connection, transaction

    from processing.conventions import night_bounds_mjd
    from processing.models import (
        AssociationBlock,
        IdpConversion,
        IngestRequest,
        Product,
        RawFrame,
    )

    with connection.cursor() as cursor:  # seeding only: a crash just means seeding again
        cursor.execute("PRAGMA synchronous=OFF" if connection.vendor == "sqlite"
                       else "SET synchronous_commit TO off")  # fmt: skip
    tables = {name: _Rows(model) for name, model in (
        ("abs", AssociationBlock), ("products", Product), ("conversions", IdpConversion),
        ("ingest_requests", IngestRequest), ("raw_frames", RawFrame))}  # fmt: skip
    abs_, products, conversions = tables["abs"], tables["products"], tables["conversions"]
    ingests, raw_frames = tables["ingest_requests"], tables["raw_frames"]
    moved_at = datetime(2017, 1, 1, tzinfo=timezone.utc)
    ids = dict.fromkeys(tables, 0)

    def next_id(table):
        ids[table] += 1
        return ids[table]

    def flush():
        with transaction.atomic():
            for rows in tables.values():
                rows.flush()

    for night, size in _night_sizes(total).items():
        start = night_bounds_mjd(night)[0]
        frames = 3 * size if MONTH_FIRST <= night <= MONTH_LAST else 20
        for number in range(frames):
            raw_frames.add(id=next_id("raw_frames"), arcfile=f"NACO.{night}T{number:06d}.fits",
                           instrument="NACO", night=night, mjd_obs=start + number / (frames + 1),
                           dpr_catg="SCIENCE", header_digest=f"{night:%Y%m%d}{number:032d}")  # fmt: skip
        for number in range(size):
            ab_id = next_id("abs")
            calib = ab_id % 10 < 3
            status = _STATUS[(ab_id * 37) % 100]
            success = status == "success"
            certification = ""
            if success:
                roll = (ab_id * 53) % 100
                certification = "certified" if roll < 85 else "rejected" if roll < 88 else ""
            moved = certification == "certified" and (ab_id * 71) % 10 != 0
            mjd = start + 0.5 * number / size
            abs_.add(
                id=ab_id, instance_id=instance.pk, ab_name=f"NACO.{night}.{number:05d}.ab",
                batch_label=f"{'CALIB' if calib else 'SCIENCE'}_{night}",
                category="CALIB" if calib else "SCIENCE", night=night,
                raw_type="DARK" if calib else "SCIENCE_IMG",
                action="naco_img_dark" if calib else "naco_img_jitter",
                recipe="naco_img_dark" if calib else "naco_img_jitter", mjd_obs=mjd,
                mjd_obs_mod=mjd, prod_root_name=f"r.NACO.{ab_id}",
                completeness="INCOMPLETE" if ab_id % 33 == 0 else "COMPLETE",
                virtual=ab_id % 20 == 0, status=status, certification=certification,
                moved_at=moved_at if moved else None,
                exec_seconds=5.0 + (ab_id * 13) % 200 if status in ("success", "failed") else None,
            )  # fmt: skip
            if not success:
                continue
            main_id = next_id("products")
            products.add(
                id=main_id, instance_id=instance.pk, ab_id=ab_id,
                name=f"NA_{'MDRK' if calib else 'SIMG'}_{ab_id}.fits", path=f"/d/{ab_id}.fits",
                pro_catg="NACO_IMG_DARK_AVG" if calib else "COADDED_IMG",
                kind="master" if calib else "science",
                state="moved" if moved else "certified" if certification == "certified" else "virtual",
                night=night, mjd_obs=mjd,
            )  # fmt: skip
            ingested = main_id
            if moved and not calib:
                ingested = next_id("products")
                products.add(
                    id=ingested, instance_id=instance.pk, ab_id=ab_id, name=f"NA_SIMG_{ab_id}.fits",
                    path=f"/d/idp/{ab_id}.fits", pro_catg="COADDED_IMG", kind="idp",
                    state="ingested", night=night, mjd_obs=mjd, source_id=main_id,
                )  # fmt: skip
                conversions.add(id=next_id("conversions"), product_id=main_id, idp_id=ingested,
                                status="ok", actor_name="bench")  # fmt: skip
            if moved:
                ingests.add(id=next_id("ingest_requests"), instance_id=instance.pk,
                            product_id=ingested, key=f"{ab_id}:{ingested}", night=night,
                            status="done", actor_name="bench")  # fmt: skip
        if len(abs_.rows) >= CHUNK:
            flush()
            print(f"  {ab_id} ABs", file=sys.stderr, end="\r")
    flush()
    _reset_sequences([model for model in (AssociationBlock, Product, IdpConversion,
                                          IngestRequest, RawFrame)])  # fmt: skip
    return {name: rows.count for name, rows in tables.items()}


def _reset_sequences(models):
    """Explicit ids were written: move PostgreSQL's sequences past them."""
    from django.core.management.color import no_style
    from django.db import connection

    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), models):
            cursor.execute(sql)


def analyze(connection):
    """Planner statistics (and PostgreSQL's visibility map, for index-only scans)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM ANALYZE")
        else:
            cursor.execute("ANALYZE")


def _percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def _timed(call, requests):
    for _ in range(3):
        call()
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": round(statistics.median(times), 1), "p95_ms": round(_percentile(times, 0.95), 1),
            "max_ms": round(max(times), 1)}  # fmt: skip


def _queries(call):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured)


def measure(requests):
    from django.contrib.auth.models import Group, User
    from django.test import Client
    from django.urls import reverse

    from monitor.selectors import overview as selectors
    from processing.models import Instance

    user, _ = User.objects.get_or_create(username="bench-operator")
    user.groups.set(Group.objects.filter(name__in=["viewer", "operator", "certifier"]))
    client = Client()
    client.force_login(user)
    htmx = {"HTTP_HX_REQUEST": "true"}
    pages = {
        "month page (10 000 ABs)": (reverse("monitor:month", args=["NACO", MONTH]), {}),
        "month table, polled": (reverse("monitor:month_table", args=["NACO", MONTH]), htmx),
        "instance page (1 000 000 ABs)": (reverse("monitor:instance", args=["NACO"]), {}),
        "home": (reverse("monitor:home"), {}),
        "AB monitor (2 000 ABs)": (reverse("monitor:date", args=["NACO", BUSY_NIGHT.isoformat()]), {}),
        "baseline: data pool page": (reverse("monitor:pool"), {}),
    }
    figures = {}
    for name, (url, headers) in pages.items():
        status = client.get(url, **headers).status_code
        if status not in (200, 286):
            figures[name] = {"status": status, "note": "not built yet" if status == 501 else "error"}
            print(f"{name}: HTTP {status}", file=sys.stderr)
            continue
        figures[name] = {**_timed(lambda: client.get(url, **headers), requests),
                         "queries": _queries(lambda: client.get(url, **headers)), "status": status}  # fmt: skip
        print(f"{name}: {figures[name]}", file=sys.stderr)

    instance = selectors.instance_named("NACO")
    settings = selectors.MonitorSettings.of(instance)
    nights = [MONTH_FIRST + timedelta(days=n) for n in range((MONTH_LAST - MONTH_FIRST).days + 1)]

    def grouped():
        return selectors.date_lines(instance, MONTH_FIRST, MONTH_LAST, settings)

    def naive():
        return [selectors.date_lines(instance, night, night, settings) for night in nights]

    assert sum(lines[1].total for lines in naive()) == grouped()[1].total == 10_000
    for name, call in (("month lines, grouped (selector only)", grouped),
                       ("baseline: month lines one date at a time (selector only)", naive)):
        figures[name] = {**_timed(call, requests), "queries": _queries(call)}
        print(f"{name}: {figures[name]}", file=sys.stderr)
    assert Instance.objects.count() == 1
    return figures


def without_monitor_indexes(requests):
    """The instance and home pages again with migration 0010's indexes dropped (then made
    again): what they bought, in the same run."""
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from processing.models import AssociationBlock

    indexes = [index for index in AssociationBlock._meta.indexes
               if index.name in ("ab_monitor_night", "ab_monitor_totals")]  # fmt: skip
    client = Client()
    client.force_login(User.objects.get(username="bench-operator"))
    with connection.schema_editor() as editor:
        for index in indexes:
            editor.remove_index(AssociationBlock, index)
    analyze(connection)
    figures = {}
    try:
        for name, url in (("instance page, without the monitor indexes", reverse("monitor:instance", args=["NACO"])),
                          ("home, without the monitor indexes", reverse("monitor:home"))):  # fmt: skip
            figures[name] = _timed(lambda: client.get(url), requests)
            print(f"{name}: {figures[name]}", file=sys.stderr)
    finally:
        with connection.schema_editor() as editor:
            for index in indexes:
                editor.add_index(AssociationBlock, index)
        analyze(connection)
    return figures


if __name__ == "__main__":
    sys.exit(main())
