"""Header-import benchmark: `import_headers` (DB writes included) against a plain loop of
astropy.io.fits.getheader over the same files (single process, no DB), in one run.

    .venv/bin/python benchmarks/bench_import_headers.py [--files N]
        [--database URL] [--keep DIR]

It generates N FITS files with realistic ~1000-card ESO headers (benchmarks/eso_headers.py),
warms the page cache, times the astropy loop, imports into a fresh database (a temporary
SQLite file unless --database names a PostgreSQL server, whose database is dropped and
re-created), times a second import (all unchanged), and checks that every stored keyword
equals astropy's value for it. Prints one JSON line with the figures at the end.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument(
        "--database",
        help="postgres://…/DBNAME of a database the benchmark may wipe (created if missing; "
        "default: a temporary SQLite file)",
    )
    parser.add_argument("--keep", help="directory for the generated files (kept)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; medians are reported")
    args = parser.parse_args()

    work = Path(args.keep or tempfile.mkdtemp(prefix="phoenix-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    # Production settings: with DEBUG on, Django would record every SQL statement.
    os.environ["PHOENIX_DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", "benchmark-" + "x" * 40)
    os.environ.setdefault("ALLOWED_HOSTS", "localhost")
    os.environ["PHOENIX_LOG_LEVEL"] = "WARNING"
    os.environ["DATABASE_URL"] = args.database or f"sqlite:///{work}/bench.sqlite3"
    if args.database:
        _create_postgres_database(args.database)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "phoenix_site.settings")

    import django

    django.setup()
    from astropy.io import fits
    from django.core.management import call_command
    from django.db import connection

    from benchmarks.eso_headers import write_headers
    from processing.headers import oca_name
    from processing.models import Instance, RawFrame

    files_dir = work / "raw"
    files_dir.mkdir(exist_ok=True)
    paths = sorted(files_dir.glob("*.fits"))
    if len(paths) != args.files:
        for old in paths:
            old.unlink()
        started = time.perf_counter()
        paths = write_headers(files_dir, args.files)
        print(f"generated {len(paths)} files in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    cards = len(fits.getheader(paths[0]))
    for path in paths:  # warm the page cache for both contenders
        path.read_bytes()

    # Rounds alternate the two contenders so that a slow patch of the machine hits both.
    astropy_times, import_times, reimport_times = [], [], []
    for _round in range(args.repeat):
        started = time.perf_counter()
        for path in paths:
            fits.getheader(path)
        astropy_times.append(time.perf_counter() - started)

        _fresh_database(connection, call_command)
        call_command("load_instances", "NACO", stdout=open(os.devnull, "w"))
        started = time.perf_counter()
        call_command("import_headers", str(files_dir), stdout=open(os.devnull, "w"))
        import_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        call_command("import_headers", str(files_dir), stdout=open(os.devnull, "w"))
        reimport_times.append(time.perf_counter() - started)
    astropy_seconds = statistics.median(astropy_times)
    import_seconds = statistics.median(import_times)
    reimport_seconds = statistics.median(reimport_times)
    instance = Instance.objects.get(name="NACO")

    # --- identical keyword values ---
    prefixes = {"DPR", "TPL", "OBS", "INS", "DET", "SEQ", "OCS", "PRO", "QC",
                *instance.config["data_pool"]["keyword_prefixes"]}  # fmt: skip
    stored = dict(RawFrame.objects.values_list("arcfile", "keywords"))
    compared = mismatches = 0
    for path in paths:
        header = fits.getheader(path)
        keywords = stored[header["ARCFILE"]]
        for key in header:
            if key in {"COMMENT", "HISTORY", ""}:
                continue
            hierarch = " " in key
            name = oca_name(f"HIERARCH {key}" if hierarch else key)
            if hierarch and name.split(".")[0] not in prefixes:
                continue
            compared += 1
            if keywords.get(name, "<missing>") != header[key]:
                mismatches += 1

    result = {
        "files": len(paths),
        "cards_per_header": cards,
        "database": connection.vendor,
        "cpus": os.cpu_count(),
        "astropy_getheader_files_per_s": round(len(paths) / astropy_seconds, 1),
        "import_files_per_s": round(len(paths) / import_seconds, 1),
        "reimport_unchanged_files_per_s": round(len(paths) / reimport_seconds, 1),
        "ratio_import_vs_astropy": round(astropy_seconds / import_seconds, 2),
        "ratios_per_round": [round(a / i, 2) for a, i in zip(astropy_times, import_times)],
        "rounds": args.repeat,
        "keyword_values_compared": compared,
        "keyword_mismatches": mismatches,
    }
    print(
        f"{len(paths)} files, {cards} cards each, {connection.vendor}, {os.cpu_count()} CPUs, "
        f"median of {args.repeat} rounds\n"
        f"  astropy getheader loop : {result['astropy_getheader_files_per_s']:8.1f} files/s\n"
        f"  import_headers         : {result['import_files_per_s']:8.1f} files/s "
        f"(ratio {result['ratio_import_vs_astropy']}×; per round {result['ratios_per_round']})\n"
        f"  re-import (unchanged)  : {result['reimport_unchanged_files_per_s']:8.1f} files/s\n"
        f"  keyword values compared: {compared}, mismatches: {mismatches}"
    )
    print(json.dumps(result))
    return 1 if mismatches else 0


def _create_postgres_database(url):
    """Create the benchmark's PostgreSQL database if it does not exist yet."""
    import dj_database_url
    import psycopg

    config = dj_database_url.parse(url)
    with psycopg.connect(dbname="postgres", user=config["USER"] or None,
                         password=config["PASSWORD"] or None, host=config["HOST"] or None,
                         port=config["PORT"] or None, autocommit=True) as server:  # fmt: skip
        exists = server.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]]
        ).fetchone()
        if not exists:
            server.execute(f'CREATE DATABASE "{config["NAME"]}"')


def _fresh_database(connection, call_command):
    """Start from empty tables so the timed import creates every row."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    else:
        connection.close()
        Path(connection.settings_dict["NAME"]).unlink(missing_ok=True)
    call_command("migrate", verbosity=0)


if __name__ == "__main__":
    sys.exit(main())
