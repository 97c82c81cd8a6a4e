"""renameProducts: the DFOS names certified products get when they are moved.

`<instrument code>_<type code>_<date and time of the AB's first raw frame>[_<setup>…].fits`,
e.g. `NA_MDRK_2009-06-15T10:02:11.000_HighDynamic_0.35.fits`: the two-letter instrument code
of the instance, a four-letter code per PRO.CATG, the AB's MJD-OBS (unique per AB, and the
same for every re-processing of that AB, so a reprocessed product replaces its predecessor
under ENABLE_UPDATES) and the values of the setup keywords the instance names. The scheme is
the `[naming]` table of the instance's config.toml.
"""

import re
from dataclasses import dataclass

from processing.conventions import mjd_to_datetime

#: Phase 3 refuses file names longer than this
MAX_NAME_LENGTH = 68
_CODE = re.compile(r"^[A-Z0-9]{4}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9.+-]+")


class NamingError(Exception):
    """The naming scheme is wrong or cannot name a product; says which key and why."""

    def __init__(self, key, reason):
        super().__init__(f"naming.{key}: {reason}")
        self.key, self.reason = key, reason


@dataclass(frozen=True)
class TypeRule:
    code: str
    setup: tuple


def parse_naming(table):
    """Validate the [naming] table; return {PRO.CATG: TypeRule} and the values to skip."""
    types = {}
    for catg, value in (table.get("types") or {}).items():
        if isinstance(value, str):
            value = {"code": value}
        if not isinstance(value, dict) or set(value) - {"code", "setup"}:
            raise NamingError(f"types.{catg}", 'give a code or { code = "ABCD", setup = [...] }')
        code, setup = value.get("code"), value.get("setup", [])
        if not isinstance(code, str) or not _CODE.match(code):
            raise NamingError(f"types.{catg}.code", f"{code!r} is not 4 upper-case letters or digits")
        if not isinstance(setup, list) or not all(isinstance(k, str) and k for k in setup):
            raise NamingError(f"types.{catg}.setup", "must be a list of header keywords (OCA names)")
        types[catg] = TypeRule(code, tuple(setup))
    skip = table.get("skip", [])
    if not isinstance(skip, list) or not all(isinstance(v, str) for v in skip):
        raise NamingError("skip", "must be a list of strings")
    return types, frozenset(skip)


def missing_types(table, pro_catgs):
    """PRO.CATGs the rules declare that the naming scheme cannot name."""
    types, _ = parse_naming(table)
    return sorted(set(pro_catgs) - set(types))


def product_name(instance, ab, pro_catg, keywords, index=0):
    """The DFOS name of a product; `index` > 0 numbers further products of the same PRO.CATG."""
    table = (instance.config or {}).get("naming") or {}
    types, skip = parse_naming(table)
    rule = types.get(pro_catg)
    if rule is None:
        raise NamingError(
            f"types.{pro_catg}",
            f"{instance.name} has no naming rule for PRO.CATG {pro_catg} (product of "
            f"{ab.ab_name}); add it to [naming.types] in {instance.config_path or 'config.toml'}",
        )
    moment = mjd_to_datetime(ab.mjd_obs)
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
    parts = [instance.instrument_code, rule.code, stamp]
    for key in rule.setup:
        value = keywords.get(key)
        if value is None or str(value).strip() in skip or not str(value).strip():
            continue
        parts.append(_UNSAFE.sub("-", _setup_text(value)).strip("-"))
    if index:
        parts.append(f"{index:02d}")
    name = "_".join(parts) + ".fits"
    if len(name) > MAX_NAME_LENGTH:
        raise NamingError(f"types.{pro_catg}.setup",
                          f"{name} is longer than {MAX_NAME_LENGTH} characters; name fewer setup keywords")  # fmt: skip
    return name


def _setup_text(value):
    if isinstance(value, float):
        return f"{value:g}"
    return str(value).strip()
