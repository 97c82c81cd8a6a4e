"""Load frames and products with only the keywords the rules use.

A raw frame's keyword JSON holds hundreds of keywords; a year of an instrument is 10⁵
frames. Fetching and decoding them whole would dominate createAB, so the database extracts
the values of the keywords the rule set references, as a small JSON array (SQLite
`json_extract`, PostgreSQL `->` keep their JSON types, booleans included), and Python
decodes only that and pairs it with the keys.
"""

from dataclasses import dataclass, field

from django.db.models import Func, JSONField

#: Keywords every AB needs besides those the rules use (qualifiers, naming, display).
QUALIFIER_KEYWORDS = (
    "ARCFILE", "MJD-OBS", "EXPTIME", "OBJECT", "DPR.CATG", "DPR.TYPE", "DPR.TECH",
    "OBS.PROG.ID", "OBS.ID", "OBS.TARG.NAME", "TPL.ID", "TPL.START", "PRO.CATG",
)  # fmt: skip
_CHUNK = 40  # keys per JSON-building call (SQLite and PostgreSQL limit function arguments)


class KeywordValues(Func):
    """The values of `keys` in `keywords`, null for a missing key: a JSON array with one array
    per chunk of `_CHUNK` keys, in the order of `self.keys` (see `as_dict`).

    Why an array and not an object: the database builds and the client decodes a third less
    (benchmarks/bench_create_abs.py, ~20 keys: 0.95 → 0.63 s per 34 000 frames on PostgreSQL,
    SQLite alike), and SQLite's `json_extract` with several paths parses the column once.
    """

    output_field = JSONField()

    def __init__(self, field_name, keys):
        self.keys = sorted(set(keys))
        self.chunks = [self.keys[i : i + _CHUNK] for i in range(0, len(self.keys), _CHUNK)]
        super().__init__(field_name)

    def as_dict(self, value):
        """{key: value} of every key from what the database returned (None → all null)."""
        values = {}
        for index, keys in enumerate(self.chunks):
            chunk = value[index] if value and index < len(value) else None
            values.update(zip(keys, chunk if chunk else [None] * len(keys)))
        return values

    def as_sqlite(self, compiler, connection, **extra):
        column_sql, column_params = compiler.compile(self.source_expressions[0])
        parts, params = [], []
        for keys in self.chunks:
            paths = ['$."%s"' % key.replace('"', '\\"') for key in keys]
            if len(paths) == 1:  # json_extract with one path returns the value, not an array
                parts.append(f"json_array({column_sql} -> %s)")
            else:
                parts.append(f"json(json_extract({column_sql}, {', '.join(['%s'] * len(paths))}))")
            params += [*column_params, *paths]
        return f"json_array({', '.join(parts)})", params

    def as_postgresql(self, compiler, connection, **extra):
        # `keywords -> key` de-TOASTs (LZ4-decompresses) the whole column once per key. A
        # sub-select makes one in-memory copy (`|| '{}'`; OFFSET 0 keeps the planner from
        # folding it back into the outer query) and every key reads that copy: 4× less
        # server time for the ~20 keys of a rule set (benchmarks/bench_create_abs.py).
        column_sql, column_params = compiler.compile(self.source_expressions[0])
        parts = [f"jsonb_build_array({', '.join(['phoenix_kw.j -> %s'] * len(keys))})"
                 for keys in self.chunks]  # fmt: skip
        sql = (f"(SELECT jsonb_build_array({', '.join(parts)}) FROM "
               f"(SELECT {column_sql} || '{{}}'::jsonb AS j OFFSET 0) AS phoenix_kw)")  # fmt: skip
        return sql, [*self.keys, *column_params]


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
    subset = KeywordValues("keywords", keys)
    rows = queryset.values_list("id", "arcfile", "night", "mjd_obs", "run_id", subset).order_by(
        "mjd_obs", "arcfile"
    )
    as_dict = subset.as_dict
    return [
        Record("raw", pk, arcfile, mjd, night, as_dict(values), run_id)
        for pk, arcfile, night, mjd, run_id, values in rows
    ]


def product_records(queryset, keys):
    """Records of products (certified masters or static calibrations)."""
    subset = KeywordValues("keywords", keys)
    rows = queryset.values_list(
        "id", "name", "night", "mjd_obs", "kind", "pro_catg", subset
    ).order_by("mjd_obs", "name")
    records = []
    for pk, name, night, mjd, kind, pro_catg, values in rows:
        values = subset.as_dict(values)
        values["PRO.CATG"] = pro_catg
        records.append(Record(kind, pk, name, mjd, night, values))
    return records
