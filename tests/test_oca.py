"""The OCA rule language: parser, preprocessor, evaluator, rule sets and check_rules.

Pure Python except the check_rules tests, which run the command (no database).
"""

import json
from datetime import datetime, timezone
from io import StringIO
from pathlib import Path

import pytest
from astropy.io import fits
from django.core.management import CommandError, call_command

from processing.abs.plan import SelectPlan
from processing.oca import OcaSyntaxError, compile_condition, parse_rules, parse_rules_file
from processing.oca import ast
from processing.oca.ruleset import keys_of
from tests.factories import frame_header, write_frame

ROOT = Path(__file__).resolve().parent.parent
NACO_RULES = ROOT / "processing" / "instances" / "NACO" / "rules.oca"
DEEP_RULES = ROOT / "processing" / "instances" / "NACO_DEEP" / "rules.oca"
HAWKI_RULES = ROOT / "tests" / "data" / "oca" / "hawki.oca"


# --- helpers -----------------------------------------------------------------------------


def condition(text):
    """A classification condition, parsed and compiled."""
    rules = parse_rules(f'if {text} then {{ RAW.TYPE = "HIT"; }}')
    return compile_condition(rules.classifications[0].condition)


def holds(text, values, input_values=None):
    return condition(text)(values, input_values)


def association(text):
    """The condition of one select in an action, parsed (AST) — may use inputFile. keys."""
    rules = parse_rules(f"action A {{ select file as T from calibFiles where {text}; }}")
    return rules.actions["A"].selects[0].condition


def syntax_error(text, source="rules.oca", include_dirs=()):
    with pytest.raises(OcaSyntaxError) as info:
        parse_rules(text, source, include_dirs)
    return info.value


def where(error):
    return (Path(error.file).name, error.line, error.column)


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


RULE = 'if A == 1 then {{ RAW.TYPE = "{}"; }}\n'


# --- the HAWK-I example (domain notes §4.5) ------------------------------------------------


@pytest.fixture(scope="module")
def hawki():
    return parse_rules_file(HAWKI_RULES)


class TestHawki:
    def test_rule_counts(self, hawki):
        assert len(hawki.classifications) == 2
        assert len(hawki.organisations) == 3
        assert list(hawki.actions) == ["SCIENCE_FRAMES"]
        assert hawki.files == [str(HAWKI_RULES)]

    def test_science_frames_selects_as_written(self, hawki):
        action = hawki.actions["SCIENCE_FRAMES"]
        assert [s.tag for s in action.selects] == [
            "MASTER_TWILIGHT_FLAT", "MASTER_DARK", "MASTER_READGAIN_WKF"]
        assert [s.source for s in action.selects] == ["calibFiles"] * 3
        assert [(s.min_ret, s.max_ret) for s in action.selects] == [(1, 1), (1, 1), (0, 1)]
        assert action.selects[0].position.line == 26
        assert action.position.line == 23

    def test_recipe_and_products(self, hawki):
        action = hawki.actions["SCIENCE_FRAMES"]
        assert action.recipe == "hawki_science_process"
        assert action.parameters == ()
        assert [(p.name, p.pro_catg) for p in action.products] == [
            ("BASIC_CALIBRATED_SCI", "BASIC_CALIBRATED_SCI"),
            ("JITTERED_IMAGE_SCI", "JITTERED_IMAGE_SCI"),
        ]
        assert hawki.summary()["recipes"] == ["hawki_science_process"]

    def test_organisation_with_and_without_as(self, hawki):
        darks, science, noise = hawki.organisations
        assert (darks.action, darks.source) == ("DARKS", "inputFiles")
        assert darks.group_by == ("DET.NCORRS.NAME", "DET.DIT", "DET.NDIT", "TPL.START")
        assert (darks.event, darks.tag) == ("TPL_A", "tpl")
        assert science.group_by[-1] == "OBS.START" and len(science.group_by) == 6
        assert noise.action == "DETECTOR_NOISE_COMPUTATION"
        assert noise.group_by == ("ARCFILE",)
        assert (noise.event, noise.tag) == (None, None)
        assert noise.position.line == 19
        test = compile_condition(noise.condition)
        assert test({"RAW.TYPE": "DARK", "DET.NDIT": 1}, None)
        assert not test({"RAW.TYPE": "DARK", "DET.NDIT": 2}, None)

    def test_input_file_keys(self, hawki):
        select = hawki.actions["SCIENCE_FRAMES"].selects[0]
        keys = set(keys_of(select.condition))
        assert {k.name for k in keys if k.of_input} == {
            "DET.NCORRS.NAME", "INS.FILT1.NAME", "INS.FILT2.NAME"}
        assert {k.name for k in keys if not k.of_input} == {
            "PRO.CATG", "DET.NCORRS.NAME", "INS.FILT1.NAME", "INS.FILT2.NAME"}
        test = compile_condition(select.condition)
        primary = {"DET.NCORRS.NAME": "Double", "INS.FILT1.NAME": "J", "INS.FILT2.NAME": "OPEN"}
        flat = dict(primary, **{"PRO.CATG": "MASTER_TWILIGHT_FLAT"})
        assert test(flat, primary)
        assert not test(dict(flat, **{"INS.FILT1.NAME": "H"}), primary)
        assert not test(flat, None)  # no primary frame: inputFile. keys are missing

    def test_parenthesised_select_condition(self, hawki):
        select = hawki.actions["SCIENCE_FRAMES"].selects[2]
        assert select.condition == ast.Compare(
            "==", ast.Key("REFLEX.CATG"), ast.Literal("MASTER_READGAIN_WKF"))

    @pytest.mark.parametrize("values, expected", [
        ({"DPR.CATG": "CALIB", "DPR.TECH": "IMAGE", "DPR.TYPE": "DARK",
          "INSTRUME": "HAWKI", "TPL.NEXP": 3}, {"RAW.TYPE": "DARK", "REFLEX.CATG": "DARK"}),
        ({"DPR.CATG": "CALIB", "DPR.TECH": "IMAGE", "DPR.TYPE": "DARK",
          "INSTRUME": "HAWKI", "TPL.NEXP": 2}, {}),  # TPL.NEXP > 2 is false
        ({"DPR.CATG": "CALIB", "DPR.TECH": "IMAGE", "DPR.TYPE": "DARK",
          "INSTRUME": "XHAWKI2", "TPL.NEXP": "5"}, {"RAW.TYPE": "DARK", "REFLEX.CATG": "DARK"}),
        ({"DPR.CATG": "CALIB", "DPR.TECH": "IMAGE", "DPR.TYPE": "DARK",
          "INSTRUME": "hawki", "TPL.NEXP": 5}, {}),  # like is case-sensitive
        ({"DPR.CATG": "CALIB", "DPR.TECH": "IMAGE", "DPR.TYPE": "DARK",
          "INSTRUME": "HAWKI"}, {}),  # TPL.NEXP missing
        ({"DPR.CATG": "SCIENCE", "DPR.TECH": "IMAGE", "DPR.TYPE": "OBJECT",
          "INSTRUME": "HAWKI"},
         {"RAW.TYPE": "SCIENCE_IMG", "DO.CATG": "OBJECT", "PACK.DIR": "NONE",
          "REFLEX.CATG": "OBJECT", "REFLEX.TARGET": "T"}),
        ({"DPR.CATG": "SCIENCE", "DPR.TECH": "IMAGE", "DPR.TYPE": "OBJECT",
          "INSTRUME": "NAOS+CONICA"}, {}),
    ])  # fmt: skip
    def test_classification(self, hawki, values, expected):
        assert hawki.classify(values) == expected

    def test_warnings_name_undefined_actions(self, hawki):
        assert hawki.warnings == [
            f"{HAWKI_RULES}:15:1: select execute(DARKS): no action DARKS is defined; "
            "its ABs get no recipe",
            f"{HAWKI_RULES}:19:1: select execute(DETECTOR_NOISE_COMPUTATION): no action "
            "DETECTOR_NOISE_COMPUTATION is defined; its ABs get no recipe",
        ]

    def test_keywords_used_and_tags(self, hawki):
        used = hawki.keywords_used()
        assert {"TPL.NEXP", "INSTRUME", "DET.NCORRS.NAME", "ARCFILE", "OBS.START"} <= set(used)
        assert "RAW.TYPE" not in used  # assigned by the rules, not read from headers
        assert hawki.tags() == ["MASTER_DARK", "MASTER_READGAIN_WKF", "MASTER_TWILIGHT_FLAT",
                                "OBJECT"]
        assert hawki.raw_types() == ["DARK", "SCIENCE_IMG"]


