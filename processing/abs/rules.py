"""The parsed rule set of an instance, cached by the hash of its text."""

from pathlib import Path

from processing.oca import parse_rules

_cache = {}


def ruleset_of(instance):
    """The instance's RuleSet; raises OcaSyntaxError naming file, line and column."""
    key = (instance.rules_hash, instance.rules_path)
    ruleset = _cache.get(key)
    if ruleset is None:
        directory = Path(instance.rules_path).parent if instance.rules_path else None
        ruleset = parse_rules(instance.rules_text, source=instance.rules_path or instance.name,
                              include_dirs=(directory,) if directory else ())
        if len(_cache) >= 16:
            _cache.clear()
        _cache[key] = ruleset
    return ruleset
