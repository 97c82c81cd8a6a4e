"""createAB on simulated NACO nights: the ABs an ESO QC scientist expects, from OCA rules.

The simulator's manifest is the truth: which frames belong to which template, with which
setup. Expectations are derived from it (never from what the engine did), e.g. "the flat
associated to a jitter AB is the closest twilight-flat template in the same filter and
camera".
"""

import json
import os
from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from processing.abs.create import CreateAbsError, create_abs
from processing.abs.scope import Scope
from processing.choices import AbStatus, CalibrationKind, Completeness
from processing.data_pool import import_headers
from processing.models import (
    AbCalibration,
    AssociationBlock,
    Batch,
    CalSelectorPeriod,
    Instance,
    Product,
    RawFrame,
)
from processing.simulation import simulate_nights

FIRST_NIGHT = date(2009, 6, 15)
NIGHT = "2009-06-16"


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    """Three simulated NACO nights on disk (once per module) and their manifest."""
    out = tmp_path_factory.mktemp("naco")
    manifest = simulate_nights(FIRST_NIGHT, 3, out, seed=1, broken=False).as_dict()
    return out, manifest


@pytest.fixture
def naco(db, simulated):
    call_command("load_instances", stdout=open(os.devnull, "w"))
    summary = import_headers([simulated[0]])
    assert not summary.failed
    return Instance.objects.get(name="NACO")


@pytest.fixture
def manifest(simulated):
    return simulated[1]


def not_complete(instance):
    instance.complete_mode = False
    instance.save(update_fields=["complete_mode"])
    return instance


def make(instance, scope, **kwargs):
    return create_abs(instance, scope, **kwargs)


def date_scope(text=NIGHT):
    return Scope.for_date(text)


def sequences(manifest, raw_type, night=None):
    """{sequence: [manifest entries in time order]} of one RAW_TYPE (and night)."""
    found = {}
    for entry in manifest["files"]:
        if entry["raw_type"] == raw_type and (night is None or entry["night"] == night):
            found.setdefault(entry["sequence"], []).append(entry)
    return {k: sorted(v, key=lambda e: e["mjd_obs"]) for k, v in found.items()}


def ab_name_of(entries):
    return entries[0]["arcfile"][: -len(".fits")] + "_tpl"


def abs_of(instance, **filters):
    return {ab.ab_name: ab for ab in AssociationBlock.objects.filter(instance=instance, **filters)}


def snapshot(instance):
    """Everything createAB writes, in comparable form."""
    state = {}
    for ab in AssociationBlock.objects.filter(instance=instance).prefetch_related(
        "inputs__frame", "calibrations__source_ab", "depends_on"
    ):
        state[ab.ab_name] = (
            ab.pk, ab.raw_type, ab.completeness, tuple(ab.missing), ab.quality_level,
            tuple((i.frame.arcfile, i.tag) for i in ab.inputs.all()),
            tuple((c.tag, c.kind, c.name, c.level, round(c.delta_t, 9),
                   c.source_ab.ab_name if c.source_ab else None) for c in ab.calibrations.all()),
            tuple(sorted(d.ab_name for d in ab.depends_on.all())),
        )  # fmt: skip
    return state


def closest(entries_by_sequence, time, accept):
    """The sequence whose first frame is closest in time among those `accept` takes."""
    candidates = [(abs(e[0]["mjd_obs"] - time), name) for name, e in entries_by_sequence.items()
                  if accept(e[0])]  # fmt: skip
    return min(candidates)[1] if candidates else None


# --- a date in COMPLETE_MODE, raw2raw (the instance defaults) -----------------------------


