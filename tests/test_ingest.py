"""Ingestion (JOBS_INGEST): one request per product file, each executed once, with checks,
attempts, versions under ENABLE_UPDATES, and ADP ids that stay unique."""

import os
import re
import signal
import subprocess
import sys
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from processing.archive import ingest_requests, ingest_scope, queue_ingestion, reopen_requests
from processing.archive import records as archive_records
from processing.archive.ingest import CLAIM_TIMEOUT
from processing.archive.store import archive_root
from processing.choices import ArchiveStatus, IngestStatus, ProductState
from processing.models import ArchiveRecord, AuditEvent, IngestRequest, Product
from tests.archive_factories import master, naco, register, write_fits
from tests.cluster import ROOT, cluster_env, database_url, wait_until

ADP = re.compile(r"^ADP\.\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$")


@pytest.fixture
def instance(db, data_root):
    return naco()


def archived_files():
    """The files in the store; anything left in the staging area fails the test."""
    staging = archive_root() / ".staging"
    assert not staging.exists() or not any(staging.iterdir()), list(staging.rglob("*"))
    return sorted(p for p in archive_root().rglob("*") if p.is_file())


def test_the_same_product_queued_twice_is_one_request_executed_once(instance, data_root):
    product = master(instance, data_root)
    first = queue_ingestion([product], actor_name="test")
    again = queue_ingestion([Product.objects.get(pk=product.pk)], actor_name="test")
    assert (first.created, first.duplicates) == (1, 0)
    assert (again.created, again.duplicates) == (0, 1)
    request = IngestRequest.objects.get()
    assert request.key == f"{product.name}:{product.md5}"
    assert request.duplicates == 1 and again.requests[0].duplicates == 1
    assert request.status == IngestStatus.OPEN
    assert AuditEvent.objects.filter(action="queue_ingestion").count() == 2

    result = ingest_requests(actor_name="test")
    assert [e.outcome for e in result.entries] == ["ingested"]
    assert ingest_requests(actor_name="test").entries == []  # nothing open any more
    request.refresh_from_db()
    assert (request.status, request.attempts) == (IngestStatus.DONE, 1)
    assert ArchiveRecord.objects.count() == 1 and len(archived_files()) == 1


def test_the_same_product_twice_in_one_call_is_one_request(instance, data_root):
    product, other = master(instance, data_root, value=1.0), master(instance, data_root, value=2.0)
    result = queue_ingestion([product, other, product, product], actor_name="test")
    assert (result.created, result.duplicates) == (2, 2)
    assert [r.pk for r in result.requests[2:]] == [result.requests[0].pk] * 2
    assert dict(IngestRequest.objects.values_list("product_id", "duplicates")) == {
        product.pk: 2, other.pk: 0}


def test_a_master_is_copied_into_the_store_with_its_record(instance, data_root):
    product = master(instance, data_root)
    queue_ingestion([product], actor_name="test")
    result = ingest_scope(instance, night="2009-06-15", actor_name="test")
    assert result.ok and result.counts()["ingested"] == 1
    record = ArchiveRecord.objects.get()
    request = IngestRequest.objects.get()
    product.refresh_from_db()
    assert ADP.match(record.adp_id), record.adp_id
    assert (record.origfile, record.kind, record.night, record.version, record.status) == (
        product.name, "master", date(2009, 6, 15), 1, ArchiveStatus.CURRENT)
    assert (record.md5, record.size) == (product.md5, product.size)
    stored = Path(record.path)
    assert stored == archive_root() / "NACO" / "2009-06-15" / f"{record.adp_id}.fits"
    assert stored.read_bytes() == Path(product.path).read_bytes()
    assert archived_files() == [stored]  # no temporary file left
    assert (request.status, request.record, request.error) == (IngestStatus.DONE, record, "")
    assert request.done_at is not None and request.claim_token == ""
    assert product.state == ProductState.INGESTED
    event = AuditEvent.objects.get(action="ingest")
    assert record.adp_id in str(event.detail)


