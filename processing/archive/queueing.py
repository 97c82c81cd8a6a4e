"""JOBS_INGEST as a de-duplicated queue: one IngestRequest per product file, ever.

A request's key is the product's name and md5. Queueing the same file again (a repeated -M,
single-AB calls in DEEP mode piling up the same lines) only counts a duplicate on the
request that exists — the duplicates DFOS operators deleted by hand from JOBS_INGEST. The
unique key is the referee: two processes queueing the same file at the same moment still
make one request. A re-processed product has new content, so a new key and a request of its
own; whether it may replace the archived version is decided at ingestion (ENABLE_UPDATES).

Queueing hands the new open requests to the q2 task `ingest` with the transaction (see
processing.queue.schedule.send); the schedule `phoenix-ingest` picks up whatever is open
later (released held requests, retries, tasks lost with a broker). Both only claim open
requests, so a task delivered twice does nothing twice.
"""

from collections import Counter
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django_q.tasks import async_task

from processing import audit
from processing.archive.access import check_permission
from processing.choices import IngestStatus
from processing.files import md5_of
from processing.models import IngestRequest
from processing.queue import schedule

INGEST_TASK = "processing.tasks.ingest"
#: keys listed in an audit event's detail (the counts are always complete)
AUDIT_KEYS = 100


class IngestError(Exception):
    """A product cannot be queued; the message names it and the reason."""


@dataclass
class QueueResult:
    created: int = 0  # new requests (open or held)
    duplicates: int = 0  # products that had a request already: counted on it, not executed
    held: int = 0  # of the new requests, those held for the replacement workflow
    requests: list = field(default_factory=list)  # the request of each product, in order

    def as_dict(self):
        return {"created": self.created, "duplicates": self.duplicates, "held": self.held,
                "requests": [r.key for r in self.requests]}  # fmt: skip


def request_key(name, md5):
    return f"{name}:{md5}"


def queue_ingestion(products, *, user=None, actor_name=None, hold=False):
    """One IngestRequest per product (key name:md5); a product queued before only counts a
    duplicate. `hold`: the new requests wait for the replacement workflow (COMPLETE_MODE
    masters). Products without a registered md5 get it from their file."""
    check_permission(user, "queue products for ingestion")
    actor = audit.actor_name_of(user, actor_name)
    status = IngestStatus.HELD if hold else IngestStatus.OPEN
    result = QueueResult()
    created_keys, open_ids, again = [], [], Counter()
    with transaction.atomic():
        products = list(products)
        keys = [request_key(product.name, _md5(product)) for product in products]
        known = {r.key: r for r in IngestRequest.objects.filter(key__in=set(keys))}
        for product, key in zip(products, keys):
            request = known.get(key)
            if request is None:
                request = _create(key, product, status, actor)
                if request is not None:
                    known[key] = request
                    result.created += 1
                    result.held += hold
                    created_keys.append(key)
                    if not hold:
                        open_ids.append(request.pk)
                    result.requests.append(request)
                    continue
                # another process created it a moment ago
                request = known[key] = IngestRequest.objects.get(key=key)
            again[key] += 1
            result.requests.append(request)
        _count_duplicates(again, known)
        result.duplicates = sum(again.values())
        if open_ids:
            schedule.send(lambda: async_task(INGEST_TASK, open_ids))
        audit.record(
            "queue_ingestion", user=user, actor_name=actor,
            obj=result.requests[0] if len(result.requests) == 1 else None,
            object_type="processing.IngestRequest",
            object_repr=f"{len(result.requests)} products",
            message=(f"{result.created} requests queued"
                     + (" (held for the replacement workflow)" if hold and result.created else "")
                     + f", {result.duplicates} duplicates counted, not queued again"),
            detail={"created": result.created, "duplicates": result.duplicates,
                    "held": result.held, "created_keys": created_keys[:AUDIT_KEYS],
                    "duplicate_keys": list(again)[:AUDIT_KEYS]},
        )  # fmt: skip
    return result


def reopen_requests(requests, *, user=None, actor_name=None):
    """Failed and refused requests open again, with fresh attempts (after the cause was
    fixed: space in the store, ENABLE_UPDATES set). Returns the keys reopened."""
    check_permission(user, "reopen ingestion requests")
    actor = audit.actor_name_of(user, actor_name)
    reopened = []
    with transaction.atomic():
        for pk, key, status, error in requests.filter(
            status__in=(IngestStatus.FAILED, IngestStatus.REFUSED)
        ).values_list("pk", "key", "status", "error"):
            if IngestRequest.objects.filter(pk=pk, status=status).update(
                status=IngestStatus.OPEN, attempts=0, error=f"reopened by {actor} ({status}: {error})",
                updated_at=timezone.now(),
            ):  # fmt: skip
                reopened.append(key)
        if reopened:
            ids = list(IngestRequest.objects.filter(key__in=reopened).values_list("pk", flat=True))
            schedule.send(lambda: async_task(INGEST_TASK, ids))
            audit.record(
                "reopen_ingestion", user=user, actor_name=actor,
                object_type="processing.IngestRequest", object_repr=f"{len(reopened)} requests",
                message=f"{len(reopened)} failed or refused ingestion requests open again",
                detail={"keys": reopened[:AUDIT_KEYS]},
            )  # fmt: skip
    return reopened


def _create(key, product, status, actor):
    """The new request, or None when the key exists already (the unique key decides)."""
    try:
        with transaction.atomic():
            return IngestRequest.objects.create(key=key, **_new_request(product, status, actor))
    except IntegrityError:
        return None


def _count_duplicates(again, requests):
    """Add each key's count of duplicates in one UPDATE per distinct count."""
    by_count = {}
    for key, count in again.items():
        by_count.setdefault(count, []).append(key)
        requests[key].duplicates += count  # as counted now (others may count more meanwhile)
    for count, keys in by_count.items():
        IngestRequest.objects.filter(key__in=keys).update(
            duplicates=F("duplicates") + count, updated_at=timezone.now())


def _md5(product):
    if product.md5:
        return product.md5
    try:
        product.md5 = md5_of(product.path)
    except OSError as exc:
        raise IngestError(f"{product.name}: no md5 registered and its file {product.path} "
                          f"cannot be read: {exc.strerror or exc}") from None  # fmt: skip
    type(product).objects.filter(pk=product.pk).update(md5=product.md5)
    return product.md5


def _new_request(product, status, actor):
    ab = product.ab or (product.source.ab if product.source_id else None)  # IDPs: via source
    return {"instance_id": product.instance_id, "product": product, "night": product.night,
            "run_id": ab.run_id if ab else "", "status": status, "actor_name": actor}  # fmt: skip
