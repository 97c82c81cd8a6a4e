"""Ingestion benchmark: queue_ingestion + ingest_requests (idempotency included) against a
plain copy of the same files (shutil.copy + md5), in one run.

    .venv/bin/python benchmarks/bench_ingest.py [--products N] [--idp-share F]
        [--ingesters K] [--database URL] [--keep DIR] [--repeat R]

It writes N small products (16×16 master calibrations with CHECKSUM/DATASUM, and a share
of Phase 3-valid IDPs from tests/phase3_builder.py) and registers them as -M leaves them.
Each round, on a fresh database and an empty archive store, it times

- **baseline**: `shutil.copy` of every file into a directory plus the md5 of the copy;
- a second baseline, **durable copy**: the same plus fsync of each copy and of its
  directory (what ingestion does so that a record never names a file a crash can lose);
- **ingestion**: queue every product (in batches of 100, as -M queues per AB batch), queue
  them all again (each one a duplicate: counted, not queued), execute the requests
  (ingest_requests: claim, copy with md5 + fsync, checks, ArchiveRecord with ADP id) — the
  masters, then the IDPs, timed apart; with --ingesters K > 1, K `manage.py ingest_products`
  processes at once instead, as q2 workers would — then run the ingestion once more
  (nothing left to do);

and reports medians. Afterwards it checks that every product has one request executed once,
one record with a unique ADP id, and an archived file with the product's md5. Prints one
JSON line with the figures at the end.
"""