def test_dry_run_checks_and_writes_nothing(instance, data_root):
    good = master(instance, data_root, value=1.0)
    broken = master(instance, data_root, value=2.0)
    queue_ingestion([good, broken], actor_name="test")
    Path(broken.path).write_bytes(b"changed")
    result = ingest_scope(instance, dry_run=True, actor_name="test")
    assert [e.outcome for e in result.entries] == ["ingested", "refused"]
    assert "changed after it was queued" in result.entries[1].message
    assert set(IngestRequest.objects.values_list("status", flat=True)) == {IngestStatus.OPEN}
    assert not ArchiveRecord.objects.exists() and archived_files() == []
    assert AuditEvent.objects.filter(action="ingest_preview").count() == 1


def test_a_file_changed_after_queueing_is_refused(instance, data_root):
    product = master(instance, data_root)
    queue_ingestion([product], actor_name="test")
    write_fits(Path(product.path), value=7.0)  # a valid FITS file, other content
    result = ingest_requests(actor_name="test")
    request = IngestRequest.objects.get()
    assert request.status == IngestStatus.REFUSED and not result.ok
    assert "changed after it was queued" in request.error and product.md5 in request.error
    assert not ArchiveRecord.objects.exists() and archived_files() == []
    assert Product.objects.get(pk=product.pk).state == ProductState.MOVED


@pytest.mark.parametrize("damage, reason", [
    (lambda data: data[:-100], "truncated FITS file"),
    (lambda data: data[:2890] + bytes([data[2890] ^ 1]) + data[2891:], "DATASUM of HDU 0"),
    (lambda data: data.replace(b"NACO_IMG_DARK_AVG", b"NACO_IMG_DARK_AVX"), "CHECKSUM of HDU 0"),
    (lambda data: b"not a FITS file" + data, "not a readable FITS file"),
])  # fmt: skip
def test_a_damaged_master_is_refused_with_the_reason(instance, data_root, damage, reason):
    product = master(instance, data_root)
    path = Path(product.path)
    path.write_bytes(damage(path.read_bytes()))
    Product.objects.filter(pk=product.pk).update(md5="", size=None)
    product.refresh_from_db()
    queue_ingestion([product], actor_name="test")  # the md5 of the damaged file is taken
    ingest_requests(actor_name="test")
    request = IngestRequest.objects.get()
    assert request.status == IngestStatus.REFUSED
    assert reason in request.error, request.error
    assert archived_files() == []


def test_three_attempts_then_failed_and_reopened_after_the_fix(instance, data_root, settings):
    product = master(instance, data_root)
    queue_ingestion([product], actor_name="test")
    blocker = data_root / "not-a-directory"
    blocker.write_text("the archive path is a file: every write into it fails, even as root")
    settings.PHOENIX_ARCHIVE_ROOT = blocker
    result = ingest_requests(actor_name="test")
    request = IngestRequest.objects.get()
    assert (request.status, request.attempts) == (IngestStatus.FAILED, 3)
    assert result.retried == 2 and [e.outcome for e in result.entries] == ["failed"]
    assert "attempt 3:" in request.error and "gave up after 3 attempts" in request.error
    assert "Error" in request.error  # the OSError's class and message are kept
    assert not ArchiveRecord.objects.exists()

    settings.PHOENIX_ARCHIVE_ROOT = data_root / "archive-volume"
    assert reopen_requests(IngestRequest.objects.all(), actor_name="test") == [request.key]
    ingest_requests(actor_name="test")
    request.refresh_from_db()
    assert (request.status, request.attempts) == (IngestStatus.DONE, 1)
    assert Path(request.record.path).is_relative_to(data_root / "archive-volume")


