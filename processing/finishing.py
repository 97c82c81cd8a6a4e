"""phoenix -M for a scope: auto-certify, move, convert to IDPs, queue ingestion, clean up.

Each step has its own entry point (processing.certification, processing.moving,
processing.idp, processing.archive); this is the order DFOS' -M runs them in, for the ABs of a
date, a month or a run (DEEP: all its ABs or only the one processed last, the question the
operational page describes). ABs nobody certified yet are listed as waiting for review,
never moved.
"""

from dataclasses import dataclass, field

from processing import audit
from processing.archive.access import check_permission
from processing.certification import auto_certify
from processing.choices import (
    AbCategory,
    AbStatus,
    CertificationDecision,
    ProductKind,
    ProductState,
)
from processing.models import AssociationBlock, Product
from processing.moving import clean_work_areas, move


class FinishError(Exception):
    """-M cannot run as asked; the message says why."""


@dataclass
class FinishResult:
    abs: list = field(default_factory=list)  # AB names considered
    auto_certified: list = field(default_factory=list)
    move: object = None  # MoveResult
    converted: list = field(default_factory=list)  # (product name, IDP name or None, message)
    queued: list = field(default_factory=list)  # QueueResults of queue_ingestion
    waiting: list = field(default_factory=list)  # (AB name, why): not reviewed, rejected …
    cleaned: list = field(default_factory=list)

    @property
    def conversion_failures(self):
        """(product name, why) of the conversions that made no IDP."""
        return [(product, message) for product, idp, message in self.converted if not idp]

    @property
    def idps_made(self):
        return len(self.converted) - len(self.conversion_failures)

    def requests(self, count):
        """A count summed over the queue_ingestion calls: "created", "held" or "duplicates"."""
        return sum(getattr(queued, count) for queued in self.queued)

    def as_dict(self):
        return {
            "abs": len(self.abs), "auto_certified": self.auto_certified,
            "move": self.move.as_dict() if self.move else None,
            "converted": [{"product": p, "idp": i, "message": m} for p, i, m in self.converted],
            "ingestion": [_queue_counts(q) for q in self.queued],
            "waiting": [{"ab": n, "why": w} for n, w in self.waiting], "cleaned": len(self.cleaned),
        }  # fmt: skip


def _queue_counts(result):
    return {"created": result.created, "duplicates": result.duplicates, "held": result.held}


def abs_to_finish(instance, scope, *, ab_name=None, last_only=False):
    """The processed ABs of the scope -M works on (with last_only: the one that finished last)."""
    abs_ = AssociationBlock.objects.filter(instance=instance).filter(scope.as_q())
    if ab_name:
        abs_ = abs_.filter(ab_name=ab_name)
        if not abs_.exists():
            raise FinishError(f"no AB {ab_name} in {scope}")
    processed = abs_.filter(status=AbStatus.SUCCESS, moved_at__isnull=True)
    if last_only:
        last = processed.order_by("-finished_at", "-pk").first()
        return [last] if last else []
    return list(processed.select_related("instance").order_by("category", "mjd_obs", "ab_name"))


def certify_and_move(instance, scope, *, ab_name=None, last_only=False, cleanup=True,
                     user=None, actor_name=None):
    """The -M step; see the module docstring."""
    actor = audit.actor_name_of(user, actor_name)
    result = FinishResult()
    abs_ = abs_to_finish(instance, scope, ab_name=ab_name, last_only=last_only)
    result.abs = [ab.ab_name for ab in abs_]
    result.auto_certified = auto_certify(abs_).done
    certified = [ab for ab in abs_ if ab.certification == CertificationDecision.CERTIFIED]
    for ab in abs_:
        if ab.certification == CertificationDecision.REJECTED:
            result.waiting.append((ab.ab_name, "rejected: re-run it or leave it out"))
        elif not ab.certification:
            result.waiting.append((ab.ab_name, _why_waiting(ab)))
    result.move = move(certified, user=user, actor_name=actor)
    # conversion and queueing take every moved product of the scope still without them, so a
    # second -M finishes what a failed conversion or an interrupted call left
    in_scope = Product.objects.filter(ab__instance=instance, state=ProductState.MOVED,
                                      ab__in=_scope_abs(instance, scope, ab_name))  # fmt: skip
    science = in_scope.filter(kind=ProductKind.SCIENCE).exclude(conversions__status="ok")
    result.converted = _convert(science, user, actor)
    _queue(result, instance, in_scope, user, actor)
    if cleanup:
        result.cleaned = clean_work_areas(certified)
    return result