# --- the NACO instances' rules -----------------------------------------------------------


@pytest.fixture(scope="module")
def naco():
    return parse_rules_file(NACO_RULES)


@pytest.mark.parametrize("path", [NACO_RULES, DEEP_RULES], ids=["NACO", "NACO_DEEP"])
def test_instance_rules_parse_without_warnings(path):
    rules = parse_rules_file(path)
    assert rules.warnings == []
    assert rules.files == [str(path)]
    assert rules.classifications and rules.organisations and rules.actions
    for organisation in rules.organisations:
        assert organisation.action in rules.actions


def dpr(catg, type_, tech, **extra):
    return {"DPR.CATG": catg, "DPR.TYPE": type_, "DPR.TECH": tech, **extra}


class TestNacoRules:
    @pytest.mark.parametrize("values, expected", [
        (dpr("CALIB", "DARK", "IMAGE"),
         {"RAW.TYPE": "DARK", "DO.CATG": "CAL_DARK", "CATG": "CALIB"}),
        (dpr("CALIB", "FLAT,SKY", "IMAGE"),
         {"RAW.TYPE": "FLAT_SKY", "DO.CATG": "CAL_FLAT_TW", "CATG": "CALIB"}),
        (dpr("SCIENCE", "OBJECT", "IMAGE,JITTER"),
         {"RAW.TYPE": "SCIENCE_IMG", "DO.CATG": "IM_JITTER_OBJ", "CATG": "SCIENCE"}),
        (dpr("CALIB", "STD", "IMAGE,JITTER"),
         {"RAW.TYPE": "STD_IMG", "DO.CATG": "CAL_STD_JITTER", "CATG": "CALIB"}),
        (dpr("CALIB", "STD", "IMAGE"),
         {"RAW.TYPE": "STD_IMG", "DO.CATG": "CAL_STD_JITTER", "CATG": "CALIB"}),
        (dpr("ACQUISITION", "OBJECT", "IMAGE"), {"RAW.TYPE": "ACQUISITION"}),
        (dpr("SCIENCE", "OBJECT", "POLARIMETRY"), {"RAW.TYPE": "POLARIMETRY"}),
        (dpr("CALIB", "FLAT,LAMP", "IMAGE"), {"RAW.TYPE": "FLAT_LAMP"}),
        (dpr("SCIENCE", "OBJECT", "SPECTRUM,NODDING"), {"RAW.TYPE": "SPECTRUM"}),
        (dpr("SCIENCE", "OBJECT", "IMAGE,CORONAGRAPHY"), {"RAW.TYPE": "CORONAGRAPHY"}),
        (dpr("CALIB", "BIAS", "IMAGE"), {}),  # unclassified
        (dpr("SCIENCE", "OBJECT", "IMAGE"), {}),  # not a jitter sequence
        ({}, {}),
        ({"PRO.CATG": "NACO_IMG_DARK_AVG"}, {"DO.CATG": "NACO_IMG_DARK_AVG"}),
    ], ids=["dark", "flat_sky", "science", "std_jitter", "std", "acquisition", "polarimetry",
            "flat_lamp", "spectrum", "coronagraphy", "bias", "science_no_jitter", "empty",
            "master_dark"])  # fmt: skip
    def test_classification(self, naco, values, expected):
        assert naco.classify(values) == expected

    def test_blanks_around_header_values_are_ignored(self, naco):
        assert naco.classify(dpr("CALIB ", " DARK", "IMAGE  "))["RAW.TYPE"] == "DARK"

    def test_classify_does_not_change_the_headers(self, naco):
        values = dpr("CALIB", "DARK", "IMAGE")
        naco.classify(values)
        assert values == dpr("CALIB", "DARK", "IMAGE")

    def test_summary(self, naco):
        summary = naco.summary()
        assert summary["classification_rules"] == 13
        assert summary["organisation_rules"] == 4
        assert summary["actions"] == ["DARK", "JITTER", "TWFLAT", "ZPOINT"]
        assert summary["recipes"] == ["naco_img_dark", "naco_img_jitter", "naco_img_twflat",
                                      "naco_img_zpoint"]
        assert summary["raw_types"] == ["ACQUISITION", "CORONAGRAPHY", "DARK", "FLAT_LAMP",
                                        "FLAT_SKY", "POLARIMETRY", "SCIENCE_IMG", "SPECTRUM",
                                        "STD_IMG"]

    def test_recipe_parameters(self, naco):
        assert naco.actions["TWFLAT"].parameters == ("--r=16 16 16 16", "--bpm=TRUE")
        assert naco.actions["ZPOINT"].parameters == ()

    def test_organisation_events(self, naco):
        dark = naco.organisations[0]
        assert dark.group_by == ("TPL.START", "DET.DIT", "DET.NDIT", "DET.MODE.NAME",
                                 "INS.OPTI7.NAME")
        assert (dark.event, dark.tag) == ("TPL_A", "tpl")
        deep = parse_rules_file(DEEP_RULES).organisations[-1]
        assert (deep.action, deep.event, deep.tag) == ("DEEP", "TARGET", "deep")
        assert deep.group_by[0] == "OBS.TARG.NAME"

    def test_macros_become_match_keys(self, naco):
        flat = naco.actions["JITTER"].selects[0]
        plan = SelectPlan(flat, widen_factor=2.0, search_days=60)
        assert plan.match_keys == (("INS.OPTI5.ID", "INS.OPTI5.ID"),
                                   ("INS.OPTI6.ID", "INS.OPTI6.ID"),
                                   ("INS.OPTI7.NAME", "INS.OPTI7.NAME"))
        assert plan.windows == [(-3, 3), (-30, 30), (-60, 60), (-60, 60)]
        dark = naco.actions["JITTER"].selects[2]
        plan = SelectPlan(dark, widen_factor=2.0, search_days=60)
        assert plan.match_keys == (("DET.DIT", "DET.DIT"), ("DET.MODE.NAME", "DET.MODE.NAME"),
                                   ("INS.OPTI7.NAME", "INS.OPTI7.NAME"))
        assert plan.windows[:2] == [(-1, 1), (-7, 7)]
        names = {k.name for a in naco.actions.values() for s in a.selects
                 for k in keys_of(s.condition)}
        assert not names & {"SAME_OPTICS", "SAME_FILTER", "SAME_DETECTOR_SETUP"}

    def test_static_catalogue_select_has_no_window(self, naco):
        catalogue = naco.actions["ZPOINT"].selects[0]
        assert (catalogue.tag, catalogue.min_ret, catalogue.max_ret) == ("IMG_STD_CATALOG", 1, 1)
        plan = SelectPlan(catalogue, widen_factor=2.0, search_days=60)
        assert not plan.timed and plan.match_keys == ()

    def test_optional_selects(self, naco):
        jitter = naco.actions["JITTER"]
        assert [(s.tag, s.min_ret, s.max_ret) for s in jitter.selects] == [
            ("MASTER_IMG_FLAT", 1, 1), ("MASTER_IMG_FLAT_BADPIX", 0, 1),
            ("NACO_IMG_DARK_AVG", 1, 1)]