def test_a_request_left_running_by_a_dead_ingester_is_taken_back(instance, data_root):
    lost, given_up, busy = (master(instance, data_root, value=v) for v in (1.0, 2.0, 3.0))
    queue_ingestion([lost, given_up, busy], actor_name="test")
    long_ago = timezone.now() - CLAIM_TIMEOUT - timedelta(minutes=1)
    IngestRequest.objects.filter(product=lost).update(
        status=IngestStatus.RUNNING, claim_token="dead", claimed_at=long_ago, attempts=1)
    IngestRequest.objects.filter(product=given_up).update(
        status=IngestStatus.RUNNING, claim_token="dead", claimed_at=long_ago, attempts=3)
    IngestRequest.objects.filter(product=busy).update(  # another ingester, alive
        status=IngestStatus.RUNNING, claim_token="alive", claimed_at=timezone.now(), attempts=1)
    night_dir = archive_root() / "NACO" / "2009-06-15"
    night_dir.mkdir(parents=True)
    orphan = night_dir / "ADP.2026-01-01T00:00:00.000.fits"  # renamed in, record never committed
    orphan.write_bytes(b"left by the dead ingester")
    os.utime(orphan, (long_ago.timestamp(), long_ago.timestamp()))
    publishing = night_dir / "ADP.2026-01-01T00:00:00.001.fits"  # a live ingester's, just now
    publishing.write_bytes(b"its record commits in a moment")
    result = ingest_requests(actor_name="test")
    assert not orphan.exists() and publishing.exists()
    by_product = {r.product_id: r for r in IngestRequest.objects.all()}
    assert sorted(result.taken_back) == sorted([by_product[lost.pk].key, by_product[given_up.pk].key])
    assert (by_product[lost.pk].status, by_product[lost.pk].attempts) == (IngestStatus.DONE, 2)
    assert by_product[given_up.pk].status == IngestStatus.FAILED
    assert "lost" in by_product[given_up.pk].error and "gave up" in by_product[given_up.pk].error
    assert (by_product[busy.pk].status, by_product[busy.pk].claim_token) == (IngestStatus.RUNNING, "alive")


def test_a_reprocessed_product_becomes_version_2_with_enable_updates(instance, data_root):
    first = master(instance, data_root, name="NA_MDRK_2009-06-15T01:00:00.000.fits", value=1.0)
    queue_ingestion([first], actor_name="test")
    ingest_requests(actor_name="test")
    Product.objects.filter(pk=first.pk).update(state=ProductState.SUPERSEDED)
    second = master(instance, data_root, name=first.name, value=2.0)  # same name, new content
    queue_ingestion([second], actor_name="test")
    result = ingest_requests(actor_name="test")
    v1, v2 = ArchiveRecord.objects.order_by("version")
    assert (v1.version, v1.status, v1.replaced_by) == (1, ArchiveStatus.OBSOLETE, v2)
    assert (v2.version, v2.status, v2.origfile) == (2, ArchiveStatus.CURRENT, first.name)
    assert result.entries[0].replaces == v1.adp_id
    assert Path(v1.path).read_bytes() != Path(v2.path).read_bytes()  # both kept
    assert Product.objects.get(pk=first.pk).state == ProductState.SUPERSEDED


def test_without_enable_updates_a_new_version_is_refused_and_can_be_retried(instance, data_root):
    instance.enable_updates = False
    instance.save(update_fields=["enable_updates"])
    first = master(instance, data_root, name="NA_MDRK_2009-06-15T01:00:00.000.fits", value=1.0)
    queue_ingestion([first], actor_name="test")
    ingest_requests(actor_name="test")
    second = master(instance, data_root, name=first.name, value=2.0)
    queue_ingestion([second], actor_name="test")
    ingest_requests(actor_name="test")
    request = IngestRequest.objects.get(product=second)
    assert request.status == IngestStatus.REFUSED
    assert "ENABLE_UPDATES=NO" in request.error and "--retry" in request.error
    assert ArchiveRecord.objects.get().status == ArchiveStatus.CURRENT  # v1 untouched

    instance.enable_updates = True
    instance.save(update_fields=["enable_updates"])
    reopen_requests(IngestRequest.objects.filter(pk=request.pk), actor_name="test")
    ingest_requests(actor_name="test")
    assert list(ArchiveRecord.objects.order_by("version").values_list("status", flat=True)) == [
        ArchiveStatus.OBSOLETE, ArchiveStatus.CURRENT]


