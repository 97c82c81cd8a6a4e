"""Read queries of the AB monitor (DFOS getStatusAB) of one date or DEEP run.

Every function runs a fixed number of queries whatever the number of ABs: counts are
aggregates, per-row figures are annotations or one grouped query over the page's ABs.
"""

from dataclasses import dataclass, field

from django.db.models import Count, F, Max, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce

from processing.choices import (
    ACTIVE_STATES,
    AbCategory,
    AbStatus,
    CertificationDecision,
    IngestStatus,
    ProductKind,
)
from processing.models import AssociationBlock, DateComment, IngestRequest, Product, QcParameter

#: ?sort= values → ordering (the AB name breaks ties so that pages do not shuffle)
SORTS = {
    "time": ("mjd_obs",), "name": ("ab_name",), "status": ("status",),
    "category": ("category",), "recipe": ("recipe",), "raw_type": ("raw_type",),
    "products": ("products_count",), "qc": ("qc_score",), "certification": ("certification",),
    "attempts": ("attempts",), "exec": ("exec_seconds",), "host": ("host",),
}  # fmt: skip
DEFAULT_SORT = "time"
#: ?certification= values; "none" is an AB nobody judged yet
CERTIFICATION_FILTERS = ("certified", "rejected", "none")
#: ?qc= values
QC_FILTERS = {"ok": Q(qc_score=0), "outlier": Q(qc_score=1), "unscored": Q(qc_score__isnull=True)}
#: kinds of product a row counts (QC plots and logs are not what a reviewer counts)
COUNTED_KINDS = (ProductKind.MASTER, ProductKind.SCIENCE, ProductKind.IDP, ProductKind.ANCILLARY)
#: a row's error excerpt, in characters
ERROR_EXCERPT = 160


def is_run(pseudo_date):
    """A run ID (DEEP) rather than a night: run IDs carry the run letter in brackets."""
    return "(" in pseudo_date


def abs_of(instance, pseudo_date):
    """Every AB of the instance's date (its night) or DEEP run."""
    abs_ = AssociationBlock.objects.filter(instance=instance)
    return abs_.filter(run_id=pseudo_date) if is_run(pseudo_date) else abs_.filter(night=pseudo_date)


@dataclass
class Filters:
    """The table's filters and sort, read from (and written back to) the URL query."""

    status: str = ""
    raw_type: str = ""
    recipe: str = ""
    category: str = ""
    certification: str = ""
    qc: str = ""
    sort: str = DEFAULT_SORT
    problems: list = field(default_factory=list)  # values ignored, with why

    FIELDS = ("status", "raw_type", "recipe", "category", "certification", "qc")

    @classmethod
    def from_query(cls, query):
        """Unknown values are ignored (and said so), never an error page."""
        filters = cls(**{name: query.get(name, "").strip()[:80] for name in cls.FIELDS})
        allowed = {"status": AbStatus.values, "category": AbCategory.values,
                   "certification": CERTIFICATION_FILTERS, "qc": tuple(QC_FILTERS)}  # fmt: skip
        for name, values in allowed.items():
            value = getattr(filters, name)
            if value and value not in values:
                filters.problems.append(f"{name} {value!r} is not one of {', '.join(values)}")
                setattr(filters, name, "")
        sort = query.get("sort") or DEFAULT_SORT
        if sort.lstrip("-") in SORTS:
            filters.sort = sort
        else:
            filters.problems.append(f"cannot sort by {sort!r}")
        return filters

    def apply(self, abs_):
        for name in ("status", "raw_type", "recipe", "category"):
            if getattr(self, name):
                abs_ = abs_.filter(**{name: getattr(self, name)})
        if self.certification:
            abs_ = abs_.filter(certification="" if self.certification == "none" else self.certification)
        if self.qc:
            abs_ = abs_.filter(QC_FILTERS[self.qc])
        return abs_

    def ordering(self):
        descending = self.sort.startswith("-")
        fields = SORTS[self.sort.lstrip("-")]
        order = [F(f).desc(nulls_last=True) if descending else F(f).asc(nulls_last=True)
                 for f in fields]  # fmt: skip
        return order + ["ab_name"]

    def as_params(self, **changes):
        """The query parameters that are set, with `changes` applied (for links)."""
        params = {name: getattr(self, name) for name in self.FIELDS} | {"sort": self.sort}
        params.update(changes)
        return {k: v for k, v in params.items() if v and not (k == "sort" and v == DEFAULT_SORT)}

    @property
    def active(self):
        return any(getattr(self, name) for name in self.FIELDS)


def summary(abs_):
    """The header figures of a date or run: one aggregate over its ABs."""
    by_status = {f"n_{s}": Count("pk", filter=Q(status=s)) for s in AbStatus.values}
    return abs_.aggregate(
        total=Count("pk"), **by_status,
        scored=Count("pk", filter=Q(qc_score__isnull=False)),
        outliers=Count("pk", filter=Q(qc_score=1)),
        qc_active=Count("pk", filter=Q(qc_status__in=("queued", "running"))),
        certified=Count("pk", filter=Q(certification=CertificationDecision.CERTIFIED)),
        rejected=Count("pk", filter=Q(certification=CertificationDecision.REJECTED)),
        moved=Count("pk", filter=Q(moved_at__isnull=False)),
        virtual=Count("pk", filter=Q(virtual=True)),
        exec_seconds=Sum("exec_seconds"),
        last_update=Max("updated_at"),
    )  # fmt: skip