# --- classification order ----------------------------------------------------------------


class TestClassificationOrder:
    def test_later_true_rules_overwrite_earlier_ones(self):
        rules = parse_rules(
            'if DPR.TYPE == "DARK" then { RAW.TYPE = "DARK"; DO.CATG = "CAL_DARK"; }\n'
            'if DET.DIT > 10 then { RAW.TYPE = "DARK_LONG"; }\n'
            'if DET.DIT > 100 then { RAW.TYPE = "NEVER"; }\n')
        assert rules.classify({"DPR.TYPE": "DARK", "DET.DIT": 20}) == {
            "RAW.TYPE": "DARK_LONG", "DO.CATG": "CAL_DARK"}
        assert rules.classify({"DPR.TYPE": "DARK", "DET.DIT": 2}) == {
            "RAW.TYPE": "DARK", "DO.CATG": "CAL_DARK"}

    def test_a_later_rule_sees_what_an_earlier_rule_assigned(self):
        rules = parse_rules(
            'if DPR.TYPE == "DARK" then { RAW.TYPE = "DARK"; }\n'
            'if RAW.TYPE == "DARK" and DET.DIT > 10 then { RAW.TYPE = "DARK_LONG"; }\n')
        values = {"DPR.TYPE": "DARK", "DET.DIT": 20}
        assert rules.classify(values) == {"RAW.TYPE": "DARK_LONG"}
        assert "RAW.TYPE" not in values

    def test_an_earlier_rule_does_not_see_a_later_assignment(self):
        rules = parse_rules(
            'if RAW.TYPE == "DARK" then { DO.CATG = "CAL_DARK"; }\n'
            'if DPR.TYPE == "DARK" then { RAW.TYPE = "DARK"; }\n')
        assert rules.classify({"DPR.TYPE": "DARK"}) == {"RAW.TYPE": "DARK"}

    def test_assigned_values_keep_their_type(self):
        rules = parse_rules("if (T) then { RAW_MINNUM = 3; PHOENIX.X = 1.5; CATG = CALIB; }")
        assert rules.classify({}) == {"RAW_MINNUM": 3, "PHOENIX.X": 1.5, "CATG": "CALIB"}

    def test_unknown_assigned_key_draws_a_warning(self):
        rules = parse_rules('\n  if (T) then { RAW.TPYE = "X"; }', "x.oca")
        assert rules.warnings == ["x.oca:2:3: classification sets RAW.TPYE, which no tool reads "
                                  "(a typo?)"]


# --- evaluator semantics -----------------------------------------------------------------


class TestMissingKeys:
    def test_equal_when_both_missing(self):
        assert holds("A == B", {})
        assert not holds("A != B", {})

    def test_unequal_when_one_is_missing(self):
        assert not holds("A == B", {"A": 1})
        assert not holds("A == B", {"B": 1})
        assert holds("A != B", {"A": 1})
        assert not holds('A == "X"', {})
        assert holds('A != "X"', {})

    def test_order_like_and_between_are_false_on_missing_values(self):
        for text in ("A < 1", "A > 1", "A <= 1", "A >= 1", 'A like "%"', "A between 0 and 9",
                     "A tryBetween 0 and 9", "A + 1 == 1"):
            assert not holds(text, {}), text
        assert holds("not A < 1", {})


class TestComparison:
    @pytest.mark.parametrize("text, values", [
        ('A == "2.0"', {"A": 2}),
        ("A == 2.0", {"A": "2"}),
        ("A == 2", {"A": 2.0}),
        ("A == B", {"A": "2", "B": 2.0}),
        ("A == 1", {"A": 1.0000001}),  # relative tolerance 1e-6
        ("A == 0.3", {"A": 0.1 + 0.2}),
        ('A == "X"', {"A": "  X "}),  # blanks around strings are ignored
        ('A == " X"', {"A": "X"}),
        ('A != "x"', {"A": "X"}),  # case-sensitive
        ("A == 1e3", {"A": "1000"}),
    ])  # fmt: skip
    def test_true(self, text, values):
        assert holds(text, values)

    @pytest.mark.parametrize("text, values", [
        ("A == 1", {"A": 1.001}),
        ('A == "2.0"', {"A": "2.00x"}),
        ('A == "x"', {"A": "X"}),
        ("A == 1", {"A": "one"}),
        ("A != 2", {"A": "2.0"}),
    ])  # fmt: skip
    def test_false(self, text, values):
        assert not holds(text, values)

    def test_order_numbers_and_strings(self):
        assert holds("A > 9", {"A": 10})
        assert holds("A > 9", {"A": "10"})  # numeric, not "10" < "9" as text
        assert holds('A > "9"', {"A": "10"})
        assert holds("A >= 10 and A <= 10", {"A": 10})
        assert holds('A > "a"', {"A": "b"})
        assert holds('A < "b"', {"A": " a "})
        assert not holds("A < 5", {"A": "abc"})  # a string and a number do not order
        assert not holds("A > 5", {"A": "abc"})
        assert holds("A > -1", {"A": 0})
        assert holds("A == -B", {"A": -2, "B": 2})


class TestLike:
    @pytest.mark.parametrize("pattern, value, matches", [
        ("%HAWKI%", "HAWKI", True),
        ("%HAWKI%", "A HAWKI B", True),
        ("HAWKI%", "XHAWKI", False),
        ("A_C", "ABC", True),
        ("A_C", "AC", False),
        ("A_C", "ABBC", False),
        ("a.c", "abc", False),  # no regular expressions
        ("a.c", "a.c", True),
        ("IMAGE%", "IMAGE,JITTER", True),
        ("%", "", True),
        ("1%", 12, True),  # numbers are matched as text
    ])  # fmt: skip
    def test_patterns(self, pattern, value, matches):
        assert holds(f'A like "{pattern}"', {"A": value}) is matches


class TestPrecedence:
    def test_and_binds_tighter_than_or(self):
        values = {"A": 1, "B": 0, "C": 0}
        assert holds("A == 1 or B == 1 and C == 1", values)
        assert not holds("(A == 1 or B == 1) and C == 1", values)
        rules = parse_rules('if A == 1 or B == 1 and C == 1 then { RAW.TYPE = "X"; }')
        tree = rules.classifications[0].condition
        assert isinstance(tree, ast.Or) and isinstance(tree.items[1], ast.And)

    def test_not_binds_to_one_predicate(self):
        assert holds("not A == 1 and B == 1", {"A": 2, "B": 1})
        assert not holds("not A == 1 and B == 1", {"A": 1, "B": 1})
        assert holds("not (A == 1 and B == 1)", {"A": 1, "B": 2})
        assert not holds("not not A == 2", {"A": 1})

    def test_arithmetic_precedence(self):
        assert holds("A * 2 + 1 == 7", {"A": 3})
        assert holds("1 + A * 2 == 7", {"A": 3})
        assert holds("(1 + A) * 2 == 8", {"A": 3})
        assert holds("A - 1 - 1 == 1", {"A": 3})  # left to right
        assert not holds("A / 0 == 1", {"A": 3})  # division by zero is no value


