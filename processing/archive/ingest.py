"""ingestProducts: execute open ingestion requests (JOBS_INGEST), each exactly once.

Any number of processes may ingest at the same time (the command, q2 workers on several
hosts): each request is claimed with a conditional UPDATE (open → running, a fresh token,
attempts + 1), so a request is executed by whoever claimed it and by nobody else; the
outcome is written only while the request still carries that token. One attempt:

1. the file is copied into the run's staging directory in the archive store (md5 on the
   way); a file whose md5 differs from the one queued changed after queueing: refused;
2. the copy is checked: IDPs and ancillaries by the Phase 3 validator, other products as
   FITS files (checks.py); a file with errors is refused with the reason;
3. in one transaction: the ArchiveRecord with its ADP id (a next version under
   ENABLE_UPDATES, or refused without it; nothing new when the same content is archived
   already), the copy renamed to its ADP name, the request done, the product ingested.

Errors of the store or the database put the request back to open with the error, up to
MAX_ATTEMPTS attempts, then failed. A request left running by an ingester that died (or
whose database went away before it could write the error) is taken back once its claim is
CLAIM_TIMEOUT old.
"""

import logging
import os
import uuid
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path

from django.db import connection, transaction
from django.db.models import Count, F, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from processing import audit
from processing.abs.scope import Scope
from processing.archive import checks, records, store
from processing.archive.access import check_permission
from processing.choices import IngestStatus, ProductState
from processing.files import md5_of
from processing.models import ArchiveRecord, IngestRequest, Instance, Product

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
#: a claim this old belongs to an ingester that died (copying one file takes far less)
CLAIM_TIMEOUT = timedelta(minutes=30)
#: product states that become "ingested" (a superseded product stays superseded)
INGESTABLE_STATES = (ProductState.CERTIFIED, ProductState.MOVED)


class Outcome:
    INGESTED = "ingested"
    ALREADY = "already archived"
    REFUSED = "refused"
    FAILED = "failed"


@dataclass
class Entry:
    """What happened to one request (in a dry run: what would happen)."""

    key: str
    outcome: str
    adp_id: str = ""
    version: int | None = None
    replaces: str = ""  # ADP id of the version made obsolete
    message: str = ""


@dataclass
class IngestResult:
    dry_run: bool = False
    entries: list = field(default_factory=list)
    retried: int = 0  # attempts that failed and were made again
    taken_back: list = field(default_factory=list)  # keys of requests whose ingester died
    duplicates: int = 0  # times the requests considered were queued again (never executed)
    statuses: dict = field(default_factory=dict)  # status → requests in the scope, after

    def of(self, outcome):
        return [e for e in self.entries if e.outcome == outcome]

    @property
    def ok(self):
        return not (self.of(Outcome.REFUSED) or self.of(Outcome.FAILED))

    def counts(self):
        return {o: len(self.of(o)) for o in (Outcome.INGESTED, Outcome.ALREADY, Outcome.REFUSED,
                                             Outcome.FAILED)}  # fmt: skip

    def as_dict(self):
        return {"dry_run": self.dry_run, "counts": self.counts(), "retried": self.retried,
                "taken_back": self.taken_back, "duplicates": self.duplicates,
                "statuses": self.statuses, "entries": [asdict(e) for e in self.entries]}  # fmt: skip


def ingest_scope(instance, night=None, month=None, run_id=None, dry_run=False, user=None,
                 actor_name=None):
    """Ingest the open requests of an instance (None: of every instance), of one night, month
    or run, or all of them."""
    requests = IngestRequest.objects.all()
    if instance is not None:
        requests = requests.filter(instance=instance)
    if night or month or run_id:
        requests = requests.filter(Scope.from_arguments(night and str(night), month, run_id).as_q())
    result = ingest_requests(requests, dry_run=dry_run, user=user, actor_name=actor_name)
    result.duplicates = requests.aggregate(n=Sum("duplicates"))["n"] or 0
    result.statuses = dict(requests.order_by().values("status").annotate(n=Count("pk"))
                           .values_list("status", "n"))  # fmt: skip
    return result


def ingest_requests(requests=None, *, dry_run=False, user=None, actor_name=None):
    """Execute the open requests among `requests` (IngestRequests, their ids or a queryset;
    None: every open request). In a dry run, say what would happen and write nothing."""
    result = IngestResult(dry_run=dry_run)
    if not dry_run:
        check_permission(user, "ingest products")
        result.taken_back = take_back_stale()
    selected = IngestRequest.objects.filter(status=IngestStatus.OPEN)
    if requests is not None:
        selected = selected.filter(pk__in=_ids(requests))
    ids = list(selected.order_by("created_at", "pk").values_list("pk", flat=True))
    result.duplicates = IngestRequest.objects.filter(pk__in=ids).aggregate(
        n=Sum("duplicates"))["n"] or 0  # fmt: skip
    instances = {}  # read once per call: they are large rows
    staging = store.Staging()
    try:
        for pk in ids:
            entry = (_preview(_load(pk, instances)) if dry_run else
                     _ingest(pk, result, instances, staging))  # fmt: skip
            if entry is not None:
                result.entries.append(entry)
    finally:
        staging.close()
    if result.entries or result.taken_back:
        _audit(result, user, actor_name)
    return result