def qc_parameters(abs_):
    """Scored QC parameters and outliers among them (DFOS "scored: …; result: 1/75")."""
    return QcParameter.objects.filter(ab__in=abs_).aggregate(
        parameters=Count("pk"), scored=Count("pk", filter=Q(score__isnull=False)),
        outliers=Count("pk", filter=Q(score=1)),
    )  # fmt: skip


def ingestion(abs_):
    """Ingestion requests of the products of these ABs, by state: one grouped query."""
    rows = (IngestRequest.objects.filter(product__ab__in=abs_).values("status")
            .annotate(n=Count("pk")))  # fmt: skip
    return {row["status"]: row["n"] for row in rows}


def live_workers(abs_):
    """Hosts and workers running ABs of the date now, with how many each."""
    return list(abs_.filter(status=AbStatus.RUNNING).values("host", "worker")
                .annotate(n=Count("pk")).order_by("host", "worker"))  # fmt: skip


def comment(instance, pseudo_date):
    return DateComment.objects.filter(instance=instance, pseudo_date=pseudo_date).first()


def filter_choices(abs_):
    """The RAW_TYPEs and recipes of the date, for the filter form: one query."""
    pairs = set(abs_.order_by().values_list("raw_type", "recipe").distinct())
    return {"raw_types": sorted({r for r, _ in pairs}), "recipes": sorted({c for _, c in pairs if c})}


def rows(abs_):
    """The table's ABs with their product count: the page is sliced from this queryset. A
    subquery, not a join, so that the paginator's count leaves it out."""
    counted = (Product.objects.filter(ab=OuterRef("pk"), kind__in=COUNTED_KINDS).order_by()
               .values("ab").annotate(n=Count("pk")).values("n"))  # fmt: skip
    return abs_.annotate(products_count=Coalesce(Subquery(counted), 0)).only(
        "pk", "ab_name", "status", "category", "recipe", "action", "raw_type", "raw_match_key",
        "qc_status", "qc_score", "certification", "moved_at", "attempts", "exec_seconds", "host",
        "worker", "error", "log_path", "target", "run_id", "night", "virtual", "completeness",
        "mjd_obs", "updated_at",
    )  # fmt: skip


#: RAW_MATCH_KEY keys that group frames in time rather than describe the instrument setup
NOT_SETUP = ("TPL.START", "DATE", "MJD", "OBS.START")


def complete(page_abs):
    """Set `ingest` (its products' ingestion requests by state) and `setup` (its RAW_MATCH_KEY
    values, as DFOS lists them, without the template start and dates, which the AB name
    already says) on each AB of a page: one grouped query over the page, never one per row."""
    counts = {}
    grouped = (IngestRequest.objects.filter(product__ab_id__in=[ab.pk for ab in page_abs])
               .values("product__ab_id", "status").annotate(n=Count("pk")))  # fmt: skip
    for row in grouped:
        counts.setdefault(row["product__ab_id"], {})[row["status"]] = row["n"]
    for ab in page_abs:
        ab.ingest = IngestSummary(counts.get(ab.pk, {}))
        ab.setup = " ".join(str(v) for k, v in (ab.raw_match_key or {}).items()
                            if not k.startswith(NOT_SETUP))  # fmt: skip
    return page_abs


@dataclass
class IngestSummary:
    """An AB's ingestion in a few words: "3/3 ingested", "1 refused"."""

    by_status: dict

    @property
    def total(self):
        return sum(self.by_status.values())

    @property
    def done(self):
        return self.by_status.get(IngestStatus.DONE, 0)

    @property
    def problems(self):
        return self.by_status.get(IngestStatus.REFUSED, 0) + self.by_status.get(IngestStatus.FAILED, 0)

    @property
    def waiting(self):
        return sum(self.by_status.get(s, 0) for s in ("held", "open", "running"))

    @property
    def state(self):
        """The colour-giving state of the cell (IngestStatus value)."""
        if not self.total:
            return ""
        if self.problems:
            return IngestStatus.REFUSED if self.by_status.get(IngestStatus.REFUSED) else IngestStatus.FAILED
        if self.waiting:
            return IngestStatus.OPEN
        return IngestStatus.DONE

    def __str__(self):
        parts = [f"{self.done}/{self.total} ingested"]
        for status in ("held", "open", "running", "refused", "failed"):
            if self.by_status.get(status):
                parts.append(f"{self.by_status[status]} {status}")
        return ", ".join(parts)


def is_live(page_abs):
    """Whether anything shown can still change by itself (the table keeps polling)."""
    return any(ab.status in ACTIVE_STATES or ab.qc_status in ("queued", "running") for ab in page_abs)