class TestBetween:
    @pytest.mark.parametrize("value, inside", [(1, True), (1.5, True), (2, True),
                                               (2.0001, False), (0.9999, False), ("1.5", True)])
    def test_inclusive(self, value, inside):
        assert holds("A between 1 and 2", {"A": value}) is inside
        assert holds("A tryBetween 1 and 2", {"A": value}) is inside

    def test_between_inside_a_conjunction(self):
        tree = parse_rules("if A between 1 and 2 and B == 3 then { RAW.TYPE = 1; }")
        node = tree.classifications[0].condition
        assert isinstance(node, ast.And) and isinstance(node.items[0], ast.Between)
        assert holds("A between 1 and 2 and B == 3", {"A": 1, "B": 3})
        assert not holds("A between 1 and 2 and B == 3", {"A": 1, "B": 4})

    def test_try_between_is_soft_in_the_tree(self):
        hard = association("MJD-OBS between inputFile.MJD-OBS - 1 and inputFile.MJD-OBS + 1")
        soft = association("MJD-OBS tryBetween inputFile.MJD-OBS - 1 and inputFile.MJD-OBS + 1")
        assert (hard.soft, soft.soft) == (False, True)
        assert hard.value == ast.Key("MJD-OBS")
        assert hard.low == ast.Arithmetic("-", ast.Key("MJD-OBS", of_input=True), ast.Literal(1))

    def test_time_window_relative_to_the_primary_frame(self):
        test = compile_condition(
            association("MJD-OBS between inputFile.MJD-OBS - 1 and inputFile.MJD-OBS + 0.5"))
        primary = {"MJD-OBS": 55000.0}
        assert test({"MJD-OBS": 54999.0}, primary)
        assert test({"MJD-OBS": 55000.5}, primary)
        assert not test({"MJD-OBS": 55000.6}, primary)
        assert not test({"MJD-OBS": 54998.9}, primary)
        assert not test({"MJD-OBS": 55000.0}, {})  # the primary has no time

    def test_hyphenated_names_and_subtraction(self):
        assert association("MJD-OBS < inputFile.MJD-OBS-1") == ast.Compare(
            "<", ast.Key("MJD-OBS"),
            ast.Arithmetic("-", ast.Key("MJD-OBS", of_input=True), ast.Literal(1)))
        test = compile_condition(association("inputFile.MJD-OBS - MJD-OBS < 0.3"))
        assert test({"MJD-OBS": 10.0}, {"MJD-OBS": 10.2})
        assert not test({"MJD-OBS": 10.0}, {"MJD-OBS": 10.4})


class TestBooleans:
    def test_literal_true_and_false(self):
        rules = parse_rules('if (T) then { RAW.TYPE = "ALL"; }\nif F then { RAW.TYPE = "NO"; }')
        assert rules.classify({}) == {"RAW.TYPE": "ALL"}
        assert rules.classifications[0].condition == ast.Literal(True)

    @pytest.mark.parametrize("value, expected", [(True, True), ("T", True), (" T ", True),
                                                 (False, False), ("F", False), (1, True),
                                                 (0, False), ("yes", False), (None, False)])
    def test_bare_key_is_true_when_t(self, value, expected):
        values = {} if value is None else {"X": value}
        assert holds("X", values) is expected

    def test_comparison_with_t_and_f(self):
        assert holds("X == T", {"X": True})
        assert holds("X == T", {"X": "T"})
        assert holds("X == F", {"X": False})
        assert not holds("X == T", {"X": False})
        assert holds("X != T", {"X": "F"})


# --- preprocessor --------------------------------------------------------------------------


