"""manage.py ingest_products: what it prints, its exit status, --dry-run, --retry, --json."""

import json
import subprocess
import sys
from datetime import date
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from processing.archive import queue_ingestion
from processing.choices import IngestStatus
from processing.models import ArchiveRecord, IngestRequest
from tests.archive_factories import master, naco
from tests.cluster import ROOT, cluster_env


@pytest.fixture
def instance(db, data_root):
    return naco()


def ingest(*args):
    out, err = StringIO(), StringIO()
    try:
        call_command("ingest_products", *args, stdout=out, stderr=err)
        status = 0
    except SystemExit as exit_:
        status = exit_.code
    return status, out.getvalue(), err.getvalue()


def test_a_clean_run_exits_0_and_counts_duplicates(instance, data_root):
    product = master(instance, data_root)
    queue_ingestion([product], actor_name="test")
    queue_ingestion([product], actor_name="test")
    status, out, _ = ingest("--instance", "NACO", "-d", "2009-06-15")
    assert status == 0, out
    assert f"ingested         {product.name} → ADP." in out
    assert "1 ingested, 0 already archived, 0 refused, 0 failed" in out
    assert "1 duplicate queueings counted, never executed" in out
    assert "requests in scope: 1 done" in out


def test_a_refusal_exits_1_and_says_why(instance, data_root):
    good, changed = master(instance, data_root, value=1.0), master(instance, data_root, value=2.0)
    queue_ingestion([good, changed], actor_name="test")
    Path(changed.path).write_bytes(b"overwritten")
    status, out, _ = ingest("--instance", "NACO", "-m", "2009-06")
    assert status == 1
    assert f"refused          {changed.name} : " in out and "changed after it was queued" in out
    assert "1 ingested, 0 already archived, 1 refused, 0 failed" in out


def test_dry_run_and_json(instance, data_root):
    product = master(instance, data_root)
    queue_ingestion([product], actor_name="test")
    status, out, err = ingest("--dry-run", "--json")
    assert status == 0
    assert f"would be ingested         {product.name}" in err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["dry_run"] and summary["counts"]["ingested"] == 1
    assert summary["entries"][0]["key"] == f"{product.name}:{product.md5}"
    assert not ArchiveRecord.objects.exists()
    assert IngestRequest.objects.get().status == IngestStatus.OPEN


def test_retry_reopens_failed_requests_of_the_scope(instance, data_root, settings):
    product = master(instance, data_root)
    queue_ingestion([product], actor_name="test")
    blocker = data_root / "blocked"
    blocker.write_text("a file where the archive directory should be")
    settings.PHOENIX_ARCHIVE_ROOT = blocker
    status, out, _ = ingest("-d", "2009-06-15")
    assert status == 1 and "gave up after 3 attempts" in out and "2 attempts made again" in out
    settings.PHOENIX_ARCHIVE_ROOT = None
    status, out, _ = ingest("-d", "2009-06-16", "--retry")  # another night: not reopened
    assert "requests in scope" not in out
    status, out, err = ingest("-d", "2009-06-15", "--retry")
    assert status == 0 and "1 failed or refused requests open again" in err
    assert IngestRequest.objects.get().status == IngestStatus.DONE


def test_held_requests_are_shown_not_ingested(instance, data_root):
    queue_ingestion([master(instance, data_root, new=True)], actor_name="-M", hold=True)
    status, out, _ = ingest("--instance", "NACO")
    assert status == 0 and "requests in scope: 1 held" in out
    assert "replace_masters --start" in out
    assert IngestRequest.objects.get().status == IngestStatus.HELD


@pytest.mark.parametrize("args, message", [
    (["-d", "2009-13-01"], "-d: '2009-13-01' is not a date"),
    (["-m", "June"], "-m: 'June' is not a month"),
    (["--instance", "NOPE"], "unknown instance 'NOPE' (loaded: NACO)"),
])  # fmt: skip
def test_bad_arguments_are_named(instance, args, message):
    with pytest.raises(CommandError) as error:
        call_command("ingest_products", *args, stdout=StringIO())
    assert message in str(error.value)


@pytest.mark.django_db(transaction=True)
def test_the_exit_status_of_the_process(data_root):
    instance = naco()
    product = master(instance, data_root, date(2009, 6, 15))
    queue_ingestion([product], actor_name="test")
    Path(product.path).unlink()
    done = subprocess.run([sys.executable, "manage.py", "ingest_products", "--instance", "NACO"],
                          cwd=ROOT, env=cluster_env(data_root), capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "does not exist any more" in done.stdout