@pytest.mark.django_db
class TestDateCompleteMode:
    def test_one_jitter_ab_per_template_with_its_frames_in_order(self, naco, manifest):
        make(naco, date_scope())
        science = sequences(manifest, "SCIENCE_IMG", NIGHT)
        made = abs_of(naco, raw_type="SCIENCE_IMG")
        assert set(made) == {ab_name_of(entries) for entries in science.values()}
        assert len(made) == 5
        for entries in science.values():
            ab = made[ab_name_of(entries)]
            inputs = list(ab.inputs.order_by("position").values_list("frame__arcfile", "tag"))
            assert inputs == [(e["arcfile"], "IM_JITTER_OBJ") for e in entries]
            assert (ab.action, ab.recipe, ab.category) == ("JITTER", "naco_img_jitter", "SCIENCE")

    def test_flats_and_darks_are_the_closest_matching_calibration_abs(self, naco, manifest):
        make(naco, date_scope())
        flats = sequences(manifest, "FLAT_SKY")
        darks = sequences(manifest, "DARK")
        for entries in sequences(manifest, "SCIENCE_IMG", NIGHT).values():
            first = entries[0]
            setup = first["setup"]
            ab = AssociationBlock.objects.get(ab_name=ab_name_of(entries))
            calibrations = {c.tag: c for c in ab.calibrations.select_related("source_ab")}
            assert ab.completeness == Completeness.COMPLETE, ab.missing
            flat = calibrations["MASTER_IMG_FLAT"]
            expected = closest(flats, first["mjd_obs"], lambda e: (
                e["setup"]["filter"], e["setup"]["camera"]) == (setup["filter"], setup["camera"]))
            assert flat.source_ab.ab_name == ab_name_of(flats[expected])
            assert flat.kind == CalibrationKind.VIRTUAL and flat.level == 0
            assert flat.delta_t == pytest.approx(flats[expected][0]["mjd_obs"] - first["mjd_obs"])
            dark = calibrations["NACO_IMG_DARK_AVG"]
            expected = closest(darks, first["mjd_obs"], lambda e: (
                e["setup"]["dit"], e["setup"]["detmode"], e["setup"]["camera"]
            ) == (setup["dit"], setup["detmode"], setup["camera"]))  # fmt: skip
            assert dark.source_ab.ab_name == ab_name_of(darks[expected])
            assert dark.pro_catg == "NACO_IMG_DARK_AVG" and dark.level == 0
            assert set(ab.depends_on.values_list("ab_name", flat=True)) == {
                flat.source_ab.ab_name, dark.source_ab.ab_name}
            assert ab.virtual and ab.quality_level == 0

    def test_only_the_calibrations_the_science_needs(self, naco, manifest):
        result = make(naco, date_scope())
        calib = abs_of(naco, category="CALIB")
        needed = set()
        for ab in AssociationBlock.objects.filter(category="SCIENCE"):
            needed |= set(ab.depends_on.values_list("ab_name", flat=True))
        for name in list(needed):  # the flats' own darks
            needed |= set(AssociationBlock.objects.get(ab_name=name)
                          .depends_on.values_list("ab_name", flat=True))
        assert set(calib) == needed
        assert {ab.raw_type for ab in calib.values()} == {"DARK", "FLAT_SKY"}
        # the standard stars and the 0.5 s darks of the night are not needed by any science
        not_created = {e["ab"]: e for e in result.summary()["not_created"]}
        for entries in sequences(manifest, "STD_IMG", NIGHT).values():
            assert "COMPLETE_MODE" in not_created[ab_name_of(entries)]["why"]
        dark_05 = [n for n, e in sequences(manifest, "DARK", NIGHT).items()
                   if e[0]["setup"]["dit"] == 0.5]  # fmt: skip
        assert dark_05 and all(ab_name_of(sequences(manifest, "DARK")[n]) not in calib
                               for n in dark_05)  # fmt: skip

    def test_twilight_flat_ab_takes_the_dark_of_its_dit(self, naco, manifest):
        make(naco, date_scope())
        for ab in AssociationBlock.objects.filter(raw_type="FLAT_SKY"):
            tags = list(ab.inputs.values_list("tag", flat=True))
            assert set(tags) == {"CAL_FLAT_TW"} and len(tags) == 7
            (dark,) = ab.calibrations.all()
            assert dark.tag == "CAL_DARK"
            primary = ab.inputs.get(position=0).frame.keywords
            dark_primary = dark.source_ab.inputs.get(position=0).frame.keywords
            for key in ("DET.DIT", "DET.MODE.NAME", "INS.OPTI7.NAME"):
                assert dark_primary[key] == primary[key]

    def test_qualifiers(self, naco, manifest):
        make(naco, date_scope())
        entries = sequences(manifest, "SCIENCE_IMG", NIGHT)
        first = min(entries.values(), key=lambda e: e[0]["mjd_obs"])
        ab = AssociationBlock.objects.get(ab_name=ab_name_of(first))
        frame = RawFrame.objects.get(arcfile=first[0]["arcfile"])
        assert ab.batch_label == f"SCIENCE_{NIGHT}" and ab.night == date(2009, 6, 16)
        assert (ab.drs_type, ab.ab_event, ab.raw_type) == ("CPL", "TPL_A", "SCIENCE_IMG")
        assert ab.obs_prog_id == first[0]["run_id"] and ab.obs_id == first[0]["obs_id"]
        assert ab.mjd_obs == pytest.approx(first[0]["mjd_obs"])
        assert ab.mjd_obs_mod == pytest.approx(ab.mjd_obs + frame.keywords["EXPTIME"] / 2 / 86400)
        assert ab.prod_root_name == f"r.{ab.ab_name}"
        assert ab.raw_match_key["TPL.START"] == first[0]["template"]["start"]
        assert ab.raw_match_key["INS.OPTI7.NAME"] == "S27"
        assert ab.parameters == ["--combine_method=first"]
        assert ab.products_expected == [{"name": "COADDED_IMG", "pro_catg": "COADDED_IMG"}]
        assert ab.target == first[0]["target"]
        assert ab.status == AbStatus.CREATED
        dark = AssociationBlock.objects.filter(raw_type="DARK").first()
        assert dark.obs_mode == "NONE" and dark.batch_label.startswith("CALIB_")

    def test_batch_and_audit(self, naco):
        from processing.models import AuditEvent

        result = make(naco, date_scope(), actor_name="tester")
        batch = Batch.objects.get()
        assert result.batch == batch and (batch.scope_kind, batch.scope) == ("date", NIGHT)
        count = AssociationBlock.objects.count()
        assert batch.summary["abs"] == count > 5
        assert set(AssociationBlock.objects.values_list("batch", flat=True)) == {batch.pk}
        event = AuditEvent.objects.get(action="create_abs")
        assert event.actor_name == "tester" and f"{count} ABs" in event.message


