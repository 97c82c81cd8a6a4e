"""A parsed rule file: its rules, what they use, and classification of header values."""

from dataclasses import dataclass, field

from processing.oca import ast
from processing.oca.evaluate import compile_condition

# Keys a classification rule sets in DFOS and Reflex rule files; others draw a warning.
CLASSIFICATION_KEYS = {"RAW.TYPE", "DO.CATG", "DO.CLASS", "PRO.CATG", "PACK.DIR", "CATG",
                       "TECH", "EXPOSE_TO_CALSELECTOR", "RAW_MINNUM"}
CLASSIFICATION_PREFIXES = ("REFLEX.", "PHOENIX.")
SOURCES = ("inputFiles", "calibFiles")


def keys_of(node):
    """Every Key node below an expression."""
    if node is None:
        return
    if isinstance(node, ast.Key):
        yield node
    elif isinstance(node, (ast.Compare, ast.Arithmetic)):
        yield from keys_of(node.left)
        yield from keys_of(node.right)
    elif isinstance(node, ast.Like):
        yield from keys_of(node.value)
    elif isinstance(node, ast.Between):
        for item in (node.value, node.low, node.high):
            yield from keys_of(item)
    elif isinstance(node, (ast.And, ast.Or)):
        for item in node.items:
            yield from keys_of(item)
    elif isinstance(node, ast.Not):
        yield from keys_of(node.item)


@dataclass
class RuleSet:
    """A whole rule file, after preprocessing (#include, #define) and parsing."""

    source: str
    classifications: list = field(default_factory=list)
    organisations: list = field(default_factory=list)
    actions: dict = field(default_factory=dict)  # name → Action
    files: list = field(default_factory=list)  # the file and everything it #included
    warnings: list = field(default_factory=list)  # "file:line:col: message"

    def __post_init__(self):
        self._tests = [(compile_condition(rule.condition), rule.assignments)
                       for rule in self.classifications]

    def classify(self, values):
        """The assignments of every true classification rule, later rules overwriting.

        A rule sees the values earlier rules assigned (a rule may refine a RAW.TYPE).
        """
        assigned = {}
        view = values
        for test, assignments in self._tests:
            if test(view, None):
                if view is values:
                    view = dict(values)
                for key, value in assignments:
                    assigned[key] = value
                    view[key] = value
        return assigned

    def keywords_used(self):
        """Header keywords the rules read (candidate and inputFile. sides alike)."""
        names = set()
        for rule in self.classifications:
            names.update(k.name for k in keys_of(rule.condition))
        for rule in self.organisations:
            names.update(k.name for k in keys_of(rule.condition))
            names.update(rule.group_by)
        for action in self.actions.values():
            for select in action.selects:
                names.update(k.name for k in keys_of(select.condition))
        return sorted(names - self.assigned_keys())

    def assigned_keys(self):
        return {key for rule in self.classifications for key, _ in rule.assignments}

    def raw_types(self):
        return sorted({str(v) for rule in self.classifications
                       for k, v in rule.assignments if k == "RAW.TYPE"})

    def tags(self):
        """SOF tags: DO.CATG values of the classification and the tags of the selects."""
        tags = {str(v) for rule in self.classifications for k, v in rule.assignments
                if k in ("DO.CATG", "DO.CLASS")}
        tags.update(s.tag for a in self.actions.values() for s in a.selects)
        return sorted(tags)

    def summary(self):
        return {
            "source": self.source,
            "files": list(self.files),
            "classification_rules": len(self.classifications),
            "organisation_rules": len(self.organisations),
            "actions": sorted(self.actions),
            "raw_types": self.raw_types(),
            "tags": self.tags(),
            "recipes": sorted({a.recipe for a in self.actions.values() if a.recipe}),
            "warnings": list(self.warnings),
        }


def build_ruleset(source, statements, files):
    ruleset_parts = {"classifications": [], "organisations": [], "actions": {}}
    warnings = []
    for statement in statements:
        if isinstance(statement, ast.Classification):
            ruleset_parts["classifications"].append(statement)
            for key, _ in statement.assignments:
                if key not in CLASSIFICATION_KEYS and not key.startswith(CLASSIFICATION_PREFIXES):
                    warnings.append(f"{statement.position}: classification sets {key}, "
                                    "which no tool reads (a typo?)")
        elif isinstance(statement, ast.Organisation):
            ruleset_parts["organisations"].append(statement)
            if statement.source not in SOURCES:
                warnings.append(f"{statement.position}: select from {statement.source}: "
                                f"expected one of {', '.join(SOURCES)}")
        elif isinstance(statement, ast.Action):
            if statement.name in ruleset_parts["actions"]:
                first = ruleset_parts["actions"][statement.name].position
                warnings.append(f"{statement.position}: action {statement.name} is defined "
                                f"again (first at {first}); the later definition is used")
            ruleset_parts["actions"][statement.name] = statement
            for select in statement.selects:
                if select.source not in SOURCES:
                    warnings.append(f"{select.position}: select from {select.source}: "
                                    f"expected one of {', '.join(SOURCES)}")
                if select.max_ret >= 0 and select.min_ret > select.max_ret:
                    warnings.append(f"{select.position}: minRet {select.min_ret} > maxRet "
                                    f"{select.max_ret}: the select can never be satisfied")
    actions = ruleset_parts["actions"]
    for rule in ruleset_parts["organisations"]:
        if rule.action not in actions:
            warnings.append(f"{rule.position}: select execute({rule.action}): no action "
                            f"{rule.action} is defined; its ABs get no recipe")
    return RuleSet(source, files=list(dict.fromkeys(files)), warnings=warnings, **ruleset_parts)