def take_back_stale(now=None):
    """Requests left running by an ingester that died: open again (failed after
    MAX_ATTEMPTS); the files it left in the store (its staging directory, a file renamed
    into place whose record never committed) removed. Returns their keys."""
    now = now or timezone.now()
    try:
        store.sweep(CLAIM_TIMEOUT)
    except OSError as exc:  # the store is unreachable: the attempts will say so
        log.warning("sweeping the archive's staging area: %s", exc)
    stale = IngestRequest.objects.filter(status=IngestStatus.RUNNING,
                                         claimed_at__lt=now - CLAIM_TIMEOUT)  # fmt: skip
    taken = []
    for pk, key, token, attempts, claimed_at, instance_name, night, run_id in stale.values_list(
        "pk", "key", "claim_token", "attempts", "claimed_at", "instance__name", "night", "run_id"
    ):
        lost = (f"attempt {attempts} lost: claimed at {claimed_at:%Y-%m-%d %H:%M:%S} UT and not "
                f"finished within {CLAIM_TIMEOUT} (its ingester was stopped or killed)")  # fmt: skip
        if attempts >= MAX_ATTEMPTS:
            changes = dict(status=IngestStatus.FAILED,
                           error=f"{lost}; gave up after {attempts} attempts")  # fmt: skip
        else:
            changes = dict(status=IngestStatus.OPEN, error=f"{lost}; open again")
        if IngestRequest.objects.filter(pk=pk, status=IngestStatus.RUNNING,
                                        claim_token=token).update(
            claim_token="", updated_at=now, **changes
        ):  # fmt: skip
            taken.append(key)
            _remove_orphans(store.directory_for(instance_name, night, run_id))
    return taken


def _remove_orphans(directory):
    recorded = {Path(path).name for path in ArchiveRecord.objects.filter(
        path__startswith=f"{directory}{os.sep}").values_list("path", flat=True)}  # fmt: skip
    try:
        for path in store.remove_orphans(directory, recorded, CLAIM_TIMEOUT):
            log.warning("removed %s: no archive record names it (its ingester died)", path)
    except OSError as exc:
        log.warning("looking for files of dead ingesters in %s: %s", directory, exc)


def _ids(requests):
    if hasattr(requests, "values_list"):
        return requests.values_list("pk", flat=True)
    return [getattr(r, "pk", r) for r in requests]


def _claim(pk):
    token = uuid.uuid4().hex
    now = timezone.now()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # A claim lost in a crash of the server leaves the request open, which is
            # harmless (and any later commit flushes it): no need to wait for the WAL flush.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        taken = IngestRequest.objects.filter(pk=pk, status=IngestStatus.OPEN).update(
            status=IngestStatus.RUNNING, claim_token=token, claimed_at=now,
            attempts=F("attempts") + 1, updated_at=now,
        )  # fmt: skip
    return token if taken else None


def _close(pk, token, status, **changes):
    """Write the outcome of an attempt if the request is still this attempt's."""
    now = timezone.now()
    if status == IngestStatus.DONE:
        changes["done_at"] = now
    return IngestRequest.objects.filter(pk=pk, status=IngestStatus.RUNNING, claim_token=token).update(
        status=status, claim_token="", updated_at=now, **changes)  # fmt: skip


def _load(pk, instances):
    """The request with its product, the name of the AB the product comes from (IDPs: the
    AB of the science product they were made of) and its instance (read once per run)."""
    request = IngestRequest.objects.select_related("product").annotate(
        ab_name=Coalesce("product__ab__ab_name", "product__source__ab__ab_name", Value(""))
    ).get(pk=pk)  # fmt: skip
    if request.instance_id not in instances:
        instances[request.instance_id] = Instance.objects.get(pk=request.instance_id)
    request.instance = instances[request.instance_id]
    return request


def _ingest(pk, result, instances, staging):
    """Claim and execute one request, attempt after attempt until it ends or is lost."""
    while True:
        token = _claim(pk)
        if token is None:
            return None  # another process has it, or it is not open any more
        request = _load(pk, instances)
        try:
            return _attempt(request, token, staging)
        except Exception as exc:  # the store or the database: this attempt, maybe not the next
            log.warning("ingestion of %s, attempt %s: %s", request.key, request.attempts, exc)
            error = f"attempt {request.attempts}: {type(exc).__name__}: {exc}"
            if request.attempts >= MAX_ATTEMPTS:
                error = f"{error}; gave up after {request.attempts} attempts"
                _close(pk, token, IngestStatus.FAILED, error=error)
                return Entry(request.key, Outcome.FAILED, message=error)
            _close(pk, token, IngestStatus.OPEN, error=error)
            result.retried += 1