@pytest.mark.django_db
def test_missing_flat_makes_an_incomplete_ab_that_says_what_is_missing(naco, manifest):
    """The S13 camera has no twilight flats: its jitter AB is INCOMPLETE, not dropped."""
    result = make(naco, date_scope("2009-06-15"))
    s13 = [e for e in sequences(manifest, "SCIENCE_IMG", "2009-06-15").values()
           if e[0]["setup"]["camera"] == "S13"]  # fmt: skip
    assert s13
    ab = AssociationBlock.objects.get(ab_name=ab_name_of(s13[0]))
    assert ab.completeness == Completeness.INCOMPLETE
    assert len(ab.missing) == 1 and ab.missing[0].startswith("MASTER_IMG_FLAT: no CALIB AB")
    assert ab.calibrations.filter(tag="NACO_IMG_DARK_AVG").count() == 1
    assert {"ab": ab.ab_name, "missing": ab.missing} in result.summary()["incomplete"]


# --- not COMPLETE_MODE: every CALIB AB of the date ----------------------------------------


@pytest.mark.django_db
class TestDateAllCalibrations:
    def test_every_calibration_template_makes_an_ab(self, naco, manifest):
        make(not_complete(naco), date_scope())
        for raw_type, action in (("DARK", "DARK"), ("FLAT_SKY", "TWFLAT"), ("STD_IMG", "ZPOINT")):
            expected = {ab_name_of(e) for e in sequences(manifest, raw_type, NIGHT).values()}
            made = set(abs_of(naco, raw_type=raw_type, night=date(2009, 6, 16)))
            assert made == expected, raw_type
            assert set(AssociationBlock.objects.filter(raw_type=raw_type)
                       .values_list("action", flat=True)) == {action}  # fmt: skip

    def test_standard_star_needs_the_static_catalogue(self, naco):
        make(not_complete(naco), date_scope())
        for ab in AssociationBlock.objects.filter(raw_type="STD_IMG"):
            assert ab.completeness == Completeness.INCOMPLETE
            assert ab.missing[0].startswith("IMG_STD_CATALOG:")
        catalogue = Product.objects.create(
            instance=naco, name="NACO_IMG_STD_CATALOG.fits", path="static/std.fits",
            pro_catg="IMG_STD_CATALOG", kind="static", state="certified")
        make(naco, date_scope())
        for ab in AssociationBlock.objects.filter(raw_type="STD_IMG"):
            assert ab.completeness == Completeness.COMPLETE, ab.missing
            static = ab.calibrations.get(tag="IMG_STD_CATALOG")
            assert (static.kind, static.product, static.level) == ("static", catalogue, 0)

    def test_no_frame_is_dropped_silently(self, naco, manifest, simulated):
        from tests.factories import write_frame
        from datetime import datetime, timezone

        odd = write_frame(simulated[0].parent / "odd", datetime(2009, 6, 17, 1, 0, tzinfo=timezone.utc),
                          catg="TECHNICAL", type_="LAMP", tech="IMAGE")
        import_headers([odd])
        result = make(not_complete(naco), date_scope())
        summary = result.summary()
        in_abs = set(AssociationBlock.objects.filter(night=date(2009, 6, 16))
                     .values_list("inputs__frame__arcfile", flat=True))  # fmt: skip
        listed = {e["arcfile"] for e in summary["unclassified"] + summary["unsupported"]}
        night = set(RawFrame.objects.filter(night=date(2009, 6, 16)).values_list("arcfile", flat=True))
        assert night == in_abs | listed and not in_abs & listed
        assert [e["arcfile"] for e in summary["unclassified"]] == [odd.name]
        unsupported = {e["raw_type"] for e in summary["unsupported"]}
        assert unsupported >= {"ACQUISITION", "POLARIMETRY", "CORONAGRAPHY", "FLAT_LAMP"}


