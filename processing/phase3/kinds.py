"""The rule record and its few kinds of check, with one constructor per kind so that a table
entry is one line (see rules.py).

Kinds: mandatory (and recommended: the same with severity warning), forbidden, range,
allowed, pattern, check (a function over the whole product, for cross-keyword, structure and
data checks), open (the file could not be read: reported by validate_file) and batch (needs
several files: reported by validate_batch). Value kinds (range, allowed, pattern) skip a
missing keyword and range skips a value that is not a number: the mandatory and type rules
report those, so one fault gives one finding.
"""

import re
from dataclasses import dataclass
from typing import Callable

from processing.phase3.product import Condition, Selector, is_number
from processing.phase3.report import ERROR, WARNING, Finding


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    scope: str
    kind: str
    expect: str  # what the rule wants, in words (messages, rule list)
    keywords: tuple = ()
    hdus: Selector | None = None
    test: Callable | None = None
    when: Condition | None = None
    alternatives: tuple = ()

    def findings(self, product):
        if self.when is not None and not self.when.holds(product):
            return
        if self.kind == "check":
            for index, keyword, message in self.test(product):
                yield self._finding(product, index, keyword, message)
            return
        for index in self.hdus.select(product):
            for keyword, message in KINDS[self.kind](self, product, index):
                yield self._finding(product, index, keyword, message)

    def describe(self):
        """The rule in one line of words, for the rule list."""
        if self.kind in ("mandatory", "forbidden"):
            return f"{', '.join(self.keywords)} {self.expect}"
        if self.kind == "range":
            text = f"{self.expect} in {self.hdus.where}"
        elif self.kind in ("allowed", "pattern"):
            text = f"{', '.join(self.keywords)}: {self.expect} in {self.hdus.where}"
        else:
            text = self.expect
        return text + (f" (when {self.when.text})" if self.when else "")

    def _finding(self, product, index, keyword, message):
        extname = product.extname(index) if index is not None else ""
        return Finding(self.id, self.severity, keyword, index, extname, message)


def show(value):
    """A header value as FITS writes it: strings quoted, logicals T/F."""
    if isinstance(value, bool):
        return "T" if value else "F"
    return repr(value)


def _mandatory(rule, product, index):
    header = product.values(index)
    for keyword in rule.keywords:
        if keyword in header:
            continue
        if any(header.get(other) not in (None, False) for other in rule.alternatives):
            continue
        yield keyword, f"{keyword} is missing: {rule.expect}"


def _forbidden(rule, product, index):
    for spec in rule.keywords:
        for keyword in product.matching(index, spec):
            value = product.values(index)[keyword]
            yield keyword, f"{keyword} = {show(value)}: {rule.expect}"


def _value(rule, product, index):
    for spec in rule.keywords:
        for keyword in product.matching(index, spec):
            value = product.values(index)[keyword]
            if rule.test(value) is False:
                yield keyword, f"{keyword} = {show(value)}: expected {rule.expect}"


KINDS = {"mandatory": _mandatory, "forbidden": _forbidden, "range": _value,
         "allowed": _value, "pattern": _value}


SCOPE_WORDS = {"ALL": "every file", "SCIENCE": "every SCIENCE.* file"}


def _where(scope, hdus, when):
    text = f"in {hdus.where} of {SCOPE_WORDS.get(scope, scope)}"
    return text + (f" when {when.text}" if when else "")


def mandatory(prefix, scope, hdus, *keywords, when=None, alternatives=(), severity=ERROR):
    """One rule per keyword, id `<prefix>-<KEYWORD>-MANDATORY`."""
    also = f" (or {' or '.join(alternatives)})" if alternatives else ""
    word = "mandatory" if severity == ERROR else "recommended"
    suffix = "MANDATORY" if severity == ERROR else "RECOMMENDED"
    return tuple(
        Rule(f"{prefix}-{keyword}-{suffix}", severity, scope, "mandatory",
             f"{word}{also} {_where(scope, hdus, when)}", (keyword,), hdus, when=when,
             alternatives=alternatives)
        for keyword in keywords
    )


def recommended(prefix, scope, hdus, *keywords):
    """One warning rule per keyword, id `<prefix>-<KEYWORD>-RECOMMENDED`."""
    return mandatory(prefix, scope, hdus, *keywords, severity=WARNING)


def forbidden(rule_id, scope, hdus, *keywords, when=None):
    return Rule(rule_id, ERROR, scope, "forbidden",
                f"not allowed (checked {_where(scope, hdus, when)})", keywords, hdus, when=when)


def in_range(rule_id, scope, hdus, keyword, low=None, high=None, *, low_open=False,
             high_open=False):
    """`keyword` (or a family like `FPRA*`) within bounds; an open bound excludes its value."""
    parts = []
    if low is not None:
        parts.append(f"{low:g} {'<' if low_open else '<='} ")
    parts.append(keyword)
    if high is not None:
        parts.append(f" {'<' if high_open else '<='} {high:g}")

    def test(value):
        if not is_number(value):
            return None
        if low is not None and (value <= low if low_open else value < low):
            return False
        if high is not None and (value >= high if high_open else value > high):
            return False
        return True

    return Rule(rule_id, ERROR, scope, "range", "".join(parts), (keyword,), hdus, test=test)


def one_of(rule_id, scope, hdus, keywords, values, when=None):
    """Value(s) among `values`: strings without FITS padding, numbers by value."""
    keywords = (keywords,) if isinstance(keywords, str) else tuple(keywords)
    accepted = frozenset(values)

    def test(value):
        if isinstance(value, str):
            return value.strip() in accepted
        return not isinstance(value, bool) and value in accepted

    expect = " or ".join(repr(value) for value in values)
    return Rule(rule_id, ERROR, scope, "allowed", expect, keywords, hdus, test=test, when=when)


def pattern(rule_id, scope, hdus, keyword, regex, expect, when=None):
    """A string value matching `regex` as a whole; `expect` says the format in words."""
    compiled = re.compile(regex)

    def test(value):
        return isinstance(value, str) and compiled.fullmatch(value.strip()) is not None

    return Rule(rule_id, ERROR, scope, "pattern", expect, (keyword,), hdus, test=test, when=when)


def check(rule_id, scope, function, expect, severity=ERROR, when=None):
    """A check over the whole product: `function(product)` yields (hdu, keyword, message)."""
    return Rule(rule_id, severity, scope, "check", expect, test=function, when=when)


def special(rule_id, scope, kind, expect):
    """A rule the validator reports itself: `open` (unreadable file) or `batch`."""
    return Rule(rule_id, ERROR, scope, kind, expect)
