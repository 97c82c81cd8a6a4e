"""The association engine without a database: windows, levels, index lookups, cycles."""

from datetime import date

import pytest

from processing.abs import engine
from processing.abs.plan import SelectPlan, level_windows
from processing.abs.pool import Record
from processing.oca import parse_rules

DARK_SELECT = """
action SCI {
  minRet = 1; maxRet = 1;
  select file as MASTER_DARK from calibFiles where PRO.CATG == "MASTER_DARK"
    and inputFile.DET.DIT == DET.DIT
    and MJD-OBS tryBetween inputFile.MJD-OBS - 1 and inputFile.MJD-OBS + 1
    and MJD-OBS between inputFile.MJD-OBS - 7 and inputFile.MJD-OBS + 7;
  recipe sci;
}
"""


def select_of(text, action="SCI", index=0):
    return parse_rules(text, "t.oca").actions[action].selects[index]


def master(name, mjd, **values):
    return Record("master", hash(name) % 10_000, name, mjd, None,
                  {"PRO.CATG": "MASTER_DARK", **values})


class TestWindows:
    def test_levels_of_a_calibration_plan_and_its_extended_validity(self):
        assert level_windows((-1, 1), (-7, 7), 2.0, 60) == [(-1, 1), (-7, 7), (-14, 14), (-60, 60)]

    def test_without_trybetween_the_hard_window_is_level_0(self):
        assert level_windows(None, (-3, 3), 2.0, 60) == [(-3, 3), (-6, 6), (-12, 12), (-60, 60)]

    def test_previous_rule_widens_only_backwards(self):
        select = select_of("""action SCI { select file as BIAS from calibFiles
            where PRO.CATG == "BIAS" and MJD-OBS < inputFile.MJD-OBS
            and MJD-OBS > inputFile.MJD-OBS - 2; recipe x; }""")
        plan = SelectPlan(select, 2.0, 60)
        assert plan.windows == [(-2, 0), (-4, 0), (-8, 0), (-60, 0)]

    def test_without_time_terms_anything_within_search_days(self):
        plan = SelectPlan(select_of("""action SCI { select file as F from calibFiles
            where PRO.CATG == "F"; recipe x; }"""), 2.0, 30)
        assert plan.windows == [(-30, 30)] * 4 and not plan.match_keys


class TestIndex:
    def plan(self):
        return SelectPlan(select_of(DARK_SELECT), 2.0, 60)

    def test_match_keys_and_candidate_filter_are_split_out(self):
        plan = self.plan()
        assert plan.match_keys == (("DET.DIT", "DET.DIT"),) and plan.timed
        assert plan.accepts(master("a", 1.0, **{"DET.DIT": 2}))
        assert not plan.accepts(Record("master", 1, "b", 1.0, None, {"PRO.CATG": "FLAT"}))

    def test_match_keys_pair_values_the_evaluator_calls_equal(self):
        """A DIT written as text in one header and as a number in another still matches."""
        records = [master("text_dit", 100.1, **{"DET.DIT": " 2.0"}),
                   master("bool", 100.0, **{"DET.DIT": True})]
        index = self.plan().index(records)
        assert [r.name for r in index.find({"DET.DIT": 2}, 100.0, 2).records] == ["text_dit"]
        assert [r.name for r in index.find({"DET.DIT": "T"}, 100.0, 2).records] == ["bool"]

    def test_the_lowest_level_wins_then_the_closest(self):
        records = [master("far_in_plan", 100.9, **{"DET.DIT": 2.0}),
                   master("near_in_plan", 99.6, **{"DET.DIT": 2}),
                   master("extended", 100.2 + 5, **{"DET.DIT": 2}),
                   master("other_dit", 100.0, **{"DET.DIT": 5})]  # fmt: skip
        found = self.plan().index(records).find({"DET.DIT": 2.0}, 100.0, max_level=2)
        assert [r.name for r in found.records] == ["near_in_plan"] and found.levels == [0]

    def test_nothing_at_an_accepted_level_reports_the_nearest_beyond(self):
        records = [master("too_far", 130.0, **{"DET.DIT": 2})]
        found = self.plan().index(records).find({"DET.DIT": 2}, 100.0, max_level=2)
        assert found.records == [] and found.nearest_beyond[0].name == "too_far"
        assert found.nearest_beyond[1:] == (30.0, 3)
        found = self.plan().index(records).find({"DET.DIT": 2}, 100.0, max_level=3)
        assert found.levels == [3]

    def test_max_ret_all_and_static_calibrations(self):
        select = select_of("""action SCI { minRet = 2; maxRet = -1;
            select file as FLAT from calibFiles where PRO.CATG == "MASTER_DARK"
            and MJD-OBS between inputFile.MJD-OBS - 1 and inputFile.MJD-OBS + 1; recipe x; }""")
        records = [master(f"m{i}", 100 + i / 10) for i in range(-3, 4)]
        found = SelectPlan(select, 2.0, 60).index(records).find({}, 100.0, 2)
        assert len(found.records) == 7 and found.records[0].name == "m0"
        static = Record("static", 1, "catalogue", None, None, {"PRO.CATG": "MASTER_DARK"})
        found = SelectPlan(select, 2.0, 60).index([static] + records).find({}, 100.0, 2)
        assert [r.name for r in found.records] == ["catalogue"] and found.levels == [0]


