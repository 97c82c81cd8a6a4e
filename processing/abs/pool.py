"""Load frames and products with only the keywords the rules use.

A raw frame's keyword JSON holds hundreds of keywords; a year of an instrument is 10⁵
frames. Fetching and decoding them whole would dominate createAB, so the database builds a
small JSON object of the keywords the rule set references (SQLite `->`, PostgreSQL `->`
keep their JSON types, booleans included) and Python decodes only that.
"""

from dataclasses import dataclass, field

from django.db.models import Func, JSONField

#: Keywords every AB needs besides those the rules use (qualifiers, naming, display).
QUALIFIER_KEYWORDS = (
    "ARCFILE", "MJD-OBS", "EXPTIME", "OBJECT", "DPR.CATG", "DPR.TYPE", "DPR.TECH",
    "OBS.PROG.ID", "OBS.ID", "OBS.TARG.NAME", "TPL.ID", "TPL.START", "PRO.CATG",
)  # fmt: skip
_CHUNK = 40  # keys per JSON-building call (SQLite and PostgreSQL limit function arguments)


class KeywordSubset(Func):
    """`keywords` reduced to the given keys (missing keys come back as null)."""

    output_field = JSONField()

    def __init__(self, field_name, keys):
        self.keys = sorted(set(keys))
        super().__init__(field_name)

    def _pairs(self, compiler, connection, path):
        column_sql, column_params = compiler.compile(self.source_expressions[0])
        chunks = []
        for start in range(0, len(self.keys), _CHUNK):
            sql, params = [], []
            for key in self.keys[start : start + _CHUNK]:
                sql.append(f"%s, {column_sql} -> %s")
                params += [key, *column_params, path(key)]
            chunks.append((", ".join(sql), params))
        return chunks

    def as_sqlite(self, compiler, connection, **extra):
        chunks = self._pairs(compiler, connection, lambda key: '$."%s"' % key.replace('"', '\\"'))
        sql = [f"json_object({body})" for body, _ in chunks]
        params = [p for _, chunk_params in chunks for p in chunk_params]
        merged = sql[0]
        for part in sql[1:]:
            merged = f"json_patch({merged}, {part})"
        return merged, params

    def as_postgresql(self, compiler, connection, **extra):
        chunks = self._pairs(compiler, connection, lambda key: key)
        sql = " || ".join(f"jsonb_build_object({body})" for body, _ in chunks)
        params = [p for _, chunk_params in chunks for p in chunk_params]
        return f"({sql})", params


@dataclass
class Record:
    """A raw frame or a (master, static or virtual) product as rules see it.

    `values` maps OCA names to values: header keywords plus the classification result
    (RAW.TYPE, DO.CATG, …). `mjd` is the time association matches on.
    """

    kind: str  # "raw", "master", "static", "virtual"
    pk: int | None
    name: str
    mjd: float | None
    night: object
    values: dict
    run_id: str = ""
    source_ab: object = None  # the AB that makes a virtual product
    extra: dict = field(default_factory=dict)

    def get(self, key, default=None):
        return self.values.get(key, default)


def frame_records(queryset, keys):
    """Records of the raw frames of `queryset` with the given keywords."""
    rows = queryset.values_list(
        "id", "arcfile", "night", "mjd_obs", "run_id", KeywordSubset("keywords", keys)
    ).order_by("mjd_obs", "arcfile")
    return [
        Record("raw", pk, arcfile, mjd, night, values or {}, run_id)
        for pk, arcfile, night, mjd, run_id, values in rows
    ]


def product_records(queryset, keys):
    """Records of products (certified masters or static calibrations)."""
    rows = queryset.values_list(
        "id", "name", "night", "mjd_obs", "kind", "pro_catg", KeywordSubset("keywords", keys)
    ).order_by("mjd_obs", "name")
    records = []
    for pk, name, night, mjd, kind, pro_catg, values in rows:
        values = dict(values or {})
        values["PRO.CATG"] = pro_catg
        records.append(Record(kind, pk, name, mjd, night, values))
    return records
