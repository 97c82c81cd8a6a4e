"""The syntax tree of an OCA rule file (Organisation, Classification, Association).

The parser (processing/oca/parser.py) builds these nodes; the evaluator compiles conditions
into Python functions; the AB engine (processing/abs/) reads the association conditions to
plan index lookups (match keys, time windows) instead of scanning every candidate.

Keyword names are OCA names (`DPR.CATG`, `MJD-OBS`); `Key(name, of_input=True)` is
`inputFile.NAME`, the AB's primary raw frame, in an association condition.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Position:
    file: str
    line: int
    column: int

    def __str__(self):
        return f"{self.file}:{self.line}:{self.column}"


# --- expressions -------------------------------------------------------------------------


@dataclass(frozen=True)
class Key:
    """A keyword of the file being tested, or of the AB's primary frame (`inputFile.X`)."""

    name: str
    of_input: bool = False


@dataclass(frozen=True)
class Literal:
    """A string, a number, or a boolean (`T`, `F`)."""

    value: object


@dataclass(frozen=True)
class Arithmetic:
    """`left op right` with op one of + - * /."""

    op: str
    left: object
    right: object


@dataclass(frozen=True)
class Compare:
    """`left op right` with op one of == != < > <= >=."""

    op: str
    left: object
    right: object


@dataclass(frozen=True)
class Like:
    """`value like "pattern"`: % matches any run of characters, _ one character."""

    value: object
    pattern: str


@dataclass(frozen=True)
class Between:
    """`value between low and high` (inclusive); `tryBetween` when soft.

    A soft window states a preference (the calibration plan's validity): candidates inside
    it are taken first; outside it they are still acceptable, at a lower quality level.
    """

    value: object
    low: object
    high: object
    soft: bool = False


@dataclass(frozen=True)
class And:
    items: tuple


@dataclass(frozen=True)
class Or:
    items: tuple


@dataclass(frozen=True)
class Not:
    item: object


# --- statements --------------------------------------------------------------------------


@dataclass(frozen=True)
class Classification:
    """`if CONDITION then { KEY = value; … }`: later true rules overwrite earlier values."""

    condition: object
    assignments: tuple  # ((key, value), …) in the order written
    position: Position


@dataclass(frozen=True)
class Organisation:
    """`select execute(ACTION) from inputFiles where CONDITION group by K1,K2 as (EVENT,tag);`"""

    action: str
    source: str  # "inputFiles" or "calibFiles"
    condition: object  # None when there is no where clause
    group_by: tuple
    event: str | None
    tag: str | None
    position: Position


@dataclass(frozen=True)
class Select:
    """One association: `minRet = n; maxRet = m; select file as TAG from SOURCE where COND;`

    max_ret = -1 means all matching files.
    """

    tag: str
    source: str  # "inputFiles" or "calibFiles"
    condition: object  # None when there is no where clause
    min_ret: int
    max_ret: int
    position: Position


@dataclass(frozen=True)
class ProductDecl:
    """`product NAME { PRO.CATG = "…"; … }`: a product the recipe is expected to write."""

    name: str
    assignments: tuple  # ((key, value), …)
    position: Position

    @property
    def pro_catg(self):
        return dict(self.assignments).get("PRO.CATG")


@dataclass(frozen=True)
class Action:
    """`action NAME { selects…; recipe NAME [{ "--p=v"; … }]; products… }`"""

    name: str
    selects: tuple
    recipe: str | None
    parameters: tuple  # ("--param=value", …)
    products: tuple
    position: Position