def test_the_same_content_archived_already_makes_no_new_record(instance, data_root):
    product = master(instance, data_root)
    queue_ingestion([product], actor_name="test")
    ingest_requests(actor_name="test")
    record = ArchiveRecord.objects.get()
    IngestRequest.objects.all().delete()  # the queue was cleared by hand
    queue_ingestion([product], actor_name="test")
    result = ingest_requests(actor_name="test")
    assert [e.outcome for e in result.entries] == ["already archived"]
    assert IngestRequest.objects.get().record == record
    assert ArchiveRecord.objects.count() == 1 and len(archived_files()) == 1


def test_adp_ids_taken_in_the_same_millisecond_move_on(instance, data_root):
    taken = timezone.now().replace(tzinfo=None) + timedelta(seconds=5)
    taken = taken.replace(microsecond=taken.microsecond // 1000 * 1000)
    occupant = master(instance, data_root, value=9.0)
    ArchiveRecord.objects.create(
        instance=instance, product=occupant, adp_id=archive_records.adp_id(taken),
        origfile="other.fits", kind="master", path="/elsewhere", md5="0" * 32, size=1)
    archive_records._last["moment"] = taken - timedelta(milliseconds=1)  # the next one is `taken`
    product = master(instance, data_root)
    queue_ingestion([product], actor_name="test")
    ingest_requests(actor_name="test")
    record = ArchiveRecord.objects.get(product=product)
    assert record.adp_id == archive_records.adp_id(taken + timedelta(milliseconds=1))


def test_a_burst_of_ingestions_gets_unique_adp_ids(instance, data_root):
    products = [master(instance, data_root, value=v) for v in range(1, 101)]
    queue_ingestion(products, actor_name="test")
    ingest_requests(actor_name="test")
    ids = list(ArchiveRecord.objects.values_list("adp_id", flat=True))
    assert len(ids) == len(set(ids)) == 100 and all(ADP.match(i) for i in ids)


@pytest.mark.django_db(transaction=True)
def test_an_ingester_killed_midway_loses_nothing_and_archives_nothing_twice(data_root):
    instance = naco()
    products = [master(instance, data_root, value=v) for v in range(1, 301)]
    queue_ingestion(products, actor_name="test")
    ingester = subprocess.Popen([sys.executable, "manage.py", "ingest_products"], cwd=ROOT,
                                env=cluster_env(data_root), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)  # fmt: skip
    done = IngestRequest.objects.filter(status=IngestStatus.DONE)
    wait_until(lambda: done.count() >= 30, 120, what="the ingester to get going")
    os.kill(ingester.pid, signal.SIGKILL)
    ingester.wait()
    assert done.count() < 300, "the ingester finished before it was killed"
    # time passes: the dead ingester's claim and whatever it left in the store grow old
    long_ago = timezone.now() - CLAIM_TIMEOUT - timedelta(minutes=1)
    IngestRequest.objects.filter(status=IngestStatus.RUNNING).update(claimed_at=long_ago)
    for path in archive_root().rglob("*"):
        os.utime(path, (long_ago.timestamp(), long_ago.timestamp()))
    ingest_requests(actor_name="test")
    assert done.count() == 300
    attempts = sorted(done.values_list("attempts", flat=True))
    assert attempts[:-1] == [1] * 299 and attempts[-1] in (1, 2)  # at most one was cut short
    records = list(ArchiveRecord.objects.values_list("adp_id", "path"))
    assert len({adp for adp, _ in records}) == len(records) == 300
    assert archived_files() == sorted(Path(path) for _, path in records)


@pytest.mark.django_db(transaction=True)
def test_two_threads_queueing_the_same_products_make_one_request_each(data_root):
    instance = naco()
    products = [master(instance, data_root, value=v) for v in range(1, 21)]
    barrier, results, errors = threading.Barrier(2), [], []

    def queue():
        try:
            copies = list(Product.objects.filter(pk__in=[p.pk for p in products]))
            barrier.wait()
            results.append(queue_ingestion(copies, actor_name="thread"))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=queue) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert IngestRequest.objects.count() == 20
    assert sum(r.created for r in results) == 20 and sum(r.duplicates for r in results) == 20
    assert set(IngestRequest.objects.values_list("duplicates", flat=True)) == {1}