# --- re-creation ---------------------------------------------------------------------------


@pytest.mark.django_db
class TestRecreation:
    def test_running_twice_gives_the_same_abs(self, naco):
        first = make(naco, date_scope())
        before = snapshot(naco)
        second = make(naco, date_scope())
        assert snapshot(naco) == before
        assert len(first.created) == len(before) and not first.updated
        assert not second.created and set(second.updated) <= set(before)
        # a CALIB AB of the night before (the flats' closest dark) is reused as it is
        outside = {n for n, ab in abs_of(naco).items() if ab.night != date(2009, 6, 16)}
        assert set(second.updated) == set(before) - outside
        assert AbCalibration.objects.count() == sum(len(s[6]) for s in before.values())

    def test_processed_abs_are_kept_and_stale_ones_removed(self, naco, manifest):
        make(naco, date_scope())
        science = sorted(AssociationBlock.objects.filter(category="SCIENCE"), key=lambda a: a.mjd_obs)
        done, gone, gone_done = science[0], science[1], science[2]
        AssociationBlock.objects.filter(pk__in=[done.pk, gone_done.pk]).update(status=AbStatus.SUCCESS)
        done_state = snapshot(naco)[done.ab_name]
        # the frames of two templates are hidden (e.g. declared bad): their ABs are stale
        for ab in (gone, gone_done):
            RawFrame.objects.filter(ab_inputs__ab=ab).update(hidden=True)
        result = make(naco, date_scope())
        names = set(abs_of(naco))
        assert gone.ab_name not in names and result.removed == [gone.ab_name]
        assert gone_done.ab_name in names  # processed: history stays
        assert snapshot(naco)[done.ab_name] == done_state
        assert set(result.unchanged_processed) == {done.ab_name}
        assert AssociationBlock.objects.get(pk=done.pk).batch_id != result.batch.pk

    def test_dry_run_writes_nothing(self, naco):
        result = make(naco, date_scope(), dry_run=True)
        assert result.dry_run and not result.created
        assert not AssociationBlock.objects.exists() and not Batch.objects.exists()
        make(naco, date_scope())
        assert sorted(abs_of(naco)) == sorted(ab.name for ab in result.plan.abs)


