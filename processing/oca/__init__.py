"""OCA — ESO's Organisation, Classification, Association rule language.

parse_rules(text, source, include_dirs) → RuleSet; conditions compile with
processing.oca.evaluate.compile_condition. See docs/OCA.md.
"""

from processing.oca.evaluate import compile_condition
from processing.oca.parser import parse_rules, parse_rules_file
from processing.oca.preprocess import OcaSyntaxError
from processing.oca.ruleset import RuleSet

__all__ = ["OcaSyntaxError", "RuleSet", "compile_condition", "parse_rules", "parse_rules_file"]