import argparse
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NIGHT = date(2009, 6, 15)
BATCH = 100


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--idp-share", type=float, default=0.25,
                        help="fraction of the products that are IDPs (Phase 3 validated)")
    parser.add_argument("--ingesters", type=int, default=1,
                        help="ingest with this many processes at once (default: in-process)")
    parser.add_argument("--database", help="postgres://…/DBNAME of a database the benchmark "
                                           "may wipe (default: a temporary SQLite file)")
    parser.add_argument("--keep", help="directory for the generated files (kept)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; medians are reported")
    args = parser.parse_args()

    work = Path(args.keep or tempfile.mkdtemp(prefix="phoenix-bench-ingest-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ["PHOENIX_DEBUG"] = "0"  # with DEBUG on, Django would record every statement
    os.environ.setdefault("SECRET_KEY", "benchmark-" + "x" * 40)
    os.environ.setdefault("ALLOWED_HOSTS", "localhost")
    os.environ["PHOENIX_LOG_LEVEL"] = "WARNING"
    os.environ["PHOENIX_DATA_ROOT"] = str(work / "data")
    os.environ.pop("PHOENIX_ARCHIVE_ROOT", None)
    os.environ["DATABASE_URL"] = args.database or f"sqlite:///{work}/bench.sqlite3"
    if args.database:
        from benchmarks.bench_import_headers import _create_postgres_database

        _create_postgres_database(args.database)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "phoenix_site.settings")

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from benchmarks.bench_import_headers import _fresh_database
    from processing.archive import ingest_requests, queue_ingestion
    from processing.archive.store import archive_root
    from processing.models import ArchiveRecord, IngestRequest, Instance, Product

    files = _write_products(work / "data", args.products, args.idp_share)
    baseline_times, durable_times, ingest_times, phases = [], [], [], []
    for _round in range(args.repeat):
        copies = work / "copies"
        shutil.rmtree(copies, ignore_errors=True)
        copies.mkdir()
        _warm(files)
        started = time.perf_counter()
        for path, _kind in files:
            target = shutil.copy(path, copies)
            hashlib.md5(Path(target).read_bytes()).hexdigest()
        baseline_times.append(time.perf_counter() - started)
        shutil.rmtree(copies)
        copies.mkdir()
        _warm(files)
        started = time.perf_counter()
        for path, _kind in files:
            target = shutil.copy(path, copies)
            hashlib.md5(Path(target).read_bytes()).hexdigest()
            _fsync(target)
            _fsync(copies)
        durable_times.append(time.perf_counter() - started)

        _fresh_database(connection, call_command)
        shutil.rmtree(archive_root(), ignore_errors=True)
        call_command("load_instances", "NACO", stdout=open(os.devnull, "w"))
        instance = Instance.objects.get(name="NACO")
        products = _register(Product, instance, files)
        _warm(files)
        marks = [time.perf_counter()]
        for start in range(0, len(products), BATCH):
            queue_ingestion(products[start:start + BATCH], actor_name="bench")
        marks.append(time.perf_counter())
        again = queue_ingestion(products, actor_name="bench")
        marks.append(time.perf_counter())
        if args.ingesters > 1:
            _ingest_in_processes(args.ingesters)
            marks.append(time.perf_counter())
            masters = first = ingest_requests(actor_name="bench")  # must find nothing left
            assert not first.entries, "the ingesters left requests open"
        else:
            masters = ingest_requests(IngestRequest.objects.filter(product__kind="master"),
                                      actor_name="bench")  # fmt: skip
            marks.append(time.perf_counter())
            first = ingest_requests(actor_name="bench")
        marks.append(time.perf_counter())
        second = ingest_requests(actor_name="bench")
        marks.append(time.perf_counter())
        ingest_times.append(marks[-1] - marks[0])
        phases.append([b - a for a, b in zip(marks, marks[1:])])
        assert again.duplicates == len(products) and not second.entries, "idempotency broken"
        assert masters.ok and first.ok, [e for e in masters.entries + first.entries
                                          if e.outcome != "ingested"][:3]  # fmt: skip

    # --- every product once, unique ADP ids, archived bytes identical ---
    requests = IngestRequest.objects.all()
    records = list(ArchiveRecord.objects.values_list("adp_id", "md5", "path", "product__md5"))
    problems = []
    if requests.count() != len(files) or set(requests.values_list("status", "attempts",
                                                                  "duplicates")) != {("done", 1, 1)}:
        problems.append("requests are not all done once with one duplicate")
    if len({r[0] for r in records}) != len(records) or len(records) != len(files):
        problems.append("ADP ids are not one per product and unique")
    if any(md5 != product_md5 or _md5(path) != md5 for _adp, md5, path, product_md5 in records):
        problems.append("an archived file differs from its product")

    baseline = statistics.median(baseline_times)
    durable = statistics.median(durable_times)
    ingestion = statistics.median(ingest_times)
    phase = [statistics.median(p[i] for p in phases) for i in range(5)]
    idps = sum(1 for _path, kind in files if kind == "idp")
    masters = len(files) - idps
    result = {
        "products": len(files), "idps": idps, "database": connection.vendor,
        "cpus": os.cpu_count(), "rounds": args.repeat,
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
        "baseline_copy_md5_per_s": round(len(files) / baseline, 1),
        "durable_copy_md5_fsync_per_s": round(len(files) / durable, 1),
        "ingestion_products_per_s": round(len(files) / ingestion, 1),
        "ratio_ingestion_vs_copy": round(baseline / ingestion, 3),
        "ratio_ingestion_vs_durable_copy": round(durable / ingestion, 3),
        "ingesters": args.ingesters,
        "masters_per_s": round(masters / phase[2], 1) if masters and args.ingesters == 1 else None,
        "idps_per_s": round(idps / phase[3], 1) if idps and args.ingesters == 1 else None,
        "seconds": {"queue": round(phase[0], 2), "queue_again": round(phase[1], 2),
                    "ingest_masters": round(phase[2], 2), "ingest_idps": round(phase[3], 2),
                    "ingest_again": round(phase[4], 2)},
        "per_round_products_per_s": [round(len(files) / t, 1) for t in ingest_times],
        "problems": problems,
    }  # fmt: skip
    print(
        f"{len(files)} products ({idps} IDPs), {connection.vendor}, {os.cpu_count()} CPUs, "
        f"median of {args.repeat} rounds\n"
        f"  shutil.copy + md5        : {result['baseline_copy_md5_per_s']:8.1f} files/s\n"
        f"  + fsync file and dir     : {result['durable_copy_md5_fsync_per_s']:8.1f} files/s\n"
        f"  queue ×2 + ingest ×2     : {result['ingestion_products_per_s']:8.1f} products/s "
        f"(per round {result['per_round_products_per_s']})\n"
        f"    queue {phase[0]:.2f} s, queue again {phase[1]:.2f} s, "
        + (f"ingest by {args.ingesters} processes {phase[2]:.2f} s, " if args.ingesters > 1 else
           f"ingest masters {phase[2]:.2f} s ({result['masters_per_s']}/s), IDPs "
           f"{phase[3]:.2f} s ({result['idps_per_s']}/s), ")
        + f"ingest again {phase[4]:.2f} s\n"
        f"  checks: {'; '.join(problems) or 'every product once, unique ADP ids, same bytes'}"
    )
    print(json.dumps(result))
    return 1 if problems else 0


def _write_products(root, count, idp_share):
    """(path, kind) of `count` products: masters in cal/<night>, IDPs in sci/<night>/idp."""
    from tests.archive_factories import write_fits
    from tests.phase3_builder import build

    idps = round(count * idp_share)
    masters = root / "cal" / NIGHT.isoformat()
    science = root / "sci" / NIGHT.isoformat() / "idp"
    science.mkdir(parents=True, exist_ok=True)
    files = []
    image = build("SCIENCE.IMAGE")
    for number in range(idps):
        path = science / f"NA_SCOA_{NIGHT}T02:24:00.000_{number:04d}.fits"
        if not path.exists():
            image.writeto(path, checksum=True)
        files.append((path, "idp"))
    for number in range(count - idps):
        path = masters / f"NA_MDRK_{NIGHT}T01:00:00.000_{number:04d}.fits"
        if not path.exists():
            write_fits(path, value=number, header={"HIERARCH ESO PRO CATG": "NACO_IMG_DARK_AVG"})
        files.append((path, "master"))
    return files


def _register(model, instance, files):
    rows = []
    for path, kind in files:
        data = path.read_bytes()
        rows.append(model(instance=instance, name=path.name, path=str(path), kind=kind,
                          pro_catg="SCIENCE.IMAGE" if kind == "idp" else "NACO_IMG_DARK_AVG",
                          state="moved", night=NIGHT, md5=hashlib.md5(data).hexdigest(),
                          size=len(data)))  # fmt: skip
    model.objects.bulk_create(rows)
    return list(model.objects.order_by("pk"))


def _ingest_in_processes(count):
    """`count` ingest_products processes on the open requests at once; each must end well."""
    import subprocess

    command = [sys.executable, str(ROOT / "manage.py"), "ingest_products"]
    processes = [subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True) for _ in range(count)]  # fmt: skip
    for process in processes:
        _, err = process.communicate()
        assert process.returncode == 0, err


def _fsync(path):
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _warm(files):
    for path, _kind in files:
        path.read_bytes()


def _md5(path):
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


if __name__ == "__main__":
    sys.exit(main())