# --- calSelector: raw2master, and association quality levels -------------------------------


def raw2master(instance, start="2009-06-01", end="2009-06-30"):
    CalSelectorPeriod.objects.create(instance=instance, start=start, end=end, mode="raw2master",
                                     reason="test")


def master(instance, pro_catg, like, offset_days, state="certified", name=None):
    """A master calibration product matching the frame `like`, offset in time."""
    keywords = {k: like.keywords.get(k) for k in (
        "DET.DIT", "DET.MODE.NAME", "INS.OPTI5.ID", "INS.OPTI6.ID", "INS.OPTI7.NAME")}
    return Product.objects.create(
        instance=instance, name=name or f"{pro_catg}_{offset_days:+g}.fits",
        path=f"cal/{pro_catg}_{offset_days:+g}.fits", pro_catg=pro_catg, kind="master",
        state=state, night=like.night, mjd_obs=like.mjd_obs + offset_days, keywords=keywords)


def first_science(manifest, night=NIGHT):
    entries = min(sequences(manifest, "SCIENCE_IMG", night).values(), key=lambda e: e[0]["mjd_obs"])
    return ab_name_of(entries), RawFrame.objects.get(arcfile=entries[0]["arcfile"])


@pytest.mark.django_db
class TestRaw2Master:
    def test_certified_masters_are_associated_and_no_calib_abs_made(self, naco, manifest):
        raw2master(naco)
        name, frame = first_science(manifest)
        flat = master(naco, "MASTER_IMG_FLAT", frame, -0.2)
        dark = master(naco, "NACO_IMG_DARK_AVG", frame, 0.3)
        make(naco, date_scope())
        assert not AssociationBlock.objects.filter(category="CALIB").exists()
        ab = AssociationBlock.objects.get(ab_name=name)
        calibrations = {c.tag: c for c in ab.calibrations.all()}
        assert calibrations["MASTER_IMG_FLAT"].product == flat
        assert calibrations["NACO_IMG_DARK_AVG"].product == dark
        assert {c.kind for c in calibrations.values()} == {"master"}
        assert calibrations["MASTER_IMG_FLAT"].delta_t == pytest.approx(-0.2)
        assert not ab.virtual and not ab.depends_on.exists()
        assert ab.completeness == Completeness.COMPLETE

    def test_uncertified_masters_are_not_used(self, naco, manifest):
        raw2master(naco)
        name, frame = first_science(manifest)
        master(naco, "MASTER_IMG_FLAT", frame, -0.2, state="virtual")
        master(naco, "NACO_IMG_DARK_AVG", frame, 0.3)
        make(naco, date_scope())
        ab = AssociationBlock.objects.get(ab_name=name)
        assert ab.completeness == Completeness.INCOMPLETE
        assert ab.missing == ["MASTER_IMG_FLAT: no matching certified master calibration "
                              "(calSelector raw2master)"]

    def test_the_period_decides_the_mode_per_night(self, naco, manifest):
        raw2master(naco, "2009-06-16", "2009-06-16")
        make(naco, Scope.for_month("2009-06"))
        nights_with_calib_abs = set(
            AssociationBlock.objects.filter(category="CALIB").values_list("night", flat=True))
        science_16 = AssociationBlock.objects.filter(category="SCIENCE", night=date(2009, 6, 16))
        assert all(not ab.depends_on.exists() for ab in science_16)  # raw2master that night
        science_15 = AssociationBlock.objects.filter(category="SCIENCE", night=date(2009, 6, 15))
        assert all(ab.virtual for ab in science_15 if ab.completeness == "COMPLETE")
        assert date(2009, 6, 15) in nights_with_calib_abs

    @pytest.mark.parametrize("offset, level", [(0.5, 0), (-3.0, 1), (10.0, 2), (-13.5, 2)])
    def test_quality_level_widens_with_the_time_distance(self, naco, manifest, offset, level):
        """Darks: tryBetween ±1 d is level 0, between ±7 d level 1, ×2 widened level 2."""
        raw2master(naco, "2009-05-01", "2009-07-31")
        name, frame = first_science(manifest)
        master(naco, "MASTER_IMG_FLAT", frame, 0.1)
        master(naco, "NACO_IMG_DARK_AVG", frame, offset)
        make(naco, date_scope())
        ab = AssociationBlock.objects.get(ab_name=name)
        dark = ab.calibrations.get(tag="NACO_IMG_DARK_AVG")
        assert (dark.level, ab.quality_level) == (level, level)
        assert dark.delta_t == pytest.approx(offset)

    def test_beyond_the_accepted_level_the_ab_is_incomplete_naming_the_nearest(self, naco, manifest):
        raw2master(naco, "2009-05-01", "2009-07-31")
        name, frame = first_science(manifest)
        master(naco, "MASTER_IMG_FLAT", frame, 0.1)
        master(naco, "NACO_IMG_DARK_AVG", frame, 30.0, name="far_dark.fits")
        make(naco, date_scope())
        ab = AssociationBlock.objects.get(ab_name=name)
        assert ab.completeness == Completeness.INCOMPLETE
        (missing,) = ab.missing
        assert missing.startswith("NACO_IMG_DARK_AVG: no matching certified master")
        assert "nearest far_dark.fits at Δt +30.00 d is association level 3" in missing
        assert "beyond the accepted level 2" in missing

    def test_closer_level_wins_and_closest_within_it(self, naco, manifest):
        raw2master(naco, "2009-05-01", "2009-07-31")
        name, frame = first_science(manifest)
        master(naco, "MASTER_IMG_FLAT", frame, 0.1)
        master(naco, "NACO_IMG_DARK_AVG", frame, 0.9, name="in_plan_far.fits")
        master(naco, "NACO_IMG_DARK_AVG", frame, -0.4, name="in_plan_near.fits")
        master(naco, "NACO_IMG_DARK_AVG", frame, 5.0, name="extended.fits")
        make(naco, date_scope())
        dark = AssociationBlock.objects.get(ab_name=name).calibrations.get(tag="NACO_IMG_DARK_AVG")
        assert (dark.name, dark.level) == ("in_plan_near.fits", 0)


