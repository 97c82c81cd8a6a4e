"""The association plan of one `select`: how to find its calibrations without a scan.

A select's where clause is split into
- candidate conditions (no `inputFile.` key): evaluated once per candidate, not per AB;
- match keys (`inputFile.K == K'`): candidates are bucketed by their values (a hash index);
- time windows on MJD-OBS relative to `inputFile.MJD-OBS` (`between`, `tryBetween`, and
  `<`/`>` for PREVIOUS/NEXT rules): each bucket is sorted by time and cut with bisection;
- the rest (any other condition on `inputFile.`): evaluated on the few candidates left.

Quality levels follow EDPS: 0 inside the calibration plan (`tryBetween`, or `between` when
there is no tryBetween), 1 inside the extended validity (`between`), 2 with the widest
window widened by `widen_factor`, 3 anywhere within `search_days`. Candidates of a lower
level always win; within a level the closest in time wins.

Each answer also says which stretch of time its candidates had to be complete in for it to
hold (`Found.reach`): the windows of the levels that offered too few, and of the level that
answered, the part up to the farthest candidate chosen (nothing farther can change the
closest ones). createAB loads the calibration frames of a few nights around a scope and
widens only when a reach goes beyond them (create.py).
"""

import math
from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass

from processing.oca import ast
from processing.oca.evaluate import as_number, as_text, compile_condition
from processing.oca.ruleset import keys_of

TIME_KEY = "MJD-OBS"
NUMBER_STARTS = set("0123456789+-.")
NUMBER_STARTS.update(("i", "I", "n", "N"))  # inf, nan: float() reads them too
LEVELS = 4


def flatten(condition):
    """The terms of a top-level conjunction."""
    if condition is None:
        return []
    if isinstance(condition, ast.And):
        return [term for item in condition.items for term in flatten(item)]
    return [condition]


def refers_to_input(node):
    return any(key.of_input for key in keys_of(node))


def _input_time_offset(node):
    """c when node is `inputFile.MJD-OBS + c` (or − c, or alone); else None."""
    if isinstance(node, ast.Key):
        return 0.0 if node.of_input and node.name == TIME_KEY else None
    if isinstance(node, ast.Arithmetic) and node.op in "+-":
        left, right = node.left, node.right
        if isinstance(right, ast.Literal) and isinstance(right.value, (int, float)):
            base = _input_time_offset(left)
            if base is not None:
                return base + right.value if node.op == "+" else base - right.value
        if node.op == "+" and isinstance(left, ast.Literal) and isinstance(left.value, (int, float)):
            base = _input_time_offset(right)
            if base is not None:
                return base + left.value
    return None


def _is_candidate_time(node):
    return isinstance(node, ast.Key) and not node.of_input and node.name == TIME_KEY


def _window_of(term):
    """(low, high, soft) in days relative to inputFile.MJD-OBS, for a time-window term."""
    if isinstance(term, ast.Between) and _is_candidate_time(term.value):
        low, high = _input_time_offset(term.low), _input_time_offset(term.high)
        if low is not None and high is not None:
            return low, high, term.soft
    if isinstance(term, ast.Compare) and term.op in ("<", "<=", ">", ">="):
        op, left, right = term.op, term.left, term.right
        if _is_candidate_time(right):  # inputFile.MJD-OBS + c < MJD-OBS  →  MJD-OBS > …
            op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}[op]
            left, right = right, left
        if _is_candidate_time(left):
            offset = _input_time_offset(right)
            if offset is not None:
                if op in ("<", "<="):
                    return -math.inf, offset, False
                return offset, math.inf, False
    return None


def _match_key(term):
    """(input keyword, candidate keyword) for `inputFile.K == K'`."""
    if isinstance(term, ast.Compare) and term.op == "==":
        left, right = term.left, term.right
        if isinstance(left, ast.Key) and isinstance(right, ast.Key):
            if left.of_input and not right.of_input:
                return left.name, right.name
            if right.of_input and not left.of_input:
                return right.name, left.name
    return None