class TestInclude:
    def test_dfos_layout(self, tmp_path):
        """<instr>.h includes the three OCA files; they include a macro file from -I."""
        macros = write(tmp_path / "common" / "OCA_macro.h",
                       "#define IS_DARK DPR.TYPE == \"DARK\"\n"
                       "#define SAME(k) inputFile.k == k\n")
        config = tmp_path / "OCA"
        write(config / "naco_classification.h",
              '#include "OCA_macro.h"\nif IS_DARK then { RAW.TYPE = "DARK"; }\n')
        write(config / "naco_organisation.h",
              'select execute(DARK) from inputFiles where RAW.TYPE == "DARK" group by TPL.START;\n')
        write(config / "naco_association.h",
              "action DARK {\n  select file as MD from calibFiles where SAME(DET.DIT);\n"
              "  recipe naco_img_dark;\n}\n")
        main = write(config / "naco.h", '#include "naco_classification.h"\n'
                                        '#include "naco_organisation.h"\n'
                                        "#include <naco_association.h>\n")
        rules = parse_rules_file(main, include_dirs=[tmp_path / "common"])
        assert rules.classify({"DPR.TYPE": "DARK"}) == {"RAW.TYPE": "DARK"}
        assert rules.actions["DARK"].selects[0].condition == ast.Compare(
            "==", ast.Key("DET.DIT", of_input=True), ast.Key("DET.DIT"))
        assert [Path(f).name for f in rules.files] == [
            "naco.h", "naco_classification.h", "OCA_macro.h", "naco_organisation.h",
            "naco_association.h"]
        assert rules.classifications[0].position.file.endswith("naco_classification.h")
        assert rules.classifications[0].position.line == 2
        assert rules.actions["DARK"].position.file.endswith("naco_association.h")
        assert str(macros) in rules.files

    def test_nested_include_is_relative_to_the_including_file(self, tmp_path):
        write(tmp_path / "sub" / "deeper" / "c.h", 'if C == 1 then { RAW.TYPE = "C"; }\n')
        write(tmp_path / "sub" / "b.h",
              '#include "deeper/c.h"\nif B == 1 then { RAW.TYPE = "B"; }\n')
        main = write(tmp_path / "main.oca", '#include "sub/b.h"\n')
        rules = parse_rules_file(main)
        assert rules.classify({"C": 1}) == {"RAW.TYPE": "C"}
        assert rules.classify({"B": 1}) == {"RAW.TYPE": "B"}
        assert len(rules.files) == 3

    def test_include_from_text_uses_include_dirs(self, tmp_path):
        write(tmp_path / "lib" / "x.h", RULE.format("X"))
        rules = parse_rules('#include "x.h"\n', "<text>", include_dirs=[tmp_path / "lib"])
        assert rules.classify({"A": 1}) == {"RAW.TYPE": "X"}

    def test_the_including_directory_comes_first(self, tmp_path):
        write(tmp_path / "here" / "x.h", RULE.format("HERE"))
        write(tmp_path / "lib" / "x.h", RULE.format("LIB"))
        main = write(tmp_path / "here" / "main.oca", '#include "x.h"\n')
        rules = parse_rules_file(main, include_dirs=[tmp_path / "lib"])
        assert rules.classify({"A": 1}) == {"RAW.TYPE": "HERE"}

    def test_missing_file_names_the_include_line(self, tmp_path):
        main = write(tmp_path / "main.oca", RULE.format("X") + '\n  #include "nothere.h"\n')
        with pytest.raises(OcaSyntaxError) as info:
            parse_rules_file(main)
        error = info.value
        assert where(error) == ("main.oca", 3, 1)
        assert "cannot find 'nothere.h'" in error.message
        assert str(tmp_path) in error.message  # the directories searched

    def test_missing_file_inside_an_included_file(self, tmp_path):
        write(tmp_path / "a.h", "\n\n#include \"gone.h\"\n")
        main = write(tmp_path / "main.oca", '#include "a.h"\n')
        with pytest.raises(OcaSyntaxError) as info:
            parse_rules_file(main)
        assert where(info.value) == ("a.h", 3, 1)

    def test_include_cycle(self, tmp_path):
        write(tmp_path / "a.h", '#include "b.h"\n')
        write(tmp_path / "b.h", '\n#include "a.h"\n')
        main = write(tmp_path / "main.oca", '#include "a.h"\n')
        with pytest.raises(OcaSyntaxError) as info:
            parse_rules_file(main)
        assert where(info.value) == ("b.h", 2, 1)
        assert "includes itself (cycle)" in info.value.message

    def test_a_file_including_itself(self, tmp_path):
        main = write(tmp_path / "main.oca", RULE.format("X") + '#include "main.oca"\n')
        with pytest.raises(OcaSyntaxError) as info:
            parse_rules_file(main)
        assert where(info.value) == ("main.oca", 2, 1)
        assert "cycle" in info.value.message

    def test_the_same_file_twice_is_no_cycle(self, tmp_path):
        write(tmp_path / "x.h", "#define ONCE 1\n")
        main = write(tmp_path / "main.oca", '#include "x.h"\n#include "x.h"\n')
        assert parse_rules_file(main).classifications == []

    def test_bad_include_syntax(self):
        error = syntax_error("#include nothing\n")
        assert where(error) == ("rules.oca", 1, 1)
        assert "#include needs \"file\" or <file>" in error.message

    def test_error_inside_an_included_file(self, tmp_path):
        write(tmp_path / "inc" / "assoc.h", "action X {\n  recipe r;\n  selct file;\n}\n")
        main = write(tmp_path / "main.oca", RULE.format("X") + '#include "inc/assoc.h"\n'
                                            + RULE.format("Y"))
        with pytest.raises(OcaSyntaxError) as info:
            parse_rules_file(main)
        assert where(info.value) == ("assoc.h", 3, 3)
        assert info.value.file == str(tmp_path / "inc" / "assoc.h")
        assert str(info.value).startswith(f"{tmp_path / 'inc' / 'assoc.h'}:3:3: unexpected 'selct'")

    def test_error_after_an_included_file_has_the_main_file_line(self, tmp_path):
        write(tmp_path / "a.h", RULE.format("X") * 5)
        main = write(tmp_path / "main.oca", '#include "a.h"\n\nif A === 1 then {}\n')
        with pytest.raises(OcaSyntaxError) as info:
            parse_rules_file(main)
        assert where(info.value) == ("main.oca", 3, 8)

    def test_unterminated_comment_in_an_included_file(self, tmp_path):
        write(tmp_path / "a.h", "// fine\n   /* open\n")
        main = write(tmp_path / "main.oca", '#include "a.h"\n')
        with pytest.raises(OcaSyntaxError) as info:
            parse_rules_file(main)
        assert where(info.value) == ("a.h", 2, 4)
        assert "unterminated comment" in info.value.message


class TestDefine:
    def test_object_like(self):
        rules = parse_rules('#define IS_DARK DPR.TYPE == "DARK"\n'
                            'if IS_DARK and not IS_DARK_X then { RAW.TYPE = "DARK"; }\n')
        assert rules.classify({"DPR.TYPE": "DARK"}) == {"RAW.TYPE": "DARK"}
        assert rules.classify({"DPR.TYPE": "FLAT"}) == {}

    def test_macros_are_not_expanded_inside_strings(self):
        rules = parse_rules('#define DARK FLAT\nif DPR.TYPE == "DARK" then { RAW.TYPE = "DARK"; }')
        assert rules.classify({"DPR.TYPE": "DARK"}) == {"RAW.TYPE": "DARK"}

    def test_function_like(self):
        rules = parse_rules('#define IS(key, value) (key == value)\n'
                            '#define SAME(k) inputFile.k == k\n'
                            'if IS(DPR.TYPE, "FLAT,SKY") and IS(DET.DIT, 2)\n'
                            'then { RAW.TYPE = "F"; }\n'
                            "action X { select file as T from calibFiles where SAME(DET.DIT) "
                            "and SAME( INS.OPTI5.ID ); }\n")
        assert rules.classify({"DPR.TYPE": "FLAT,SKY", "DET.DIT": 2.0}) == {"RAW.TYPE": "F"}
        assert rules.classify({"DPR.TYPE": "FLAT", "DET.DIT": 2.0}) == {}
        plan = SelectPlan(rules.actions["X"].selects[0], 2.0, 60)
        assert plan.match_keys == (("DET.DIT", "DET.DIT"), ("INS.OPTI5.ID", "INS.OPTI5.ID"))

    def test_nested_macros_and_arguments(self):
        rules = parse_rules("#define ONE 1\n#define PLUS(a, b) (a + b)\n"
                            'if A == PLUS(ONE, PLUS(ONE, (2 * ONE))) then { RAW.TYPE = "4"; }\n')
        assert rules.classify({"A": 4}) == {"RAW.TYPE": "4"}

    def test_function_like_name_without_arguments_is_left_alone(self):
        rules = parse_rules("#define FN(x) x\nif FN == 1 then { RAW.TYPE = \"X\"; }")
        assert rules.classifications[0].condition.left == ast.Key("FN")

    def test_wrong_argument_count(self):
        error = syntax_error('#define EQ(a, b) a == b\n\nif  EQ(A) then { RAW.TYPE = "X"; }')
        assert where(error) == ("rules.oca", 3, 5)
        assert error.message == "macro EQ takes 2 argument(s), got 1"

    def test_self_reference_does_not_loop(self):
        rules = parse_rules("#define A A\n#define B C\n#define C B\n"
                            'if A == 1 and B == 2 then { RAW.TYPE = "X"; }')
        assert rules.classify({"A": 1, "B": 2}) == {"RAW.TYPE": "X"}

    def test_undef(self):
        rules = parse_rules('#define X 1\n#undef X\n#ifdef X\n' + RULE.format("DEFINED")
                            + "#else\n" + RULE.format("UNDEFINED") + "#endif\n"
                            + 'if X == 1 then { CATG = "X_IS_A_KEY"; }\n')
        assert rules.classify({"A": 1}) == {"RAW.TYPE": "UNDEFINED"}
        assert rules.classify({"X": 1}) == {"CATG": "X_IS_A_KEY"}

    def test_line_continuation(self):
        text = ('#define LONG DPR.CATG == "CALIB" \\\n'
                '   and DPR.TYPE == "DARK" \\\n'
                "   and DET.DIT > 1\n"
                'if LONG then { RAW.TYPE = "DARK"; }\n')
        rules = parse_rules(text)
        assert rules.classify({"DPR.CATG": "CALIB", "DPR.TYPE": "DARK", "DET.DIT": 2}) == {
            "RAW.TYPE": "DARK"}
        assert rules.classify({"DPR.CATG": "CALIB", "DPR.TYPE": "DARK", "DET.DIT": 1}) == {}
        assert rules.classifications[0].position.line == 4
        error = syntax_error(text + "if X = 1 then { }\n", "c.oca")
        assert where(error) == ("c.oca", 5, 6)  # lines after the continuation keep their number

    def test_define_needs_a_name(self):
        assert where(syntax_error("\n#define\n")) == ("rules.oca", 2, 1)
        assert "#define needs a macro name" in syntax_error("#define\n").message
        assert "'1x' is not a parameter name" in syntax_error("#define F(1x) x\n").message