# --- COMPLETE_MODE months: CALIB part, SCIENCE part, and dates inside a month batch --------


@pytest.mark.django_db
class TestMonths:
    def test_calib_part_then_science_part(self, naco, manifest):
        make(naco, Scope.for_month("2009-06"), category="CALIB")
        calib = snapshot(naco)
        assert calib and all(s[1] in ("DARK", "FLAT_SKY") for s in calib.values())
        make(naco, Scope.for_month("2009-06"), category="SCIENCE")
        after = snapshot(naco)
        assert {k: v for k, v in after.items() if k in calib} == calib  # CALIB part untouched
        science = AssociationBlock.objects.filter(category="SCIENCE")
        assert science.count() == len(sequences(manifest, "SCIENCE_IMG")) == 13
        used = set()
        for ab in science:
            used |= set(ab.depends_on.values_list("ab_name", flat=True))
        assert used and used <= set(calib)
        # the CALIB part made only what the science needs (and the flats' darks)
        for ab in AssociationBlock.objects.filter(category="CALIB"):
            assert ab.dependants.exists(), ab.ab_name

    def test_a_date_inside_a_month_batch_reuses_the_month_calibrations(self, naco):
        make(naco, Scope.for_month("2009-06"))
        month = snapshot(naco)
        result = make(naco, date_scope())
        assert any("reuse the month's CALIB ABs" in n for n in result.summary()["notices"])
        assert not result.created
        assert snapshot(naco) == month  # nothing diverges
        assert all(ab.startswith("NACO") for ab in result.updated)

    def test_a_date_alone_makes_its_own_calibrations(self, naco):
        result = make(naco, date_scope())
        assert not result.summary()["notices"]
        assert set(result.created) == set(abs_of(naco))
        assert AssociationBlock.objects.filter(category="CALIB", night=date(2009, 6, 16)).exists()


