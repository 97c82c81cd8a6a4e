"""Instance files: processing/instances/<NAME>/config.toml (+ the OCA rules file it names).

config.toml is the equivalent of DFOS' config.phoenix (plus config.phoenixMonitor). This
module validates a file against a declarative schema and loads it into an Instance row;
every error names the file, the key and the reason, because an operator who mistyped
`complete_mode` wants to be told exactly that, not to find out in the middle of a batch.
"""

import hashlib
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from django.conf import settings
from django.db import transaction

from processing.choices import AbSource, CalSelectorMode, Engine, InstanceMode, PeriodSource

CONFIG_FILE = "config.toml"


class InstanceConfigError(Exception):
    def __init__(self, path, key, reason):
        self.path, self.key, self.reason = str(path), key, reason
        where = f"{self.path}: {key}: " if key else f"{self.path}: "
        super().__init__(where + reason)


@dataclass(frozen=True)
class Key:
    """One configuration key: its type, whether it is required, allowed values, default."""

    kind: type | tuple
    required: bool = False
    choices: tuple = ()
    default: object = None
    help: str = ""


def _choices(text_choices):
    return tuple(text_choices.values)


SCHEMA = {
    "instance": {
        "name": Key(str, required=True, help="must equal the directory name"),
        "description": Key(str, default=""),
        "instrument": Key(str, required=True, help="ARCFILE prefix, e.g. NACO"),
        "instrument_code": Key(str, required=True, help="2-letter product-name code"),
        "instrume": Key(list, required=True, help="INSTRUME header values"),
        "mode": Key(str, required=True, choices=_choices(InstanceMode)),
        "complete_mode": Key(bool, default=False),
        "update_yn": Key(bool, default=False),
        "enable_updates": Key(bool, default=False),
        "night_offset_hours": Key((int, float), default=0.0),
    },
    "ab_source": {
        "mode": Key(str, required=True, choices=_choices(AbSource)),
        "create_from": Key(date, help="nights from this date on get created ABs"),
        "import_dir": Key(str, help="directory of historical AB files"),
    },
    "processing": {
        "engine": Key(str, required=True, choices=_choices(Engine)),
        "rules": Key(str, required=True, help="OCA rules file, relative to the instance"),
        "product_marker": Key(str, default=""),
        "recipe_timeout": Key(int, default=3600, help="seconds a recipe may run"),
        "timeouts": Key(dict, default={}, help="recipe name → seconds, overrides recipe_timeout"),
    },
    "calselector": {
        "default": Key(str, required=True, choices=_choices(CalSelectorMode)),
        "period": Key(list, default=[]),
    },
    "data_pool": {
        "keyword_prefixes": Key(list, default=[]),
    },
    "association": {
        "max_level": Key(int, default=2, help="worst quality level (0-3) accepted"),
        "widen_factor": Key((int, float), default=2.0, help="window growth per level"),
        "search_days": Key((int, float), default=60, help="level 3 window, days"),
        "drs_type": Key(str, default="CPL", help="DRS_TYPE written into ABs"),
    },
    "qc": {
        "auto_certify": Key(bool, default=False, help="certify ABs whose QC scores all pass"),
        "thresholds": Key(dict, default={}, help="QC parameter → {low, high}; see docs/QC.md"),
    },
    "naming": {
        "types": Key(dict, default={}, help="PRO.CATG → 4-letter code [+ setup keywords]"),
        "skip": Key(list, default=[], help="setup values left out of names, e.g. empty"),
    },
    "monitor": {
        "sci_scale": Key(int, default=5),
        "sci_max": Key(int, default=20),
        "sci_class": Key(str, default=""),
        "idp_pro_catg": Key(list, default=[], help="PRO.CATG the IDP count bar counts; [] all IDPs"),
        "check_conv": Key(bool, default=True),
        "mark_virtual": Key(bool, default=True),
        "max_total_number": Key(int, default=1000),
        "refresh_seconds": Key(int, default=10),
    },
}
REQUIRED_TABLES = ("instance", "ab_source", "processing", "calselector")
PERIOD_SCHEMA = {
    "start": Key(date, required=True),
    "end": Key(date, required=True),
    "mode": Key(str, required=True, choices=_choices(CalSelectorMode)),
    "reason": Key(str, default=""),
}


def _type_name(kind):
    names = {str: "a string", bool: "true or false", int: "an integer", list: "a list",
             date: "a date (YYYY-MM-DD, unquoted)", float: "a number", dict: "a table"}  # fmt: skip
    if isinstance(kind, tuple):
        return "a number"
    return names.get(kind, kind.__name__)