class TestConditionals:
    def test_ifdef_ifndef_else(self):
        text = ("#define NACO\n#ifdef NACO\n" + RULE.format("A") + "#else\n" + RULE.format("B")
                + "#endif\n#ifndef NACO\n" + RULE.format("C") + "#endif\n"
                "#ifndef HAWKI\n#ifdef NACO\n" + RULE.format("D") + "#endif\n#endif\n")
        assert [dict(c.assignments)["RAW.TYPE"] for c in parse_rules(text).classifications] == [
            "A", "D"]

    def test_if_elif_else(self):
        def chosen(define):
            text = (define + "#if V > 1 && !defined(OFF)\n" + RULE.format("big")
                    + "#elif V == 1\n" + RULE.format("one") + "#else\n" + RULE.format("none")
                    + "#endif\n")
            return [dict(c.assignments)["RAW.TYPE"] for c in parse_rules(text).classifications]

        assert chosen("#define V 2\n") == ["big"]
        assert chosen("#define V 2\n#define OFF\n") == ["none"]
        assert chosen("#define V 1\n") == ["one"]
        assert chosen("") == ["none"]  # an undefined name is 0, as in C

    @pytest.mark.parametrize("expression, true", [
        ("1", True), ("0", False), ("!0", True), ("defined X", True), ("defined(Y)", False),
        ("X == 3 && !defined Y", True), ("X > 2 || Y", True), ("(1 + 2) * X == 9", True),
        ("7 / 2 == 3 && 7 % 2 == 1", True), ("-X < 0", True), ("Y", False), ("X - 3", False),
    ])  # fmt: skip
    def test_if_expressions(self, expression, true):
        text = f"#define X 3\n#if {expression}\n" + RULE.format("X") + "#endif\n"
        assert len(parse_rules(text).classifications) == (1 if true else 0)

    def test_skipped_groups_are_not_read(self):
        text = "#if 0\nthis is not OCA at all {{{\n#bogus directive\n#if nonsense >>>\n#endif\n" \
               "#endif\n" + RULE.format("X")
        assert len(parse_rules(text).classifications) == 1

    def test_errors_name_the_directive_line(self):
        assert where(syntax_error("\n\n#ifdef X\n" + RULE.format("X"))) == ("rules.oca", 3, 1)
        assert "#if/#ifdef without #endif" in syntax_error("#if 1\n").message
        assert where(syntax_error("\n#endif\n")) == ("rules.oca", 2, 1)
        assert "#else without #if" in syntax_error("#else\n").message
        assert "second #else" in syntax_error("#if 1\n#else\n#else\n#endif\n").message
        assert "#elif after #else" in syntax_error("#if 1\n#else\n#elif 1\n#endif\n").message
        assert "#if: cannot read" in syntax_error("#if 1 +* 'x'\n#endif\n").message
        assert "division by zero" in syntax_error("#if 1 / 0\n#endif\n").message

    def test_unknown_directive(self):
        error = syntax_error(RULE.format("X") + "\n#inclde \"x.h\"\n")
        assert where(error) == ("rules.oca", 3, 1)
        assert error.message.startswith("unknown preprocessor directive '#inclde'")


class TestPositions:
    def test_columns_survive_comments(self):
        error = syntax_error('/* a */ if /* b */ A /* c */ = 1 then { }')
        assert where(error) == ("rules.oca", 1, 30)

    def test_lines_survive_multi_line_comments(self):
        text = "/* line 1\n   line 2\n   line 3 */ // line 3\n\n  if A == 1 then { X.Y == 1; }\n"
        error = syntax_error(text)
        assert where(error) == ("rules.oca", 5, 24)

    def test_comment_ending_mid_line(self):
        error = syntax_error("/*\n\n*/ if A == 1 theen { }")
        assert where(error) == ("rules.oca", 3, 14)
        assert "did you mean 'then'?" in error.message

    def test_comment_markers_inside_strings_are_text(self):
        rules = parse_rules('if A == "a//b" or B == "/*" then { RAW.TYPE = "*/"; }')
        assert rules.classify({"A": "a//b"}) == {"RAW.TYPE": "*/"}
        assert rules.classify({"B": "/*"}) == {"RAW.TYPE": "*/"}

    def test_positions_of_rules(self):
        rules = parse_rules("// header\n\n  if (T) then { CATG = 1; }\n/* x\n */select execute(Y) "
                            "from inputFiles;\naction Y { select file as T from calibFiles; }",
                            "p.oca")
        assert str(rules.classifications[0].position) == "p.oca:3:3"
        assert str(rules.organisations[0].position) == "p.oca:5:4"
        assert str(rules.actions["Y"].selects[0].position) == "p.oca:6:12"

    def test_error_in_a_macro_expansion_says_so(self):
        error = syntax_error("#define BAD A == == 1\n\nif BAD then { }")
        assert (error.file, error.line) == ("rules.oca", 3)
        assert error.message.endswith("(in the text after macro expansion)")


# --- hostile syntax ----------------------------------------------------------------------