# --- DEEP mode: a run ID is the scope, one AB per target ------------------------------------


@pytest.fixture
def deep(naco):
    return Instance.objects.get(name="NACO_DEEP")


@pytest.mark.django_db
class TestDeep:
    def test_one_ab_per_target_across_the_run_nights(self, deep, manifest):
        make(deep, Scope.for_run("083.B-0312(C)"))
        frames = sorted((e for e in manifest["files"] if e["run_id"] == "083.B-0312(C)"
                         and e["raw_type"] == "SCIENCE_IMG"), key=lambda e: e["mjd_obs"])  # fmt: skip
        assert len({e["night"] for e in frames}) == 3
        (ab,) = AssociationBlock.objects.filter(instance=deep, category="SCIENCE")
        assert ab.ab_name == frames[0]["arcfile"][:-5] + "_deep"
        assert list(ab.inputs.order_by("position").values_list("frame__arcfile", flat=True)) == [
            e["arcfile"] for e in frames]
        assert (ab.run_id, ab.action, ab.ab_event, ab.target) == (
            "083.B-0312(C)", "DEEP", "TARGET", "NGC 7793 F1")
        assert ab.batch_label == "SCIENCE_083.B-0312(C)" and ab.pseudo_date == "083.B-0312(C)"
        assert {c.tag for c in ab.calibrations.all()} == {"MASTER_IMG_FLAT", "NACO_IMG_DARK_AVG"}
        assert ab.completeness == Completeness.COMPLETE
        assert set(ab.depends_on.values_list("raw_type", flat=True)) == {"DARK", "FLAT_SKY"}

    def test_targets_and_filters_make_separate_abs_and_a_selects_one(self, deep, manifest):
        result = make(deep, Scope.for_run("083.D-0123(A)"))
        science = abs_of(deep, category="SCIENCE")
        assert len(science) == 2  # Omega Cen F5 in J and in Ks, each over two nights
        for ab in science.values():
            assert ab.inputs.count() == 16
            assert len(set(ab.inputs.values_list("frame__night", flat=True))) == 2
        assert result.summary()["science_abs"] == 2

    def test_a_selects_one_ab_of_the_run(self, deep):
        names = make(deep, Scope.for_run("083.D-0123(A)"), dry_run=True).plan.in_scope_names
        chosen = names[1]
        result = make(deep, Scope.for_run("083.D-0123(A)"), ab_name=chosen)
        assert set(abs_of(deep, category="SCIENCE")) == {chosen}
        assert result.batch.ab_name == chosen
        needed = set(AssociationBlock.objects.get(ab_name=chosen).depends_on.values_list(
            "ab_name", flat=True))
        assert set(abs_of(deep, category="CALIB")) >= needed and needed
        with pytest.raises(CreateAbsError, match=r"-a: the run 083.D-0123\(A\) has no AB named 'X'; its ABs are: NACO"):
            make(deep, Scope.for_run("083.D-0123(A)"), ab_name="X")

    def test_scope_kinds_must_fit_the_instance_mode(self, deep, naco):
        with pytest.raises(CreateAbsError, match="DEEP mode: its scope is a run ID"):
            make(deep, date_scope())
        with pytest.raises(CreateAbsError, match="run IDs are the scope of DEEP instances"):
            make(naco, Scope.for_run("083.D-0123(A)"))
        with pytest.raises(CreateAbsError, match="-a selects one AB of a run"):
            make(naco, date_scope(), ab_name="X")


# --- the command ----------------------------------------------------------------------------


