"""Issue 5 end to end: a simulated NACO month from processed ABs to ingested, validated IDPs
with the commands an operator uses — phoenix -M, validate_idp, ingest_products,
replace_masters — and nothing duplicated when every step runs twice. DEEP: -M --last/--all."""

import io
import json
import os
import shutil
from datetime import date
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.urls import reverse

from processing.abs.scope import Scope
from processing.choices import AbCategory, AbStatus, IngestStatus, ProductKind
from processing.data_pool import import_headers
from processing.files import md5_of
from processing.launching import finish_batch
from processing.models import (
    ArchiveRecord,
    AssociationBlock,
    Batch,
    CalSelectorPeriod,
    IdpConversion,
    IngestRequest,
    Instance,
    Product,
)
from processing.queue import actions
from processing.simulation import simulate_nights
from tests.processed import drive, process_month, simulate


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=out)
    return out.getvalue()


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    return simulate(tmp_path_factory.mktemp("naco_raw"))


@pytest.fixture
def naco(db, simulated, data_root, tmp_path):
    return process_month(simulated, tmp_path)


def test_a_month_goes_from_processed_abs_to_ingested_validated_idps(naco, data_root):
    processed = AssociationBlock.objects.filter(status=AbStatus.SUCCESS)
    assert processed.count() and all(ab.auto_certify_proposed for ab in processed)

    output = run("phoenix", "--instance", "NACO", "-m", "2009-06", "-M")
    assert f"{processed.count()} auto-certified, {processed.count()} moved" in output, output
    assert "IDPs: " in output and "0 failed" in output, output
    science = Product.objects.filter(kind=ProductKind.SCIENCE)
    idps = Product.objects.filter(kind=ProductKind.IDP)
    assert idps.count() == science.count() > 0
    for idp in idps:
        assert Path(idp.path).parent == data_root / "sci" / idp.source.ab.pseudo_date / "idp"
        assert idp.source.conversions.get().status == "ok"
    # IDPs are queued for ingestion; COMPLETE_MODE masters wait for the replacement workflow
    requests = IngestRequest.objects.all()
    assert {r.status for r in requests.filter(product__kind__in=("idp", "ancillary"))} == {IngestStatus.OPEN}
    masters = Product.objects.filter(kind=ProductKind.MASTER)
    assert set(requests.filter(product__in=masters).values_list("status", flat=True)) == {IngestStatus.HELD}
    assert requests.filter(product__in=masters).count() == masters.count()

    # the operator's pre-check of the IDPs: no error
    files = [p.path for p in idps]
    report = json.loads(run("validate_idp", "--json", *files))
    assert [r["errors"] for r in report] == [0] * len(files), report

    # -M again: nothing moved, converted or queued twice
    again = run("phoenix", "--instance", "NACO", "-m", "2009-06", "-M")
    assert "0 moved" in again and IdpConversion.objects.count() == idps.count()
    assert IngestRequest.objects.count() == requests.count()

    run("ingest_products", "--instance", "NACO", "-m", "2009-06")
    records = ArchiveRecord.objects.all()
    assert records.filter(kind__in=("idp", "ancillary")).count() == requests.exclude(
        status=IngestStatus.HELD).count()
    for record in records:
        assert record.adp_id.startswith("ADP.") and record.status == "current"
        assert md5_of(record.path) == record.md5 == record.product.md5
        assert record.origfile == record.product.name
    assert set(Product.objects.filter(kind=ProductKind.IDP).values_list("state", flat=True)) == {"ingested"}
    # ingesting again archives nothing twice
    run("ingest_products", "--instance", "NACO", "-m", "2009-06")
    assert ArchiveRecord.objects.count() == records.count()

    # the masters: the replacement workflow releases them, then the period goes back
    run("replace_masters", "--instance", "NACO", "--from", "2009-06-01", "--to", "2009-06-30",
        "--reason", "COMPLETE_MODE reprocessing of 2009-06", "--start")  # fmt: skip
    period = CalSelectorPeriod.objects.get(instance=naco)
    assert period.mode == "raw2raw"
    run("ingest_products", "--instance", "NACO", "-m", "2009-06")
    assert ArchiveRecord.objects.filter(kind="master", status="current").count() == masters.count()
    run("replace_masters", "--instance", "NACO", "--from", "2009-06-01", "--to", "2009-06-30", "--finish")
    assert Instance.objects.get(pk=naco.pk).calselector_mode_on(date(2009, 6, 15)) == "raw2master"