CYCLE_RULES = """
if DPR.TYPE == "A" then { RAW.TYPE = "A"; CATG = "CALIB"; }
if DPR.TYPE == "B" then { RAW.TYPE = "B"; CATG = "CALIB"; }
if DPR.TYPE == "S" then { RAW.TYPE = "S"; CATG = "SCIENCE"; }
select execute(MAKE_A) from inputFiles where RAW.TYPE == "A" group by TPL.START as (TPL_A, tpl);
select execute(MAKE_B) from inputFiles where RAW.TYPE == "B" group by TPL.START as (TPL_A, tpl);
select execute(SCI) from inputFiles where RAW.TYPE == "S" group by TPL.START as (TPL_A, tpl);
action MAKE_A { select file as PB from calibFiles where PRO.CATG == "PB"; recipe a;
                product PA { PRO.CATG = "PA"; } }
action MAKE_B { select file as PA from calibFiles where PRO.CATG == "PA"; recipe b;
                product PB { PRO.CATG = "PB"; } }
action SCI { select file as PA from calibFiles where PRO.CATG == "PA"; recipe s; }
"""


def raw(pk, dpr_type, mjd, catg="CALIB"):
    values = {"DPR.CATG": catg, "DPR.TYPE": dpr_type, "TPL.START": f"t{pk}",
              "ARCFILE": f"X.{pk:04d}.fits"}
    return Record("raw", pk, f"X.{pk:04d}.fits", mjd, date(2020, 1, 1), values)


def test_calibration_abs_that_need_each_other_are_incomplete_with_the_cycle_named():
    ruleset = parse_rules(CYCLE_RULES, "cycle.oca")
    frames = [raw(1, "A", 100.0), raw(2, "B", 100.1), raw(3, "S", 100.2, "SCIENCE")]
    plan = engine.plan_abs(ruleset, engine.Settings(complete_mode=True), frames,
                           lambda r: True, [], [])
    by_name = {ab.name: ab for ab in plan.abs}
    assert set(by_name) == {"X.0001_tpl", "X.0002_tpl", "X.0003_tpl"}
    for name in ("X.0001_tpl", "X.0002_tpl"):
        assert any(m.startswith("dependency cycle:") for m in by_name[name].missing)
        assert by_name[name].completeness == "INCOMPLETE"
    assert plan.notices and "X.0001_tpl" in plan.notices[0] and "X.0002_tpl" in plan.notices[0]
    science = by_name["X.0003_tpl"]
    assert science.depends_on == [by_name["X.0001_tpl"]]


def test_an_organisation_naming_an_undefined_action_makes_an_incomplete_ab():
    ruleset = parse_rules('if DPR.TYPE == "S" then { RAW.TYPE = "S"; }\n'
                          'select execute(NOPE) from inputFiles where RAW.TYPE == "S" '
                          'group by TPL.START;', "x.oca")
    plan = engine.plan_abs(ruleset, engine.Settings(), [raw(1, "S", 1.0, "SCIENCE")],
                           lambda r: True, [], [])
    (ab,) = plan.abs
    assert ab.missing == ["action NOPE is not defined in the rules"]
    assert ruleset.warnings and "no action NOPE is defined" in ruleset.warnings[0]


@pytest.mark.parametrize("max_level", [0, 1])
def test_max_level_setting_limits_what_is_accepted(max_level):
    ruleset = parse_rules(DARK_SELECT + """
        if DPR.TYPE == "S" then { RAW.TYPE = "S"; CATG = "SCIENCE"; }
        select execute(SCI) from inputFiles where RAW.TYPE == "S" group by TPL.START;""", "m.oca")
    science = raw(1, "S", 100.0, "SCIENCE")
    science.values["DET.DIT"] = 2
    plan = engine.plan_abs(ruleset, engine.Settings(max_level=max_level,
                                                           mode_of_night=lambda n: "raw2master"), [science],
                           lambda r: True, [master("d", 103.0, **{"DET.DIT": 2})], [])
    (ab,) = plan.abs
    if max_level == 1:
        assert [c.level for c in ab.calibrations] == [1] and not ab.missing
    else:
        assert not ab.calibrations and "association level 1" in ab.missing[0]