def _attempt(request, token, staging):
    product, instance = request.product, request.instance
    queued_md5 = request.key.rsplit(":", 1)[1]
    source = Path(product.path)
    if not source.is_file():
        return _refuse(request, token, f"the file {source} does not exist any more (moved or "
                                       "removed after it was queued)")  # fmt: skip
    staged = staging.stage(source)
    record = None
    try:
        if staged.md5 != queued_md5:
            return _refuse(request, token, _changed(request, source, staged.md5))
        verdict = checks.check_file(product, staged.path, staged.md5)
        if not verdict.ok:
            return _refuse(request, token, verdict.refusal, verdict.validation)
        with transaction.atomic():
            decision = records.decide(instance, product.name, queued_md5, lock=True)
            if decision.action != "new":
                return _without_copy(request, token, decision)
            record = records.archive(decision, staged, request, prodcatg=verdict.prodcatg)
            lost = not _close(request.pk, token, IngestStatus.DONE, record=record, error="")
            if lost:  # taken back meanwhile: the attempt holding it now does the work
                transaction.set_rollback(True)
            else:
                _mark_ingested(product.pk, verdict.validation)
    except BaseException:
        if record is not None:  # the transaction rolled back: no record names this file
            store.discard(record.path)
        raise
    finally:
        store.discard(staged.path)  # nothing left once published
    if lost:
        store.discard(record.path)
        return None
    replaces = decision.current.adp_id if decision.current else ""
    return Entry(request.key, Outcome.INGESTED, adp_id=record.adp_id, version=record.version,
                 replaces=replaces)  # fmt: skip


def _without_copy(request, token, decision):
    """Same content archived already (done, no new record), or refused by ENABLE_UPDATES."""
    if decision.action == "refuse":
        return _refuse(request, token, decision.reason)
    with transaction.atomic():
        if _close(request.pk, token, IngestStatus.DONE, record=decision.record, error=""):
            _mark_ingested(request.product_id)
    record = decision.record
    return Entry(request.key, Outcome.ALREADY, adp_id=record.adp_id, version=record.version,
                 message=f"the same content is archived as {record.adp_id} (version "
                         f"{record.version}, {record.status}); no new record")  # fmt: skip


def _refuse(request, token, reason, validation=None):
    with transaction.atomic():
        if _close(request.pk, token, IngestStatus.REFUSED, error=reason) and validation:
            Product.objects.filter(pk=request.product_id).update(validation=validation)
    return Entry(request.key, Outcome.REFUSED, message=reason)


def _changed(request, source, md5):
    queued = request.key.rsplit(":", 1)[1]
    return (f"{source} changed after it was queued (md5 {md5}, queued with md5 {queued} by "
            f"{request.actor_name} on {request.created_at:%Y-%m-%d %H:%M} UT): not ingested; "
            "queue the product again to ingest what the file holds now")  # fmt: skip


def _mark_ingested(product_id, validation=None):
    """The product is in the archive (with the validator's report on it, IDPs)."""
    if validation:
        Product.objects.filter(pk=product_id).update(validation=validation)
    Product.objects.filter(pk=product_id, state__in=INGESTABLE_STATES).update(
        state=ProductState.INGESTED)


def _preview(request):
    """What ingesting `request` would do, reading files and records only."""
    product, instance = request.product, request.instance
    queued_md5 = request.key.rsplit(":", 1)[1]
    source = Path(product.path)
    if not source.is_file():
        return Entry(request.key, Outcome.REFUSED, message=f"the file {source} does not exist")
    md5 = md5_of(source)
    if md5 != queued_md5:
        return Entry(request.key, Outcome.REFUSED, message=_changed(request, source, md5))
    decision = records.decide(instance, product.name, queued_md5)
    if decision.action == "refuse":
        return Entry(request.key, Outcome.REFUSED, message=decision.reason)
    if decision.action == "already":
        return Entry(request.key, Outcome.ALREADY, adp_id=decision.record.adp_id,
                     version=decision.version)  # fmt: skip
    verdict = checks.check_file(product, source, md5)
    if not verdict.ok:
        return Entry(request.key, Outcome.REFUSED, message=verdict.refusal)
    return Entry(request.key, Outcome.INGESTED, version=decision.version,
                 replaces=decision.current.adp_id if decision.current else "")  # fmt: skip


def _audit(result, user, actor_name):
    counts = result.counts()
    failed = counts[Outcome.REFUSED] + counts[Outcome.FAILED]
    done = counts[Outcome.INGESTED] + counts[Outcome.ALREADY]
    audit.record(
        "ingest_preview" if result.dry_run else "ingest", user=user, actor_name=actor_name,
        object_type="processing.IngestRequest",
        object_repr=f"{len(result.entries)} ingestion requests",
        result=(audit.AuditEvent.Result.OK if not failed else
                audit.AuditEvent.Result.PARTIAL if done else audit.AuditEvent.Result.FAILED),
        message=("dry run: would be " if result.dry_run else "")
                + ", ".join(f"{n} {o}" for o, n in counts.items() if n)
                + (f"; {len(result.taken_back)} taken back from a dead ingester"
                   if result.taken_back else ""),
        detail={k: v for k, v in result.as_dict().items() if k != "statuses"},
    )  # fmt: skip