def _intersect(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return max(a[0], b[0]), min(a[1], b[1])


def level_windows(soft, hard, widen_factor, search_days):
    """The time window of each quality level 0…3 (days relative to the AB), widest last."""

    def clip(window):
        low, high = window
        return max(low, -search_days), min(high, search_days)

    def widen(window):
        low, high = window
        return (
            max(low * widen_factor, -search_days) if low < 0 else low,
            min(high * widen_factor, search_days) if high > 0 else high,
        )

    if soft is not None:
        first = clip(_intersect(soft, hard))
    elif hard is not None:
        first = clip(hard)
    else:
        return [(-search_days, search_days)] * LEVELS
    second = clip(hard) if soft is not None and hard is not None else widen(first)
    second = (min(second[0], first[0]), max(second[1], first[1]))
    third = widen(second)
    fourth = (-search_days if third[0] < 0 else third[0], search_days if third[1] > 0 else third[1])
    return [first, second, third, fourth]


def match_value(value):
    """Canonical form for hashing match-key values, equal where the evaluator's `==` is:
    2, 2.0 and "2" are one number (to 9 significant digits); T and True one text."""
    if value is None:
        return None
    if isinstance(value, str) and value.strip()[:1] not in NUMBER_STARTS:
        return value.strip()  # a name such as "Ks" or "S27": no number to try
    number = as_number(value)
    if number is not None:
        return float(f"{number:.9g}")
    return as_text(value)


@dataclass
class Found:
    records: list  # chosen candidates, best first
    levels: list  # their levels
    nearest_beyond: object = None  # (record, delta, level) of the best candidate too far away
    reach: tuple | None = None  # (low, high) MJD the timed candidates had to be complete in


class SelectPlan:
    """How to answer one select for many ABs (see the module docstring)."""

    def __init__(self, select, widen_factor, search_days):
        self.select = select
        filters, matches, residual = [], [], []
        soft = hard = None
        for term in flatten(select.condition):
            window = _window_of(term)
            if window is not None:
                low, high, is_soft = window
                if is_soft:
                    soft = _intersect(soft, (low, high))
                else:
                    hard = _intersect(hard, (low, high))
                continue
            key = _match_key(term)
            if key is not None:
                matches.append(key)
            elif refers_to_input(term):
                residual.append(term)
            else:
                filters.append(term)
        self.match_keys = tuple(matches)
        self.timed = soft is not None or hard is not None
        self.windows = level_windows(soft, hard, widen_factor, search_days)
        self._filter = compile_condition(ast.And(tuple(filters))) if filters else None
        self._residual = compile_condition(ast.And(tuple(residual))) if residual else None
        # The candidate conditions read only candidate keywords: their result is a function
        # of these values, so it is computed once per distinct combination (see accepts).
        names = {key.name for term in filters for key in keys_of(term)}
        self._filter_keys = tuple(sorted(names))
        self._accepted = {}

    def index(self, records):
        return CandidateIndex(self, records)

    def accepts(self, record):
        if self._filter is None:
            return True
        values = record.values
        try:
            memo = tuple(memo_key(values.get(name)) for name in self._filter_keys)
            accepted = self._accepted.get(memo)
        except TypeError:  # an unhashable value (a list): evaluate it directly
            return self._filter(values, None)
        if accepted is None:
            accepted = self._accepted[memo] = self._filter(values, None)
        return accepted


def memo_key(value):
    """A value as a dict key that never merges values the evaluator tells apart: 1, 1.0
    and True are equal in Python but not as text; 0.0 and -0.0 print differently."""
    kind = type(value)
    if kind is float and value == 0.0:
        return kind, value, math.copysign(1.0, value)
    return kind, value


class CandidateIndex:
    """Candidates of one select, bucketed by match-key values and sorted by time."""

    def __init__(self, plan, records):
        self.plan = plan
        buckets = defaultdict(list)
        for record in records:
            if plan.accepts(record):
                key = tuple(match_value(record.values.get(c)) for _, c in plan.match_keys)
                buckets[key].append(record)
        self.buckets = {}
        for key, members in buckets.items():
            timed = sorted((r for r in members if r.mjd is not None), key=lambda r: (r.mjd, r.name))
            timeless = sorted((r for r in members if r.mjd is None), key=lambda r: r.name)
            self.buckets[key] = ([r.mjd for r in timed], timed, timeless)

    def find(self, primary, time, max_level, exclude=None):
        """Best candidates for an AB whose primary frame is `primary` (values) at `time`.

        Returns Found with up to maxRet records from the lowest level that offers at least
        max(minRet, 1) of them; `exclude(record)` removes e.g. the AB's own products.
        """
        plan = self.plan
        select = plan.select
        key = tuple(match_value(primary.get(i)) for i, _ in plan.match_keys)
        bucket = self.buckets.get(key)
        if bucket is None:
            widest = plan.windows[-1]
            reach = None if time is None else (time + widest[0], time + widest[1])
            return Found([], [], reach=reach)
        times, timed, timeless = bucket

        def usable(record):
            if exclude is not None and exclude(record):
                return False
            return plan._residual is None or plan._residual(record.values, primary)

        need = max(select.min_ret, 1)
        take = None if select.max_ret < 0 else select.max_ret
        static = [r for r in timeless if usable(r)]
        if static:  # static calibrations have no time: level 0
            chosen = static[:take] if take else static
            return Found(chosen, [0] * len(chosen))
        if time is None:
            return Found([], [])
        beyond = None
        reach = (time, time)
        for level, (low, high) in enumerate(plan.windows):
            start = bisect_left(times, time + low)
            stop = bisect_right(times, time + high)
            inside = [r for r in timed[start:stop] if usable(r)]
            if len(inside) < need:  # every candidate of this window counted
                reach = (min(reach[0], time + low), max(reach[1], time + high))
                continue
            inside.sort(key=lambda r: (abs(r.mjd - time), r.mjd, r.name))
            chosen = inside[:take] if take else inside
            far = max(abs(r.mjd - time) for r in chosen) if take else math.inf
            reach = (min(reach[0], time + max(low, -far)), max(reach[1], time + min(high, far)))
            if level <= max_level:
                return Found(chosen, [self._level(r.mjd - time) for r in chosen], reach=reach)
            beyond = (chosen[0], chosen[0].mjd - time, level)
            break
        return Found([], [], nearest_beyond=beyond, reach=reach)

    def _level(self, delta):
        for level, (low, high) in enumerate(self.plan.windows):
            if low <= delta <= high:
                return level
        return LEVELS - 1
