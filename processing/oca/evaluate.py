"""Evaluate OCA conditions: compile a syntax tree once into a Python function.

Semantics (what DFOS rule files rely on):
- a missing keyword is None; `==` is true when both sides are missing, false when one is;
  `!=` is the negation of `==`; `<`, `>`, `like`, `between` are false on a missing value;
- values compare as numbers when both sides read as numbers (2 == 2.0 == "2"), with a
  relative tolerance of 1e-6 for `==` (header floats are printed with few digits),
  otherwise as strings with surrounding blanks ignored; booleans read as "T"/"F";
- `like` is SQL-like: % any run of characters, _ one character, case-sensitive;
- `between low and high` is inclusive; `tryBetween` is the same in a condition — its
  softness matters only to the association planner (processing/abs/plan.py);
- a bare value in a condition is true when it is T (or a non-zero number).

compile_condition(expr) returns f(values, input_values=None) -> bool, where values are the
keywords of the file being tested and input_values those of the AB's primary frame.
"""

import math
import re

from processing.oca import ast

REL_TOL = 1e-6


def as_number(value):
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def as_text(value):
    if isinstance(value, bool):
        return "T" if value else "F"
    return str(value).strip()


def equal(a, b):
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, str) and isinstance(b, str):
        if a == b:
            return True
    x, y = as_number(a), as_number(b)
    if x is not None and y is not None:
        return x == y or math.isclose(x, y, rel_tol=REL_TOL, abs_tol=1e-12)
    return as_text(a) == as_text(b)


def order(a, b):
    """-1, 0, 1, or None when the values cannot be ordered."""
    if a is None or b is None:
        return None
    x, y = as_number(a), as_number(b)
    if x is not None and y is not None:
        return (x > y) - (x < y)
    if isinstance(a, str) and isinstance(b, str):
        a, b = a.strip(), b.strip()
        return (a > b) - (a < b)
    return None


def truth(value):
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, str):
        return value.strip() == "T"
    number = as_number(value)
    return bool(number)


def like_pattern(pattern):
    parts = []
    for char in pattern:
        parts.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
    return re.compile("".join(parts), re.S)


_COMPARE = {
    "<": lambda o: o < 0,
    ">": lambda o: o > 0,
    "<=": lambda o: o <= 0,
    ">=": lambda o: o >= 0,
}
_ARITHMETIC = {
    "+": lambda x, y: x + y,
    "-": lambda x, y: x - y,
    "*": lambda x, y: x * y,
    "/": lambda x, y: x / y if y else None,
}


def compile_value(node):
    """f(values, input_values) -> the value of an expression node."""
    if isinstance(node, ast.Literal):
        value = node.value
        return lambda values, inp: value
    if isinstance(node, ast.Key):
        name = node.name
        if node.of_input:
            return lambda values, inp: inp.get(name) if inp is not None else None
        return lambda values, inp: values.get(name)
    if isinstance(node, ast.Arithmetic):
        left, right, op = compile_value(node.left), compile_value(node.right), _ARITHMETIC[node.op]

        def arithmetic(values, inp):
            x, y = as_number(left(values, inp)), as_number(right(values, inp))
            return None if x is None or y is None else op(x, y)

        return arithmetic
    test = compile_condition(node)
    return test


def compile_condition(node):
    """f(values, input_values=None) -> bool for a condition node (see module docstring)."""
    if isinstance(node, ast.And):
        tests = [compile_condition(item) for item in node.items]
        return lambda values, inp=None: all(t(values, inp) for t in tests)
    if isinstance(node, ast.Or):
        tests = [compile_condition(item) for item in node.items]
        return lambda values, inp=None: any(t(values, inp) for t in tests)
    if isinstance(node, ast.Not):
        test = compile_condition(node.item)
        return lambda values, inp=None: not test(values, inp)
    if isinstance(node, ast.Compare):
        return _compile_compare(node)
    if isinstance(node, ast.Like):
        value, regex = compile_value(node.value), like_pattern(node.pattern)

        def like(values, inp=None):
            v = value(values, inp)
            return v is not None and regex.fullmatch(as_text(v)) is not None

        return like
    if isinstance(node, ast.Between):
        value, low, high = (compile_value(n) for n in (node.value, node.low, node.high))

        def between(values, inp=None):
            v = value(values, inp)
            lo, hi = low(values, inp), high(values, inp)
            return order(v, lo) in (0, 1) and order(v, hi) in (-1, 0)

        return between
    value = compile_value(node)
    return lambda values, inp=None: truth(value(values, inp))


def _compile_compare(node):
    op = node.op
    # The common case first: KEY == "string" (classification), as one dict lookup.
    if op in ("==", "!=") and isinstance(node.left, ast.Key) and not node.left.of_input \
            and isinstance(node.right, ast.Literal) and isinstance(node.right.value, str):
        name, literal = node.left.name, node.right.value
        stripped = literal.strip()
        literal_is_text = as_number(literal) is None

        def equals_literal(values, inp=None):
            v = values.get(name)
            if v == literal:
                return True
            if v is None:
                return False
            if isinstance(v, str):
                if v.strip() == stripped:
                    return True
                if literal_is_text:  # two texts that differ: no need to try numbers
                    return False
            return equal(v, literal)

        if op == "==":
            return equals_literal
        return lambda values, inp=None: not equals_literal(values, inp)
    left, right = compile_value(node.left), compile_value(node.right)
    if op == "==":
        return lambda values, inp=None: equal(left(values, inp), right(values, inp))
    if op == "!=":
        return lambda values, inp=None: not equal(left(values, inp), right(values, inp))
    accept = _COMPARE[op]

    def compare(values, inp=None):
        o = order(left(values, inp), right(values, inp))
        return o is not None and accept(o)

    return compare