class TestLayout:
    def test_tabs_and_no_spaces(self):
        rules = parse_rules('if\tDPR.CATG=="X"and(DET.DIT>1)then{RAW.TYPE="A";}'
                            'select\texecute(A)from inputFiles where RAW.TYPE=="A"group by X,Y;')
        assert rules.classify({"DPR.CATG": "X", "DET.DIT": 2}) == {"RAW.TYPE": "A"}
        assert rules.organisations[0].group_by == ("X", "Y")

    def test_crlf_line_ends(self):
        text = ('// CRLF\r\n#define CAL DPR.CATG == "CALIB" \\\r\n and DET.DIT > 1\r\n'
                '#ifdef CAL\r\nif CAL then\r\n{ RAW.TYPE = "A"; }\r\n#endif\r\n'
                "if X = 1 then { }\r\n")
        error = syntax_error(text)
        assert where(error) == ("rules.oca", 8, 6)
        rules = parse_rules(text.replace("if X = 1 then { }\r\n", ""))
        assert rules.classify({"DPR.CATG": "CALIB", "DET.DIT": 2}) == {"RAW.TYPE": "A"}
        assert rules.classifications[0].position.line == 5

    def test_cr_line_ends(self):
        error = syntax_error("// old Mac\r\rif A == 1 then { RAW.TYPE = \"A\"; }\rif X = 1")
        assert where(error) == ("rules.oca", 4, 6)

    def test_byte_order_mark(self, tmp_path):
        path = tmp_path / "bom.oca"
        path.write_bytes(b"\xef\xbb\xbf" + RULE.format("A").encode())
        rules = parse_rules_file(path)
        assert rules.classify({"A": 1}) == {"RAW.TYPE": "A"}
        assert rules.classifications[0].position.column == 1

    def test_comments_everywhere(self):
        rules = parse_rules(
            "if // after if\n DPR.CATG /* between */ == \"X\" then // after then\n"
            "{ /* in body */ RAW.TYPE /**/ = \"A\"; // after assignment\n}\n"
            "action A // after the name\n{ // first\n  minRet = 0; /* between */ maxRet = -1;\n"
            "  select file // within\n as T from calibFiles where /* c */ PRO.CATG == \"Y\"\n"
            "  // before the semicolon\n  ;\n"
            "  recipe r { /* p */ \"--a=1\"; // q\n \"--b=2\"; }\n"
            "  product P { PRO.CATG = \"P\"; /* x */ PRO.EXT = \"tpl_0000.fits\"; }\n"
            "} // end\n")
        assert rules.classify({"DPR.CATG": "X"}) == {"RAW.TYPE": "A"}
        action = rules.actions["A"]
        assert (action.selects[0].min_ret, action.selects[0].max_ret) == (0, -1)
        assert action.parameters == ("--a=1", "--b=2")
        assert action.products[0].assignments == (("PRO.CATG", "P"),
                                                  ("PRO.EXT", "tpl_0000.fits"))

    def test_values_with_commas_and_optional_semicolons(self):
        rules = parse_rules('if DPR.TYPE=="WAVE,3TEL" then { RAW.TYPE="3P2V"; };\n'
                            "action B { recipe r; };\naction C { recipe s {}; }")
        assert rules.classify({"DPR.TYPE": "WAVE,3TEL"}) == {"RAW.TYPE": "3P2V"}
        assert (rules.actions["B"].recipe, rules.actions["C"].recipe) == ("r", "s")

    def test_empty_files_are_valid(self):
        for text in ("", "\n\n", "// only a comment\n", "/* only\n a comment */",
                     "#define X 1\n", "  \t\r\n"):
            rules = parse_rules(text, "empty.oca")
            assert (rules.classifications, rules.organisations, rules.actions) == ([], [], {})
            assert rules.classify({"DPR.CATG": "CALIB"}) == {}
            assert rules.warnings == []

    def test_a_later_action_definition_wins_with_a_warning(self):
        rules = parse_rules("action A { recipe one; }\naction A { recipe two; }", "d.oca")
        assert rules.actions["A"].recipe == "two"
        assert rules.warnings == ["d.oca:2:1: action A is defined again (first at d.oca:1:1); "
                                  "the later definition is used"]

    def test_select_from_an_unknown_source_warns(self):
        rules = parse_rules("action A { minRet = 2; maxRet = 1;\n"
                            "select file as T from calibFile; }", "w.oca")
        assert rules.warnings == [
            "w.oca:2:1: select from calibFile: expected one of inputFiles, calibFiles",
            "w.oca:2:1: minRet 2 > maxRet 1: the select can never be satisfied"]


class TestSyntaxErrors:
    @pytest.mark.parametrize("text, position, message", [
        # unknown statement keywords
        ("\n  selct execute(A) from inputFiles;", (2, 3),
         "unexpected 'selct'; expected 'action', 'if', 'select' (did you mean 'select'?)"),
        ('if (T) then { CATG = 1; }\nacton A { }', (2, 1), "(did you mean 'action'?)"),
        ("action A {\n  recipee r;\n}", (2, 3), "(did you mean 'recipe'?)"),
        ("action A {\n  recipe r;\n  selects file as T from calibFiles;\n}", (3, 3),
         "(did you mean 'select'?)"),
        ("if A == 1 andB == 2 then { }", (1, 11), "unexpected 'andB'"),
        ("IF A == 1 then { }", (1, 1), "(keywords are written in lower case: 'if')"),
        ("if A == 1 AND B == 2 then { }", (1, 11), "(keywords are written in lower case: 'and')"),
        ("if A && B then { }", (1, 6), "unexpected character '&'"),
        ("if A % 2 == 1 then { }", (1, 6), "unexpected character '%'"),
        ("if A == 1 \\\n and B == 1 then { }", (1, 11), "unexpected character '\\\\'"),
        ('select execute(A) from inputFiles where A == 1 gruop by B;', (1, 48),
         "(did you mean 'group'?)"),
        # '=' for '==' and the other way round
        ('if DPR.CATG = "X" then { }', (1, 13),
         "unexpected '=': in a condition, equality is written '=='"),
        ('select execute(A) from inputFiles\n  where RAW.TYPE = "DARK";', (2, 18),
         "equality is written '=='"),
        ('action A { select file as T from calibFiles where\n inputFile.X = X; }', (2, 14),
         "equality is written '=='"),
        ('if A == 1 then {\n  RAW.TYPE == "A"; }', (2, 12),
         "unexpected '==': an assignment in { } is written KEY = value"),
        # unterminated strings and comments
        ('if DPR.CATG == "CALIB then\n{ RAW.TYPE = "A"; }', (1, 16),
         "unterminated string: a '\"' without its closing '\"' on the same line"),
        ('if A == 1 then {\n  RAW.TYPE = "A; }\n', (2, 14), "unterminated string"),
        ('if DPR.CATG == "X then { RAW.TYPE = "A"; }', (1, 38),
         "it follows a string directly: is a '\"' missing or one too many earlier on this line?"),
        ('if A == 1 then { }\n\n  /* not closed\n if B == 1', (3, 3),
         "unterminated comment: '/*' without '*/'"),
        ("if A == 'X' then { }", (1, 9), "strings are written in double quotes"),
        # missing ';'
        ('if A == 1 then { RAW.TYPE = "A" }', (1, 32), "missing ';' before '}'"),
        ('if A == 1 then { RAW.TYPE = "A"\n  DO.CATG = "B"; }', (1, 32),
         "missing ';' before 'DO.CATG'"),
        ("select execute(A) from inputFiles where A == 1 group by X\n"
         "select execute(B) from inputFiles;", (1, 58), "missing ';' before 'select'"),
        ("action A {\n  minRet = 1 maxRet = 1;\n}", (2, 13), "missing ';' before 'maxRet'"),
        ('action A {\n  select file as T from calibFiles where PRO.CATG == "Y"\n}', (2, 57),
         "missing ';' before '}'"),
        ("action A {\n  select file as T from calibFiles\n  recipe r;\n}", (2, 35),
         "missing ';' before 'recipe'"),
        ('action A {\n  recipe r { "--a=1" }\n}', (2, 21), "missing ';' before '}'"),
        # missing '}' at the end of the file
        ('if A == 1 then {\n  RAW.TYPE = "A";\n', (2, 18),
         "unexpected end of file; expected '}', a name (the '{' at line 1, column 16 is never "
         "closed)"),
        ("action A\n{\n  recipe r;\n  product P { PRO.CATG = \"P\"; }\n\n", (4, 32),
         "the '{' at line 2, column 1 is never closed"),
        ("select execute(A) from inputFiles where A == 1", (1, 47),
         "unexpected end of file; expected "),
        # other mistakes
        ('if A == 1 then { RAW.TYPE = "A"; }}', (1, 35),
         "unexpected '}'; expected ';', 'action', 'if', 'select'"),
        ("if A == then { }", (1, 9), "unexpected 'then'; expected '(', '+' or '-', a name"),
        ("if A == 1 and then { }", (1, 15), "unexpected 'then'"),
        ("if A == 1 { }", (1, 11), "unexpected '{'; expected"),
        ("if A == 1 @ then { }", (1, 11), "unexpected character '@'"),
        ("action A { minRet = one; }", (1, 21), "unexpected 'one'; expected an integer"),
        ("select execute(A) from inputFiles group by ;", (1, 44), "unexpected ';'"),
        ("select execute(A) from inputFiles as (TPL_A);", (1, 44), "unexpected ')'; expected ','"),
    ])  # fmt: skip
    def test_message_and_position(self, text, position, message):
        error = syntax_error(text, "hostile.oca")
        assert (error.file, error.line, error.column) == ("hostile.oca", *position)
        assert message in error.message
        assert str(error) == f"hostile.oca:{position[0]}:{position[1]}: {error.message}"

    def test_unreadable_rule_file(self, tmp_path):
        with pytest.raises(OcaSyntaxError) as info:
            parse_rules_file(tmp_path / "none.oca")
        assert info.value.file == str(tmp_path / "none.oca")
        assert "cannot read the rule file" in info.value.message

    def test_binary_rule_file(self, tmp_path):
        path = tmp_path / "bin.oca"
        path.write_bytes(b"\xff\xfe\x00if")
        with pytest.raises(OcaSyntaxError, match="cannot read the rule file"):
            parse_rules_file(path)