def convert_and_queue(instance, abs_, *, user=None, actor_name=None):
    """The end of -M for chosen ABs of one instance (the AB monitor's bulk "ingest"): convert
    their moved science products not converted yet, then queue the IDPs and masters that have
    no ingestion request. Returns a FinishResult with `converted` and `queued` filled in."""
    check_permission(user, "convert and queue products for ingestion")
    actor = audit.actor_name_of(user, actor_name)
    result = FinishResult(abs=[ab.ab_name for ab in abs_])
    moved = Product.objects.filter(ab__instance=instance, ab__in=[ab.pk for ab in abs_],
                                   state=ProductState.MOVED)  # fmt: skip
    science = moved.filter(kind=ProductKind.SCIENCE).exclude(conversions__status="ok")
    result.converted = _convert(science, user, actor)
    _queue(result, instance, moved, user, actor)
    return result


#: the AB monitor's bulk "ingest" converts up to this many science products inside the web
#: request; more (each conversion builds, writes and validates an IDP) go to a background task
INLINE_CONVERSIONS = 20
CONVERT_AND_QUEUE_TASK = "processing.tasks.convert_and_queue"


def convert_and_queue_in_background(instance, abs_, *, user=None, actor_name=None):
    """convert_and_queue of these ABs as a django-q2 task (a month of science products takes
    minutes, longer than a web request should); the permission is checked now and again when
    the task runs. A second delivery of the task converts nothing twice (only products
    without a valid IDP are converted, under the product's lock) and queues nothing twice
    (queue_ingestion suppresses duplicates). Returns the task id."""
    from django_q.tasks import async_task

    check_permission(user, "convert and queue products for ingestion")
    actor = audit.actor_name_of(user, actor_name)
    names = [ab.ab_name for ab in abs_]
    task = async_task(CONVERT_AND_QUEUE_TASK, instance.pk, [ab.pk for ab in abs_],
                      user.pk if user is not None and user.pk else None, actor)  # fmt: skip
    audit.record("convert_and_queue", user=user, actor_name=actor, obj=instance,
                 message=f"IDP conversion and ingestion queueing of the products of "
                 f"{len(names)} ABs sent to the background (task {task})",
                 detail={"abs": names, "task": task})  # fmt: skip
    return task


def _scope_abs(instance, scope, ab_name):
    abs_ = AssociationBlock.objects.filter(instance=instance).filter(scope.as_q())
    return abs_.filter(ab_name=ab_name) if ab_name else abs_


def _why_waiting(ab):
    if ab.qc_status in ("queued", "running"):
        return f"QC {ab.qc_status}"
    if ab.qc_score:
        return "QC found outliers: review and certify or reject it"
    return "not reviewed yet: certify or reject it"


def _convert(science, user, actor):
    """IDP conversion of the science products just moved (processing.idp)."""
    from processing.idp import convert_products

    rows = []
    for conversion in convert_products(list(science), user=user, actor_name=actor,
                                       unless_converted=True):
        rows.append((conversion.product.name, conversion.idp.name if conversion.idp else None,
                     conversion.message))  # fmt: skip
    return rows


def _queue(result, instance, in_scope, user, actor):
    """Ingestion requests for the moved products that have none yet: the IDPs with their
    ancillaries, and the masters (held in COMPLETE_MODE until the replacement workflow has
    hidden the masters they replace)."""
    from processing.archive import queue_ingestion

    idps = Product.objects.filter(source__in=in_scope, state=ProductState.MOVED,
                                  kind__in=(ProductKind.IDP, ProductKind.ANCILLARY))  # fmt: skip
    masters = in_scope.filter(kind=ProductKind.MASTER, ab__category=AbCategory.CALIB)
    idps, masters = (list(q.filter(ingest_requests__isnull=True)) for q in (idps, masters))
    if idps:
        result.queued.append(queue_ingestion(idps, user=user, actor_name=actor))
    if masters:
        result.queued.append(queue_ingestion(masters, user=user, actor_name=actor,
                                             hold=instance.complete_mode))  # fmt: skip
