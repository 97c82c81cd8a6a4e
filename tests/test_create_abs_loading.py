"""createAB loads the calibration frames of a few nights around a scope and widens only when
an AB to be written relies on frames further out: its ABs are those a load of the full
±(search_days + 1) window gives, on simulated NACO nights with a gap (15-17 and 27 June).
"""

import os
from datetime import date

import pytest
from django.core.management import call_command

from processing.abs import create
from processing.abs.create import create_abs
from processing.abs.scope import Scope
from processing.data_pool import import_headers
from processing.models import AssociationBlock, Instance, RawFrame
from processing.simulation import simulate_nights

FAR_NIGHT = date(2009, 6, 27)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    """Three nights from 15 June and one on 27 June (once per module): their manifest entries."""
    out = tmp_path_factory.mktemp("naco-gap")
    files = []
    for start, nights in ((date(2009, 6, 15), 3), (FAR_NIGHT, 1)):
        manifest = simulate_nights(start, nights, out / start.isoformat(), seed=1, broken=False)
        files += manifest.as_dict()["files"]
    return out, files


@pytest.fixture
def naco(db, simulated):
    call_command("load_instances", stdout=open(os.devnull, "w"))
    summary = import_headers([simulated[0]])
    assert not summary.failed
    return Instance.objects.get(name="NACO")


@pytest.fixture
def files(simulated):
    return simulated[1]


def full_window(monkeypatch):
    """Make createAB load all search_days + 1 nights around the scope from the start."""
    monkeypatch.setattr(create, "_plan_nights", lambda ruleset, settings: 10**6)


def decisions(plan):
    """Everything the plan decided, comparable between two plans."""
    return sorted(
        (ab.name, ab.category, ab.in_scope, tuple(r.name for r in ab.frames), tuple(ab.missing),
         tuple((c.tag, c.record.name, round(c.delta_t, 9), c.level) for c in ab.calibrations),
         tuple(sorted(source.name for source in ab.depends_on)))
        for ab in plan.abs
    )  # fmt: skip


def templates(files, raw_type, night):
    """{sequence: [entries in time order]} of one RAW_TYPE on one night."""
    found = {}
    for entry in files:
        if entry["raw_type"] == raw_type and entry["night"] == night.isoformat():
            found.setdefault(entry["sequence"], []).append(entry)
    return {k: sorted(v, key=lambda e: e["mjd_obs"]) for k, v in found.items()}


def ab_name(entries):
    return entries[0]["arcfile"][: -len(".fits")] + "_tpl"


@pytest.mark.django_db
@pytest.mark.parametrize("scope", ["2009-06-16", "2009-06-17", "2009-06-27", "2009-06"])
def test_a_few_nights_around_decide_as_the_full_window(naco, monkeypatch, scope):
    scope = Scope.for_month(scope) if len(scope) == 7 else Scope.for_date(scope)
    near = create_abs(naco, scope, dry_run=True)
    full_window(monkeypatch)
    full = create_abs(naco, scope, dry_run=True)
    assert full.loading["nights_around"] == 61 and full.loading["plans"] == 1
    assert near.plan.abs
    assert decisions(near.plan) == decisions(full.plan)
    assert near.summary() == full.summary()


@pytest.mark.django_db
def test_calibration_plans_within_days_load_a_few_nights(naco):
    """On 16 June every AB finds its flat and dark within their calibration plans (±3 d and
    ±1 d in the NACO rules): the frames of 3 + 1 nights on either side suffice."""
    result = create_abs(naco, Scope.for_date("2009-06-16"), dry_run=True)
    assert result.loading["nights_around"] == 4 and result.loading["plans"] == 1
    assert {c.level for ab in result.plan.abs for c in ab.calibrations} == {0}
    scope_frames = RawFrame.objects.filter(night=date(2009, 6, 16))
    around = RawFrame.objects.filter(night__range=(date(2009, 6, 12), date(2009, 6, 20)))
    around = around.exclude(night=date(2009, 6, 16)).exclude(dpr_catg="SCIENCE")
    assert result.loading["frames"] == scope_frames.count() + around.count()


@pytest.fixture
def far_flats_only(naco, files):
    """No H and Ks twilight flats on 15-17 June: the next ones are those of 27 June."""
    gap = (date(2009, 6, 15), date(2009, 6, 17))
    hidden = [e["arcfile"] for e in files if e["raw_type"] == "FLAT_SKY"
              and gap[0].isoformat() <= e["night"] <= gap[1].isoformat()
              and e["setup"]["filter"] in ("H", "Ks")]  # fmt: skip
    assert RawFrame.objects.filter(arcfile__in=hidden).update(hidden=True) == len(hidden) > 0
    return naco


@pytest.mark.django_db
def test_a_flat_found_further_away_widens_the_load_that_far_only(far_flats_only, files):
    """The H and Ks science of 16 June takes the flats of 27 June (level 1, ±30 d):
    createAB loads up to that night, not all 61."""
    result = create_abs(far_flats_only, Scope.for_date("2009-06-16"))
    nights = (FAR_NIGHT - date(2009, 6, 16)).days
    assert nights < result.loading["nights_around"] < 61 and result.loading["plans"] >= 2
    far_flats = templates(files, "FLAT_SKY", FAR_NIGHT)
    science = templates(files, "SCIENCE_IMG", date(2009, 6, 16))
    checked = 0
    for entries in science.values():
        wanted = entries[0]["setup"]["filter"]
        if wanted not in ("H", "Ks"):
            continue
        (flat_name,) = [ab_name(e) for e in far_flats.values()
                        if e[0]["setup"]["filter"] == wanted]  # fmt: skip
        ab = AssociationBlock.objects.get(ab_name=ab_name(entries))
        flat = ab.calibrations.select_related("source_ab").get(tag="MASTER_IMG_FLAT")
        assert (flat.source_ab.ab_name, flat.level) == (flat_name, 1)
        assert flat.source_ab.night == FAR_NIGHT
        checked += 1
    assert checked


@pytest.mark.django_db
@pytest.mark.parametrize("category", [None, "CALIB"])
def test_a_widened_load_decides_as_the_full_window(far_flats_only, monkeypatch, files, category):
    """Also with --mode CALIB, where the science that decides which CALIB ABs are made is
    not written itself."""
    scope = Scope.for_date("2009-06-16")
    near = create_abs(far_flats_only, scope, category=category, dry_run=True)
    assert near.loading["nights_around"] < 61
    far_flats = {ab_name(e) for e in templates(files, "FLAT_SKY", FAR_NIGHT).values()}
    assert far_flats <= {ab.name for ab in near.plan.abs}
    full_window(monkeypatch)
    full = create_abs(far_flats_only, scope, category=category, dry_run=True)
    assert decisions(near.plan) == decisions(full.plan)
