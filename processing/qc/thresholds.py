"""QC thresholds of an instance (`[qc.thresholds]` of config.toml) and scoring against them.

Two forms per parameter name (see docs/QC.md):

    [qc.thresholds."QC.PHX.FLAT.MEDIAN"]            # one range for every product
    low = 0.95
    high = 1.05

    [[qc.thresholds."QC.PHX.DARK.MEDIAN"]]          # rules: the first that matches applies
    pro_catg = "NACO_IMG_DARK_AVG"                  # optional: PRO.CATG (string or list)
    when = { "DET.MODE.NAME" = "HighSensitivity" }  # optional: product keywords (OCA names)
    low = 15.0
    high = 25.0

A value v passes (score 0) when low ≤ v ≤ high (a missing bound is no bound), else it is an
outlier (score 1); without a matching rule (or without a value) it is not scored (None).
"""

import math
from dataclasses import dataclass, field

RULE_KEYS = ("low", "high", "pro_catg", "when", "comment")


class ThresholdError(ValueError):
    """A malformed threshold: `key` is the dotted config key, `reason` what is wrong."""

    def __init__(self, key, reason):
        self.key, self.reason = key, reason
        super().__init__(f"{key}: {reason}")


@dataclass(frozen=True)
class Rule:
    low: float | None = None
    high: float | None = None
    pro_catgs: tuple = ()  # empty: any
    when: tuple = ()  # ((keyword, (accepted values…)), …)
    comment: str = ""

    def matches(self, pro_catg, keywords):
        if self.pro_catgs and pro_catg not in self.pro_catgs:
            return False
        for keyword, accepted in self.when:
            if keyword not in keywords:
                return False
            if not any(same_value(keywords[keyword], value) for value in accepted):
                return False
        return True

    def score(self, value):
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return None
        if self.low is not None and value < self.low:
            return 1
        if self.high is not None and value > self.high:
            return 1
        return 0


@dataclass
class Thresholds:
    """Parsed thresholds: parameter name → rules in file order."""

    rules: dict = field(default_factory=dict)

    def rule_for(self, name, pro_catg, keywords):
        """The first rule of `name` matching the product, or None."""
        for rule in self.rules.get(name, ()):
            if rule.matches(pro_catg, keywords):
                return rule
        return None

    def __bool__(self):
        return bool(self.rules)


def same_value(actual, wanted):
    """Keyword comparison as rules mean it: numbers numerically (2 == 2.0), booleans as
    booleans, text without surrounding blanks (FITS pads strings)."""
    if isinstance(wanted, bool) or isinstance(actual, bool):
        return isinstance(wanted, bool) and isinstance(actual, bool) and actual == wanted
    if isinstance(wanted, (int, float)) and isinstance(actual, (int, float)):
        return float(actual) == float(wanted)
    return str(actual).strip() == str(wanted).strip()


def _number(key, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ThresholdError(key, f"{value!r} is not a number")
    return float(value)


def _rule(key, table):
    if not isinstance(table, dict):
        raise ThresholdError(key, "must be a table with low and/or high")
    unknown = sorted(set(table) - set(RULE_KEYS))
    if unknown:
        raise ThresholdError(f"{key}.{unknown[0]}",
                             f"unknown key; a threshold has {', '.join(RULE_KEYS)}")
    low = _number(f"{key}.low", table["low"]) if "low" in table else None
    high = _number(f"{key}.high", table["high"]) if "high" in table else None
    if low is None and high is None:
        raise ThresholdError(key, "needs low, high or both")
    if low is not None and high is not None and low > high:
        raise ThresholdError(key, f"low {low:g} is above high {high:g}")
    pro_catgs = table.get("pro_catg", ())
    if isinstance(pro_catgs, str):
        pro_catgs = (pro_catgs,)
    if not isinstance(pro_catgs, (list, tuple)) or not all(
        isinstance(v, str) and v.strip() for v in pro_catgs
    ):
        raise ThresholdError(f"{key}.pro_catg", "must be a PRO.CATG or a list of them")
    when = table.get("when", {})
    if not isinstance(when, dict):
        raise ThresholdError(f"{key}.when", 'must be a table such as { "DET.MODE.NAME" = "X" }')
    conditions = []
    for keyword, accepted in when.items():
        values = accepted if isinstance(accepted, list) else [accepted]
        if not values or not all(isinstance(v, (str, int, float, bool)) for v in values):
            raise ThresholdError(f"{key}.when.{keyword}",
                                 "must be a value (text, number, true/false) or a list of them")
        conditions.append((keyword, tuple(values)))
    comment = table.get("comment", "")
    if not isinstance(comment, str):
        raise ThresholdError(f"{key}.comment", "must be text")
    return Rule(low, high, tuple(v.strip() for v in pro_catgs), tuple(conditions), comment)


def parse_thresholds(thresholds):
    """Validate `[qc.thresholds]` (a dict as tomllib or the stored JSON config gives it) and
    return Thresholds; raise ThresholdError(key, reason) on the first problem."""
    if thresholds is None:
        return Thresholds()
    if not isinstance(thresholds, dict):
        raise ThresholdError("qc.thresholds", "must be a table")
    parsed = {}
    for name, spec in thresholds.items():
        key = f'qc.thresholds."{name}"'
        if not name.startswith("QC.") or any(not part for part in name.split(".")) or (
            any(c.isspace() for c in name)
        ):
            raise ThresholdError(key, "a parameter name is dotted and starts with QC. "
                                      "(e.g. QC.PHX.DARK.MEDIAN, QC.DARKMED)")
        if isinstance(spec, list):
            if not spec:
                raise ThresholdError(key, "an empty list of rules")
            parsed[name] = tuple(_rule(f"{key}[{n}]", rule) for n, rule in enumerate(spec, 1))
        else:
            parsed[name] = (_rule(key, spec),)
    return Thresholds(parsed)