@pytest.fixture
def deep_run(db, data_root, tmp_path_factory, tmp_path):
    raw = tmp_path_factory.mktemp("deep_raw")
    simulate_nights(date(2009, 6, 15), 3, raw, seed=1, broken=False)
    call_command("load_instances", stdout=open(os.devnull, "w"))
    assert not import_headers([raw]).failed
    deep = Instance.objects.get(name="NACO_DEEP")
    deep.engine = "python"
    deep.save(update_fields=["engine"])
    scope = Scope.for_run("083.D-0123(A)")
    actions.launch(deep, scope, create=True, process=True)
    drive()
    return deep, scope


def test_deep_m_moves_all_abs_or_only_the_last_processed(deep_run, data_root):
    deep, scope = deep_run
    science = AssociationBlock.objects.filter(instance=deep, run_id=scope.value,
                                              category=AbCategory.SCIENCE, status=AbStatus.SUCCESS)  # fmt: skip
    assert science.count() == 2
    with pytest.raises(CommandError, match="give --all .* or --last"):
        run("phoenix", "--instance", "NACO_DEEP", "-r", scope.value, "-M")
    # NACO_DEEP does not auto-certify: the QC scientist certifies the run's ABs
    run("certify_abs", "--instance", "NACO_DEEP", "-r", scope.value, "--certify")
    last = AssociationBlock.objects.filter(instance=deep, run_id=scope.value, status=AbStatus.SUCCESS
                                           ).order_by("-finished_at", "-pk").first()  # fmt: skip
    output = run("phoenix", "--instance", "NACO_DEEP", "-r", scope.value, "-M", "--last")
    moved = set(AssociationBlock.objects.filter(moved_at__isnull=False).values_list("ab_name", flat=True))
    assert moved == {last.ab_name}, output
    run("phoenix", "--instance", "NACO_DEEP", "-r", scope.value, "-M", "--all")
    assert not AssociationBlock.objects.filter(instance=deep, run_id=scope.value,
                                               status=AbStatus.SUCCESS, moved_at=None).exists()  # fmt: skip
    # UPDATE_YN: every target's products collect in sci/<run_ID>
    names = {p.name for p in Product.objects.filter(ab__in=science, kind=ProductKind.SCIENCE)}
    assert len(names) == 2 and {f.name for f in (data_root / "sci" / scope.value).glob("*.fits")} >= names


def test_deep_m_from_the_launch_page_takes_only_the_last_processed_ab(deep_run, client, operator):
    """The web's answer to the tool's DEEP question: the launch form's "only the last
    processed AB" makes the batch's -M take that AB alone."""
    deep, scope = deep_run
    operator.groups.add(*Group.objects.filter(name="certifier"))
    client.force_login(operator)
    run("certify_abs", "--instance", "NACO_DEEP", "-r", scope.value, "--certify")
    last = AssociationBlock.objects.filter(instance=deep, run_id=scope.value, status=AbStatus.SUCCESS
                                           ).order_by("-finished_at", "-pk").first()  # fmt: skip
    form = {"instance": "NACO_DEEP", "scope_kind": "run", "scope": scope.value, "finish": "on",
            "finish_last": "on"}  # fmt: skip
    preview = client.post(reverse("monitor:launch"), {**form, "action": "preview"})
    assert preview.status_code == 200
    assert f"phoenix -r {scope.value} -M --last" in preview.content.decode()
    response = client.post(reverse("monitor:launch"), {**form, "action": "launch"})
    assert response.status_code == 302, response.content.decode()[:2000]
    batch = Batch.objects.get(steps="M")
    assert batch.summary["finish_last_only"] is True
    finish_batch(batch.pk)  # the task finish_batches sent, run here
    moved = set(AssociationBlock.objects.filter(moved_at__isnull=False).values_list("ab_name", flat=True))
    assert moved == {last.ab_name}
