"""moveProducts/renameProducts (issue 5 point 2) on real processed ABs: DFOS places and names,
UPDATE_YN collection, replacement by a re-processing, a move killed midway and resumed."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from processing.certification import certify
from processing.choices import AbCategory, AbStatus, ProductKind, ProductState
from processing.files import md5_of
from processing.instance_config import InstanceConfigError, load_instance
from processing.models import AbAttempt, AssociationBlock, AuditEvent, Instance, Product
from processing.moving import clean_work_areas, journal_dir, move
from processing.queue import actions
from tests.cluster import ROOT, database_url
from tests.processed import drive, process_month, simulate

NAME = re.compile(r"^NA_(MDRK|MHOT|MCLD|MDEV|MFLT|MBPM|MFER|MFIC|SIMG)_2009-06-1[56]T\d\d:\d\d:\d\d\.\d{3}"
                  r"(_[A-Za-z0-9.+-]+)*\.fits$")  # fmt: skip


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    return simulate(tmp_path_factory.mktemp("naco_raw"))


@pytest.fixture
def naco(db, simulated, data_root, tmp_path):
    return process_month(simulated, tmp_path)


def successes(category=None):
    abs_ = AssociationBlock.objects.filter(status=AbStatus.SUCCESS).order_by("ab_name")
    return list(abs_.filter(category=category) if category else abs_)


def test_certified_products_go_to_their_dfos_places_under_dfos_names(naco, data_root):
    calib, science = successes(AbCategory.CALIB), successes(AbCategory.SCIENCE)
    unjudged = science.pop()
    before = {p.pk: (p.path, md5_of(p.path)) for p in Product.objects.filter(ab__in=calib + science)}
    certify(calib + science)
    result = move(calib + science + [unjudged])
    assert sorted(result.moved) == sorted(ab.ab_name for ab in calib + science)
    assert result.refused == [(unjudged.ab_name, "not certified yet")]
    for product in Product.objects.filter(ab__in=calib + science).select_related("ab"):
        ab = product.ab
        assert product.state == ProductState.MOVED and product.moved_at
        old_path, old_md5 = before[product.pk]
        assert product.md5 == old_md5 == md5_of(product.path) and product.size == Path(product.path).stat().st_size
        if product.kind == ProductKind.PLOT:
            assert product.path == old_path  # written into plt/<date> by the QC job
            assert Path(product.path).parent.parent == data_root / "plt" / ab.pseudo_date
            continue
        assert not Path(old_path).exists()
        assert product.original_name == Path(old_path).name and NAME.match(product.name), product.name
        assert len(product.name) <= 68
        # NACO runs in COMPLETE_MODE: its masters wait in cal/NEW for the replacement workflow
        where = {AbCategory.CALIB: data_root / "cal" / "NEW" / ab.pseudo_date,
                 AbCategory.SCIENCE: data_root / "sci" / ab.pseudo_date}[ab.category]  # fmt: skip
        assert Path(product.path) == where / product.name
        code = product.name.split("_")[1]
        assert code == {"NACO_IMG_DARK_AVG": "MDRK", "MASTER_IMG_FLAT": "MFLT",
                        "COADDED_IMG": "SIMG"}.get(product.pro_catg, code)  # fmt: skip
    for ab in calib + science:
        ab.refresh_from_db()
        assert ab.moved_at
        text = (data_root / "log" / ab.pseudo_date / f"{ab.ab_name}.ab").read_text()
        assert f"AB_NAME          {ab.ab_name}" in text
    untouched = Product.objects.filter(ab=unjudged).exclude(kind=ProductKind.PLOT)
    assert all(p.state == ProductState.VIRTUAL and "/prod/" in p.path for p in untouched)
    assert not list(journal_dir().glob("*.json"))
    event = AuditEvent.objects.get(action="move")
    assert event.result == "partial" and event.detail["refused"][0]["ab"] == unjudged.ab_name
    # moving again does nothing twice
    assert move(calib + science).moved == []
    # clean-up after -M: work directories and emptied product directories go
    for ab in calib + science:
        (data_root / "work" / ab.ab_name / "1").mkdir(parents=True, exist_ok=True)
    removed = clean_work_areas(calib + science)
    assert all(not (data_root / "work" / ab.ab_name).exists() for ab in calib + science)
    assert str(data_root / "work" / calib[0].ab_name) in removed
    assert (data_root / "prod").is_dir() and all(
        not (data_root / "prod" / ab.pseudo_date / ab.ab_name).exists() for ab in science)
    assert set(AbAttempt.objects.filter(ab__in=calib).values_list("work_dir_removed", flat=True)) == {True}


def test_masters_go_to_cal_date_without_complete_mode_and_a_reprocessing_replaces_its_predecessor(naco, data_root):
    Instance.objects.filter(pk=naco.pk).update(complete_mode=False)
    calib, science = successes(AbCategory.CALIB), successes(AbCategory.SCIENCE)
    certify(calib + science)
    first, second = science[0], science[1]
    move(calib + [first])
    master = Product.objects.filter(ab__in=calib, kind=ProductKind.MASTER).first()
    assert Path(master.path).parent == data_root / "cal" / master.ab.pseudo_date
    # a second -M call for another AB of the same date keeps the first one's products
    kept = {p.path for p in Product.objects.filter(ab=first, kind=ProductKind.SCIENCE)}
    move([second])
    assert all(Path(path).is_file() for path in kept)
    # re-processing of a moved AB: its products replace the earlier ones under the same names
    old = Product.objects.get(ab=first, kind=ProductKind.SCIENCE)
    actions.rerun_with_dependants(first)
    drive()
    first.refresh_from_db()
    assert first.status == AbStatus.SUCCESS and first.certification == "" and first.moved_at is None
    certify([first])
    result = move([first])
    assert result.superseded == 1
    old.refresh_from_db()
    new = Product.objects.get(ab=first, kind=ProductKind.SCIENCE, state=ProductState.MOVED)
    assert old.state == ProductState.SUPERSEDED and new.path == old.path and new.pk != old.pk
    assert md5_of(new.path) == new.md5
    assert all(Path(path).is_file() for path in kept)


MOVER = """
import django, sys
django.setup()
from processing.models import AssociationBlock
from processing.moving import move
move(list(AssociationBlock.objects.filter(certification="certified").order_by("ab_name")))
"""


@pytest.mark.django_db(transaction=True)
def test_a_move_killed_midway_leaves_every_file_whole_and_the_next_move_finishes_it(simulated, data_root, tmp_path):
    process_month(simulated, tmp_path)
    abs_ = successes()
    certify(abs_)
    files = {p.pk: (p.path, md5_of(p.path)) for p in Product.objects.filter(ab__in=abs_)}
    env = {**os.environ, "DATABASE_URL": database_url(), "PHOENIX_DEBUG": "1",
           "PHOENIX_DATA_ROOT": str(data_root), "DJANGO_SETTINGS_MODULE": "phoenix_site.settings"}  # fmt: skip
    process = subprocess.Popen([sys.executable, "-c", MOVER], cwd=ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if list(journal_dir().glob("*.json")):
            break
        time.sleep(0.001)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    journals = list(journal_dir().glob("*.json"))
    assert journals, "the mover was not caught in the middle of a move"
    interrupted = {json.loads(p.read_text())["ab_name"] for p in journals}
    # every file is whole in its old or its new place
    plans = {e["product"]: e for p in journals for e in json.loads(p.read_text())["entries"]}
    for pk, (path, digest) in files.items():
        product = Product.objects.get(pk=pk)
        places = [Path(path), Path(product.path)] + ([Path(plans[pk]["target"])] if pk in plans else [])
        present = {place for place in places if place.is_file()}
        assert len(present) == 1, (product.name, present)
        assert md5_of(present.pop()) == digest
    result = move(abs_)
    assert set(result.resumed) == interrupted
    assert not list(journal_dir().glob("*.json"))
    for pk, (path, digest) in files.items():
        product = Product.objects.get(pk=pk)
        assert product.state == ProductState.MOVED and md5_of(product.path) == digest == product.md5
        if product.kind != ProductKind.PLOT:
            assert not Path(path).exists()
    assert set(AssociationBlock.objects.filter(pk__in=[a.pk for a in abs_])
               .values_list("moved_at", flat=True)) - {None}  # fmt: skip
    assert not AssociationBlock.objects.filter(pk__in=[a.pk for a in abs_], moved_at=None).exists()


def test_a_product_without_a_naming_rule_is_not_moved_and_says_which_key(naco):
    naco.config["naming"]["types"].pop("COADDED_IMG")
    naco.save(update_fields=["config"])
    science = successes(AbCategory.SCIENCE)[0]
    certify([science])
    result = move([science])
    assert result.moved == []
    (name, why), = result.refused
    assert name == science.ab_name and "no naming rule for PRO.CATG COADDED_IMG" in why
    assert "[naming.types]" in why
    assert Product.objects.filter(ab=science, state=ProductState.CERTIFIED).exists()


def test_load_instances_refuses_a_scheme_that_cannot_name_a_declared_product(db, tmp_path, settings):
    source = Path(settings.PHOENIX_INSTANCES_DIR) / "NACO"
    target = tmp_path / "instances" / "NACO"
    shutil.copytree(source, target)
    config = target / "config.toml"
    config.write_text(config.read_text().replace('COADDED_IMG = { code = "SIMG"', 'X_IMG = { code = "SIMG"'))
    with pytest.raises(InstanceConfigError, match=r"naming.types: no name code for PRO.CATG COADDED_IMG \(declared in rules.oca\)"):
        load_instance(target)