@pytest.mark.django_db(transaction=True)
def test_two_ingester_processes_execute_each_request_once(data_root):
    """Two `ingest_products` processes on the same open requests: every request is executed
    by one of them, once, and the ADP ids stay unique across the processes."""
    instance = naco()
    products = [master(instance, data_root, value=v) for v in range(1, 121)]
    queue_ingestion(products, actor_name="test")
    env = {**os.environ, "DATABASE_URL": database_url(), "PHOENIX_DEBUG": "1",
           "PHOENIX_DATA_ROOT": str(data_root)}  # fmt: skip
    env.pop("PHOENIX_ARCHIVE_ROOT", None)
    ingesters = [subprocess.Popen([sys.executable, "manage.py", "ingest_products", "--json"],
                                  cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]  # fmt: skip
    outputs = [process.communicate(timeout=300) for process in ingesters]
    for process, (out, err) in zip(ingesters, outputs):
        assert process.returncode == 0, out + err
    done = IngestRequest.objects.filter(status=IngestStatus.DONE)
    assert done.count() == 120 and set(done.values_list("attempts", flat=True)) == {1}
    ids = list(ArchiveRecord.objects.values_list("adp_id", flat=True))
    assert len(ids) == len(set(ids)) == 120
    assert len(archived_files()) == 120
    shares = [out.count('"outcome": "ingested"') for out, _ in outputs]
    assert sum(shares) == 120, shares


def test_the_store_can_be_a_volume_of_its_own(instance, data_root, settings, tmp_path):
    settings.PHOENIX_ARCHIVE_ROOT = tmp_path / "volume"
    product = master(instance, data_root)
    queue_ingestion([product], actor_name="test")
    ingest_requests(actor_name="test")
    assert Path(ArchiveRecord.objects.get().path).is_relative_to(tmp_path / "volume")


def idp(instance, directory, category, kind, hdul=None, name=None, **fields):
    """A Phase 3 product (tests/phase3_builder.py) registered as -M and the converter leave it."""
    from tests.phase3_builder import NAMES, build, write

    directory.mkdir(parents=True, exist_ok=True)
    path = write(hdul or build(category), directory / (name or NAMES[category]))
    return register(instance, path, kind=kind, night=date(2009, 6, 17), pro_catg=category,
                    **fields)


def test_idps_and_ancillaries_that_pass_the_validator_are_ingested(instance, data_root):
    folder = data_root / "sci" / "2009-06-17" / "idp"
    image = idp(instance, folder, "SCIENCE.IMAGE", "idp")
    weights = idp(instance, folder, "ANCILLARY.WEIGHTMAP", "ancillary")
    queue_ingestion([image, weights], actor_name="test")
    result = ingest_requests(actor_name="test")
    assert result.ok, result.entries
    records = {r.origfile: r for r in ArchiveRecord.objects.all()}
    assert (records[image.name].prodcatg, records[image.name].kind) == ("SCIENCE.IMAGE", "idp")
    assert records[weights.name].prodcatg == "ANCILLARY.WEIGHTMAP"
    image.refresh_from_db()
    assert image.state == ProductState.INGESTED
    assert image.validation["errors"] == 0 and image.validation["file"] == image.path


def test_an_idp_with_a_validator_error_is_refused_naming_the_rule(instance, data_root):
    from tests.phase3_builder import build

    broken = build("SCIENCE.IMAGE")
    broken[0].header["FLUXCAL"] = "GUESSED"
    image = idp(instance, data_root / "sci" / "2009-06-17" / "idp", "SCIENCE.IMAGE", "idp", broken)
    queue_ingestion([image], actor_name="test")
    result = ingest_requests(actor_name="test")
    request = IngestRequest.objects.get()
    assert request.status == IngestStatus.REFUSED and not result.ok
    assert request.error.startswith("Phase 3 validator: 1 error(s): [SCI-FLUXCAL-ALLOWED] FLUXCAL")
    image.refresh_from_db()
    assert [f["rule"] for f in image.validation["findings"] if f["severity"] == "error"] == [
        "SCI-FLUXCAL-ALLOWED"]
    assert image.state == ProductState.MOVED
    assert not ArchiveRecord.objects.exists() and archived_files() == []


def test_the_validator_judges_the_products_own_file_name(instance, data_root):
    """The staged copy keeps the product's name: the file-name rules see the real name."""
    name = "NA_SCOA_2009-06-18T02:24:00.000_0001_with_a_name_far_too_long_for_phase3.fits"
    image = idp(instance, data_root / "sci" / "idp", "SCIENCE.IMAGE", "idp", name=name)
    queue_ingestion([image], actor_name="test")
    ingest_requests(actor_name="test")
    request = IngestRequest.objects.get()
    assert request.status == IngestStatus.REFUSED
    assert "[ALL-FILENAME-LENGTH]" in request.error and name in request.error


def test_a_non_fits_ancillary_needs_its_idp_to_associate_it_with_its_md5(instance, data_root):
    from tests.phase3_builder import build

    folder = data_root / "sci" / "2009-06-17" / "idp"
    science = register(instance, write_fits(data_root / "sci" / "2009-06-17" / "NA_SIMG_x.fits"),
                       kind="science", night=date(2009, 6, 17))  # fmt: skip
    previews = {}
    for name in ("right.png", "wrong_md5.png", "unlisted.png"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"\x89PNG\r\n\x1a\n" + name.encode() * 20)
        previews[name] = register(instance, folder / name, kind="ancillary",
                                  night=date(2009, 6, 17), source=science)  # fmt: skip
    image = build("SCIENCE.IMAGE")
    for number, name in ((2, "right.png"), (3, "wrong_md5.png")):
        image[0].header[f"ASSON{number}"] = name
        image[0].header[f"ASSOC{number}"] = "ANCILLARY.PREVIEW"
        image[0].header[f"ASSOM{number}"] = previews["right.png"].md5
    idp(instance, folder, "SCIENCE.IMAGE", "idp", image, source=science)
    queue_ingestion(previews.values(), actor_name="test")
    ingest_requests(actor_name="test")
    requests = {r.product.name: r for r in IngestRequest.objects.select_related("product", "record")}
    assert requests["right.png"].status == IngestStatus.DONE
    assert requests["right.png"].record.prodcatg == "ANCILLARY.PREVIEW"
    assert requests["wrong_md5.png"].status == IngestStatus.REFUSED
    assert "(ASSON3) with md5 " in requests["wrong_md5.png"].error
    assert requests["unlisted.png"].status == IngestStatus.REFUSED
    assert "no IDP of the same science product associates it" in requests["unlisted.png"].error


def test_the_record_names_the_ab_and_a_deep_product_is_stored_under_its_run(instance, data_root):
    from processing.models import AssociationBlock

    ab = AssociationBlock.objects.create(
        instance=instance, ab_name="NACO.2009-06-17T02:24:00.000.ab", batch_label="SCIENCE",
        category="SCIENCE", night=date(2009, 6, 17), run_id="083.D-0123(A)", raw_type="OBJECT",
        action="COADD", recipe="naco_img_jitter", mjd_obs=55000.1, mjd_obs_mod=55000.1,
        prod_root_name="NA_SIMG",
    )  # fmt: skip
    folder = data_root / "sci" / "083.D-0123(A)"
    science = register(instance, write_fits(folder / "NA_SIMG_x.fits"), kind="science",
                       night=date(2009, 6, 17), ab=ab)  # fmt: skip
    image = idp(instance, folder / "idp", "SCIENCE.IMAGE", "idp", source=science)
    queue_ingestion([image], actor_name="test")
    assert IngestRequest.objects.get().run_id == "083.D-0123(A)"
    ingest_requests(actor_name="test")
    record = ArchiveRecord.objects.get()
    assert record.ab_name == ab.ab_name
    assert Path(record.path).parent == archive_root() / "NACO" / "083.D-0123(A)"