def _check_table(path, prefix, table, schema):
    if not isinstance(table, dict):
        raise InstanceConfigError(path, prefix, "must be a table")
    unknown = sorted(set(table) - set(schema))
    if unknown:
        raise InstanceConfigError(
            path, f"{prefix}.{unknown[0]}",
            f"unknown key; the keys of [{prefix}] are {', '.join(schema)}",
        )
    values = {}
    for name, key in schema.items():
        dotted = f"{prefix}.{name}"
        if name not in table:
            if key.required:
                raise InstanceConfigError(path, dotted, "missing (required)")
            values[name] = key.default
            continue
        value = table[name]
        kinds = key.kind if isinstance(key.kind, tuple) else (key.kind,)
        wrong_bool = isinstance(value, bool) and bool not in kinds
        if wrong_bool or not isinstance(value, kinds):
            raise InstanceConfigError(
                path, dotted, f"{value!r} is not {_type_name(key.kind)}"
            )
        if key.choices and value not in key.choices:
            raise InstanceConfigError(
                path, dotted, f"{value!r} is not one of {', '.join(key.choices)}"
            )
        values[name] = value
    return values


def parse_config(path):
    """Read and validate one config.toml; return the validated settings as a dict."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InstanceConfigError(path, "", f"cannot read: {exc.strerror or exc}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InstanceConfigError(path, "", f"not valid TOML: {exc}") from None
    unknown = sorted(set(raw) - set(SCHEMA))
    if unknown:
        raise InstanceConfigError(
            path, unknown[0], f"unknown table; the tables are {', '.join(SCHEMA)}"
        )
    for table in REQUIRED_TABLES:
        if table not in raw:
            raise InstanceConfigError(path, f"[{table}]", "missing (required table)")
    config = {table: _check_table(path, table, raw.get(table, {}), SCHEMA[table])
              for table in SCHEMA}  # fmt: skip
    _check_semantics(path, config)
    return config, text


def _check_semantics(path, config):
    instance = config["instance"]
    if instance["name"] != path.parent.name:
        raise InstanceConfigError(
            path, "instance.name",
            f"{instance['name']!r} differs from the directory name {path.parent.name!r}",
        )
    code = instance["instrument_code"]
    if len(code) != 2 or not code.isalnum() or not code.isupper():
        raise InstanceConfigError(
            path, "instance.instrument_code", f"{code!r} is not 2 upper-case letters (e.g. NA)"
        )
    if not instance["instrume"] or not all(isinstance(v, str) and v for v in instance["instrume"]):
        raise InstanceConfigError(
            path, "instance.instrume", "must list at least one INSTRUME value (strings)"
        )
    if not -12 <= instance["night_offset_hours"] <= 12:
        raise InstanceConfigError(
            path, "instance.night_offset_hours",
            f"{instance['night_offset_hours']} is outside -12…12 hours",
        )
    source = config["ab_source"]
    if source["mode"] == AbSource.IMPORT and not source["import_dir"]:
        raise InstanceConfigError(
            path, "ab_source.import_dir", "required when ab_source.mode is 'import'"
        )
    prefixes = config["data_pool"]["keyword_prefixes"]
    for prefix in prefixes:
        if not isinstance(prefix, str) or not prefix.isalnum() or not prefix.isupper():
            raise InstanceConfigError(
                path, "data_pool.keyword_prefixes",
                f"{prefix!r} is not an ESO keyword category such as AOS or TEL",
            )
    association = config["association"]
    if not 0 <= association["max_level"] <= 3:
        raise InstanceConfigError(
            path, "association.max_level", f"{association['max_level']} is not a level 0…3"
        )
    if association["widen_factor"] < 1:
        raise InstanceConfigError(
            path, "association.widen_factor", f"{association['widen_factor']} must be ≥ 1"
        )
    if not 0 < association["search_days"] <= 3660:
        raise InstanceConfigError(
            path, "association.search_days", f"{association['search_days']} is outside 0…3660 days"
        )
    processing = config["processing"]
    for recipe, seconds in {"": processing["recipe_timeout"], **processing["timeouts"]}.items():
        key = f"processing.timeouts.{recipe}" if recipe else "processing.recipe_timeout"
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds <= 0:
            raise InstanceConfigError(path, key, f"{seconds!r} is not a positive number of seconds")
    monitor = config["monitor"]
    for name in ("sci_scale", "sci_max", "max_total_number", "refresh_seconds"):
        if monitor[name] <= 0:
            raise InstanceConfigError(path, f"monitor.{name}", f"{monitor[name]} must be > 0")
    if not all(isinstance(catg, str) and catg for catg in monitor["idp_pro_catg"]):
        raise InstanceConfigError(path, "monitor.idp_pro_catg", "must list PRO.CATG values (strings)")
    from processing.naming import NamingError, parse_naming
    from processing.qc.thresholds import ThresholdError, parse_thresholds

    try:
        parse_naming(config["naming"])
    except NamingError as exc:
        raise InstanceConfigError(path, f"naming.{exc.key}", exc.reason) from None

    try:
        parse_thresholds(config["qc"]["thresholds"])
    except ThresholdError as exc:
        raise InstanceConfigError(path, exc.key, exc.reason) from None
    periods = []
    for number, period in enumerate(config["calselector"]["period"], start=1):
        checked = _check_table(path, f"calselector.period[{number}]", period, PERIOD_SCHEMA)
        if checked["start"] > checked["end"]:
            raise InstanceConfigError(
                path, f"calselector.period[{number}]",
                f"start {checked['start']} lies after end {checked['end']}",
            )
        for other in periods:
            if checked["start"] <= other["end"] and other["start"] <= checked["end"]:
                raise InstanceConfigError(
                    path, f"calselector.period[{number}]",
                    f"overlaps the period {other['start']}…{other['end']}",
                )
        periods.append(checked)
    config["calselector"]["period"] = periods
    rules = path.parent / config["processing"]["rules"]
    if not rules.resolve().is_relative_to(path.parent.resolve()):
        raise InstanceConfigError(
            path, "processing.rules", "must name a file inside the instance directory"
        )
    if not rules.is_file():
        raise InstanceConfigError(path, "processing.rules", f"{rules} does not exist")


def instance_dirs(root=None):
    root = Path(root or settings.PHOENIX_INSTANCES_DIR)
    if not root.is_dir():
        raise InstanceConfigError(root, "", "the instances directory does not exist")
    return sorted(p for p in root.iterdir() if (p / CONFIG_FILE).is_file())


def _json_ready(config):
    """TOML dates → ISO strings, so the config fits a JSON column."""
    if isinstance(config, dict):
        return {key: _json_ready(value) for key, value in config.items()}
    if isinstance(config, list):
        return [_json_ready(value) for value in config]
    if isinstance(config, date):
        return config.isoformat()
    return config


def _rules_hash(config_path, rules_path):
    """Parse the rules (a syntax error stops the load) and hash them with their #includes,
    so that editing an included file counts as a change of the rules."""
    from processing.oca import OcaSyntaxError, parse_rules_file

    try:
        ruleset = parse_rules_file(rules_path)
    except OcaSyntaxError as exc:
        raise InstanceConfigError(config_path, "processing.rules", str(exc)) from None
    digest = hashlib.sha256()
    for name in ruleset.files:
        digest.update(Path(name).read_bytes())
    return digest.hexdigest()


def _check_naming_covers_rules(config_path, config, rules_path, rules_text):
    """Every product the rules declare must have a DFOS name, or -M could not move it."""
    from processing.naming import missing_types
    from processing.oca import parse_rules

    ruleset = parse_rules(rules_text, source=str(rules_path), include_dirs=(rules_path.parent,))
    declared = {p.pro_catg for action in ruleset.actions.values() for p in action.products
                if p.pro_catg}  # fmt: skip
    missing = missing_types(config["naming"], declared)
    if missing:
        raise InstanceConfigError(
            config_path, "naming.types",
            f"no name code for PRO.CATG {', '.join(missing)} (declared in {rules_path.name})",
        )


def load_instance(directory):
    """Validate one instance directory and create or update its Instance row.

    Returns (instance, created, changed). CalSelector periods from the file replace earlier
    ones from the file; periods set by operators are left alone.
    """
    from processing.models import CalSelectorPeriod, Instance

    directory = Path(directory)
    config_path = directory / CONFIG_FILE
    config, text = parse_config(config_path)
    rules_path = directory / config["processing"]["rules"]
    rules_text = rules_path.read_text(encoding="utf-8")
    rules_hash = _rules_hash(config_path, rules_path)
    _check_naming_covers_rules(config_path, config, rules_path, rules_text)
    section = config["instance"]
    values = {
        "description": section["description"],
        "instrument": section["instrument"],
        "instrument_code": section["instrument_code"],
        "instrume_values": section["instrume"],
        "mode": section["mode"],
        "complete_mode": section["complete_mode"],
        "update_yn": section["update_yn"],
        "enable_updates": section["enable_updates"],
        "night_offset_hours": float(section["night_offset_hours"]),
        "ab_source": config["ab_source"]["mode"],
        "ab_source_date": config["ab_source"]["create_from"],
        "engine": config["processing"]["engine"],
        "calselector_mode": config["calselector"]["default"],
        "product_marker": config["processing"]["product_marker"],
        "monitor": config["monitor"],
        "config": _json_ready(config),
        "config_path": str(config_path),
        "config_text": text,
        "config_hash": hashlib.sha256(text.encode()).hexdigest(),
        "rules_path": str(rules_path),
        "rules_text": rules_text,
        "rules_hash": rules_hash,
    }
    with transaction.atomic():
        instance = Instance.objects.filter(name=section["name"]).first()
        created = instance is None
        changed = created or (instance.config_hash, instance.rules_hash) != (
            values["config_hash"], values["rules_hash"]
        )
        if created:
            instance = Instance.objects.create(name=section["name"], **values)
        elif changed:
            for name, value in values.items():
                setattr(instance, name, value)
            instance.save()
        if changed:
            _sync_periods(instance, config["calselector"]["period"], CalSelectorPeriod)
    return instance, created, changed


def _sync_periods(instance, periods, model):
    model.objects.filter(instance=instance, source=PeriodSource.CONFIG).delete()
    operator_periods = list(model.objects.filter(instance=instance))
    for period in periods:
        for other in operator_periods:
            if period["start"] <= other.end and other.start <= period["end"]:
                raise InstanceConfigError(
                    instance.config_path, "calselector.period",
                    f"{period['start']}…{period['end']} overlaps the period "
                    f"{other.start}…{other.end} set by an operator",
                )
        model.objects.create(instance=instance, source=PeriodSource.CONFIG, **period)