# --- check_rules -----------------------------------------------------------------------------


def run_check(*args):
    out = StringIO()
    call_command("check_rules", *[str(a) for a in args], stdout=out, stderr=StringIO())
    return out.getvalue()


MOMENT = datetime(2009, 6, 15, 23, 0, tzinfo=timezone.utc)


@pytest.fixture
def frames(tmp_path):
    """A NACO dark and jitter frame (FITS), a standard star (.hdr dump), a bias (FITS)."""
    folder = tmp_path / "frames"
    dark = write_frame(folder, MOMENT)
    science = write_frame(folder, MOMENT.replace(minute=5), catg="SCIENCE", type_="OBJECT",
                          tech="IMAGE,JITTER")
    bias = write_frame(folder, MOMENT.replace(minute=10), type_="BIAS")
    header = frame_header(MOMENT.replace(minute=15), type_="STD", tech="IMAGE,JITTER")
    hdr = folder / "std.hdr"
    hdr.write_text(header.tostring(sep="\n", endcard=True, padding=False))
    return {"dark": dark, "science": science, "bias": bias, "std": hdr, "folder": folder}


def arcfile(path):
    if str(path).endswith(".hdr"):
        return fits.Header.fromtextfile(str(path))["ARCFILE"]
    return fits.getheader(path)["ARCFILE"]


class TestCheckRules:
    def test_summary_of_the_naco_rules(self):
        out = run_check(NACO_RULES)
        lines = out.splitlines()
        assert lines[0] == (f"{NACO_RULES}: 13 classification rules, 4 organisation rules, "
                            "4 actions")
        assert "  actions: DARK, JITTER, TWFLAT, ZPOINT" in lines
        assert ("  recipes: naco_img_dark, naco_img_jitter, naco_img_twflat, naco_img_zpoint"
                in lines)
        assert any(line.startswith("  raw types: ACQUISITION, CORONAGRAPHY, DARK,")
                   for line in lines)
        assert "warning" not in out

    def test_warnings_are_printed(self):
        out = run_check(HAWKI_RULES)
        assert f"  warning: {HAWKI_RULES}:15:1: select execute(DARKS): no action DARKS" in out
        assert out.count("warning:") == 2

    def test_classify_fits_and_hdr_files(self, frames):
        out = run_check(NACO_RULES, "--classify", frames["dark"], frames["science"],
                        frames["bias"], frames["std"])
        lines = out.splitlines()
        assert f"{arcfile(frames['dark'])}: RAW.TYPE=DARK  DO.CATG=CAL_DARK  CATG=CALIB" in lines
        assert (f"{arcfile(frames['science'])}: RAW.TYPE=SCIENCE_IMG  DO.CATG=IM_JITTER_OBJ  "
                "CATG=SCIENCE") in lines
        assert f"{arcfile(frames['bias'])}: UNCLASSIFIED" in lines
        assert (f"{arcfile(frames['std'])}: RAW.TYPE=STD_IMG  DO.CATG=CAL_STD_JITTER  "
                "CATG=CALIB") in lines

    def test_classify_a_directory_as_json(self, frames):
        out = run_check(NACO_RULES, "--json", "--classify", frames["folder"])
        result = json.loads(out)
        assert result["classification_rules"] == 13
        assert result["warnings"] == [] and result["failed"] == []
        found = {Path(item["path"]).name: item["classification"].get("RAW.TYPE")
                 for item in result["classified"]}
        assert found == {frames["dark"].name: "DARK", frames["science"].name: "SCIENCE_IMG",
                         frames["bias"].name: None, "std.hdr": "STD_IMG"}
        dark = next(i for i in result["classified"] if i["path"] == str(frames["dark"]))
        assert dark["arcfile"] == arcfile(frames["dark"])
        assert dark["classification"] == {"RAW.TYPE": "DARK", "DO.CATG": "CAL_DARK",
                                          "CATG": "CALIB"}

    def test_json_without_classify(self):
        result = json.loads(run_check(HAWKI_RULES, "--json"))
        assert result["actions"] == ["SCIENCE_FRAMES"]
        assert len(result["warnings"]) == 2
        assert result["classified"] == [] and result["failed"] == []

    def test_syntax_error(self, tmp_path):
        bad = write(tmp_path / "bad.oca", RULE.format("A") + '\nif DPR.CATG = "X" then { }\n')
        with pytest.raises(CommandError) as info:
            run_check(bad)
        assert str(info.value) == (f"{bad}:3:13: unexpected '=': in a condition, equality is "
                                   "written '=='")

    def test_missing_rule_file(self, tmp_path):
        with pytest.raises(CommandError, match="cannot read the rule file"):
            run_check(tmp_path / "none.oca")

    def test_include_dir_option(self, tmp_path):
        write(tmp_path / "lib" / "macros.h", '#define IS_DARK DPR.TYPE == "DARK"\n')
        main = write(tmp_path / "rules" / "main.oca",
                     '#include "macros.h"\nif IS_DARK then { RAW.TYPE = "DARK"; }\n')
        with pytest.raises(CommandError, match=r"main.oca:1:1: #include: cannot find 'macros.h'"):
            run_check(main)
        out = run_check(main, "-I", tmp_path / "lib")
        assert "1 classification rules" in out
        assert f"  files: {main}, {tmp_path / 'lib' / 'macros.h'}" in out

    def test_unreadable_classify_paths_fail_the_command(self, tmp_path, frames):
        broken = tmp_path / "broken.fits"
        broken.write_text("not FITS at all")
        out = StringIO()
        with pytest.raises(CommandError, match=r"^2 file\(s\) could not be read$"):
            call_command("check_rules", str(NACO_RULES), "--classify", str(frames["dark"]),
                         str(tmp_path / "missing.fits"), str(broken), stdout=out)
        text = out.getvalue()
        assert f"{tmp_path / 'missing.fits'}: no such file or directory" in text
        assert f"{broken}: not a FITS file" in text
        assert f"{arcfile(frames['dark'])}: RAW.TYPE=DARK" in text  # the others are classified

    def test_unreadable_classify_path_in_json(self, tmp_path):
        out = StringIO()
        with pytest.raises(CommandError):
            call_command("check_rules", str(NACO_RULES), "--json", "--classify",
                         str(tmp_path / "missing.hdr"), stdout=out)
        result = json.loads(out.getvalue())
        assert result["failed"] == [{"path": str(tmp_path / "missing.hdr"),
                                     "reason": "no such file or directory"}]