@pytest.mark.django_db
class TestCommand:
    def test_json_summary_is_the_last_line(self, naco):
        out, err = StringIO(), StringIO()
        call_command("create_abs", "--instance", "NACO", "-d", NIGHT, "--json", stdout=out, stderr=err)
        summary = json.loads(out.getvalue().strip().splitlines()[-1])
        per_raw_type = {}
        for raw_type in AssociationBlock.objects.values_list("raw_type", flat=True):
            per_raw_type[raw_type] = per_raw_type.get(raw_type, 0) + 1
        assert summary["per_raw_type"] == per_raw_type and per_raw_type["SCIENCE_IMG"] == 5
        calib = summary["abs"] - 5
        assert f"made {summary['abs']} ABs ({calib} CALIB, 5 SCIENCE)" in err.getvalue()
        assert "unsupported frame(s), not in any AB" in err.getvalue()

    def test_dry_run_and_mode(self, naco):
        out = StringIO()
        call_command("create_abs", "--instance", "NACO", "-m", "2009-06", "--mode", "CALIB",
                     "--dry-run", stdout=out)
        assert "2009-06: would make" in out.getvalue()
        assert not AssociationBlock.objects.exists()

    @pytest.mark.parametrize("args, message", [
        (["--instance", "UVES", "-d", NIGHT], "unknown instance 'UVES'"),
        (["--instance", "NACO", "-d", "2009-13-01"], "-d: '2009-13-01' is not a date"),
        (["--instance", "NACO", "-m", "2009-6"], "-m: '2009-6' is not a month"),
        (["--instance", "NACO_DEEP", "-r", "083.D-0123"], "is a programme ID; give the run"),
        (["--instance", "NACO_DEEP", "-r", "ABC"], "-r: "),
    ])  # fmt: skip
    def test_bad_arguments_name_the_argument(self, naco, args, message):
        with pytest.raises(CommandError, match=message.replace("(", r"\(")):
            call_command("create_abs", *args, stdout=StringIO())
        assert not AssociationBlock.objects.exists()

    def test_rules_that_do_not_parse_are_reported(self, naco):
        naco.rules_text = "if DPR.CATG = \"X\" then { }"
        naco.rules_hash = "broken"
        naco.save()
        with pytest.raises(CommandError, match=r"rules of NACO do not parse: .*rules.oca:1:13: "
                                               r"unexpected '=': in a condition, equality is written '=='"):
            call_command("create_abs", "--instance", "NACO", "-d", NIGHT, stdout=StringIO())


@pytest.mark.django_db
def test_instances_with_historical_ab_files_refuse_to_create_them(naco):
    naco.ab_source, naco.ab_source_date = "import", date(2009, 6, 16)
    naco.config = {**naco.config, "ab_source": {"mode": "import", "import_dir": "/abs"}}
    naco.save()
    with pytest.raises(CreateAbsError, match=r"NACO takes the ABs of nights before 2009-06-16 "
                                             r"from historical AB files .*import_abs --instance NACO /abs/"):
        make(naco, date_scope("2009-06-15"))
    with pytest.raises(CreateAbsError, match="2009-06 straddles 2009-06-16"):
        make(naco, Scope.for_month("2009-06"))
    assert make(naco, date_scope("2009-06-16")).created  # from create_from on: createAB


@pytest.mark.django_db
def test_calibration_abs_another_scope_uses_are_not_removed(naco):
    """Night 16's flats take the dark of the night before; re-creating night 15 when it no
    longer needs that dark (raw2master) must not pull it from under night 16."""
    make(naco, date_scope())
    borrowed = AssociationBlock.objects.filter(category="CALIB", night=date(2009, 6, 15))
    assert borrowed.exists()
    names = set(borrowed.values_list("ab_name", flat=True))
    raw2master(naco, "2009-06-15", "2009-06-15")  # night 15 itself now needs no CALIB AB
    result = make(naco, date_scope("2009-06-15"))
    assert not set(result.created) & names
    assert names <= set(abs_of(naco))
    assert not AbCalibration.objects.filter(kind="virtual", source_ab__isnull=True).exists()
