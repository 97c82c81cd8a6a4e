"""Bulk actions of the AB monitor: plan first (which of the selected ABs the action changes
and why not the others), then run the one entry point in processing/ on the planned ABs.

The plan mirrors the entry points' own rules in a few set queries, so that the confirmation
can say "certify 12 ABs? 3 of the 15 selected cannot: …" for a date of 2 000 ABs without
opening each AB. The entry point checks again when the action runs (the states may have moved
on meanwhile) and its answer is what the result reports.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Q

from processing import certification, finishing, moving
from processing.archive.access import ArchiveAccessError
from processing.archive.queueing import IngestError
from processing.choices import (
    ACTIVE_STATES,
    AbCategory,
    AbStatus,
    CertificationDecision,
    Completeness,
    ProductKind,
    ProductState,
)
from processing.models import AssociationBlock, Product
from processing.naming import NamingError
from processing.queue import actions as queue_actions


@dataclass(frozen=True)
class Action:
    name: str
    verb: str  # "certify" in "certify 12 ABs?"
    permission: str
    what: str  # completes "<user> may not …"
    needs_comment: bool = False


ACTIONS = {a.name: a for a in (
    Action("certify", "certify", "processing.certify_products", "certify products"),
    Action("reject", "reject", "processing.certify_products", "reject products", needs_comment=True),
    Action("rerun", "re-run (with dependants)", "processing.operate_batches", "re-run ABs"),
    Action("cancel", "cancel", "processing.operate_batches", "cancel ABs"),
    Action("move", "move the products of", "processing.move_products", "move products"),
    Action("ingest", "queue for ingestion the products of", "processing.ingest_products",
           "queue products for ingestion"),
)}  # fmt: skip

#: states a re-run starts from (created ABs are launched, not re-run)
RERUNNABLE = (AbStatus.FAILED, AbStatus.CANCELLED)


@dataclass
class Plan:
    """What an action would do to a selection."""

    action: Action
    selected: int
    will: list = field(default_factory=list)  # ABs the action changes
    wont: list = field(default_factory=list)  # (AB name, why not)
    products: int | None = None  # products changed (certify, reject, move, ingest)
    dependants: list = field(default_factory=list)  # re-run: AB names taken along
    roots: list = field(default_factory=list)  # re-run: the ABs each re-run starts from
    converts: int = 0  # ingest: science products converted to IDPs first

    @property
    def in_background(self):
        """An ingest with more conversions than a web request should wait for."""
        return self.action.name == "ingest" and self.converts > finishing.INLINE_CONVERSIONS

    def reasons(self):
        """[(why, [AB names])], the most frequent reason first."""
        grouped = defaultdict(list)
        for name, why in self.wont:
            grouped[why].append(name)
        return sorted(grouped.items(), key=lambda item: -len(item[1]))


def plan(action, abs_):
    """The plan of `action` (an Action) for the ABs of the queryset `abs_`."""
    abs_ = abs_.order_by("mjd_obs", "ab_name")
    return PLANNERS[action.name](Plan(action, abs_.count()), abs_)


def _split(result, rows, why_not):
    for ab in rows:
        why = why_not(ab)
        if why:
            result.wont.append((ab.ab_name, why))
        else:
            result.will.append(ab)
    return result


def _plan_verdict(result, abs_):
    decision = (CertificationDecision.CERTIFIED if result.action.name == "certify"
                else CertificationDecision.REJECTED)  # fmt: skip
    rows = abs_.annotate(judged=Count("products", distinct=True,
                                      filter=Q(products__kind__in=certification.JUDGED_KINDS)))

    def why_not(ab):  # processing.certification._why_not, for a set
        if ab.status != AbStatus.SUCCESS:
            return f"{ab.get_status_display()}, not processed successfully"
        if ab.qc_status in certification.QC_NOT_DONE:
            return f"QC still {ab.qc_status}: wait for the scores"
        if ab.moved_at:
            return "products moved already (re-run it to replace them)"
        if ab.certification == decision:
            return f"{decision} already"
        if not ab.judged:
            return "no products to judge"
        return ""

    _split(result, rows, why_not)
    result.products = sum(ab.judged for ab in result.will)
    return result


def _plan_move(result, abs_):
    rows = abs_.annotate(certified_products=Count(
        "products", distinct=True, filter=Q(products__state=ProductState.CERTIFIED)))

    def why_not(ab):  # processing.moving.move
        if ab.moved_at:
            return "moved already"
        if ab.certification == CertificationDecision.REJECTED:
            return "rejected"
        if ab.certification != CertificationDecision.CERTIFIED:
            return "not certified yet"
        if not ab.certified_products:
            return "no certified products"
        return ""

    _split(result, rows, why_not)
    result.products = sum(ab.certified_products for ab in result.will)
    return result


def _plan_ingest(result, abs_):
    """What processing.finishing.convert_and_queue would convert and queue, per AB."""
    moved = Product.objects.filter(ab__in=abs_, state=ProductState.MOVED)
    to_convert = _count_by_ab(moved.filter(kind=ProductKind.SCIENCE).exclude(conversions__status="ok"))
    to_queue = _count_by_ab(moved.filter(ingest_requests__isnull=True).filter(
        Q(kind__in=(ProductKind.IDP, ProductKind.ANCILLARY))
        | Q(kind=ProductKind.MASTER, ab__category=AbCategory.CALIB)))  # fmt: skip

    def why_not(ab):
        if not ab.moved_at:
            return "products not moved yet (certify and move first)"
        if not to_convert.get(ab.pk) and not to_queue.get(ab.pk):
            return "nothing left to queue (its products have ingestion requests)"
        return ""

    _split(result, abs_, why_not)
    result.converts = sum(to_convert.get(ab.pk, 0) for ab in result.will)
    result.products = sum(to_queue.get(ab.pk, 0) for ab in result.will)
    return result


def _count_by_ab(products):
    return dict(products.values_list("ab_id").annotate(n=Count("pk")).values_list("ab_id", "n"))


def _plan_cancel(result, abs_):
    def why_not(ab):
        if ab.status in ACTIVE_STATES:
            return ""
        return f"{ab.get_status_display()}: nothing to cancel"

    return _split(result, abs_, why_not)


def _plan_rerun(result, abs_):
    """Failed and cancelled ABs re-run with every AB downstream of them; an AB downstream of
    another selected one is taken along by that one's re-run rather than re-run twice."""
    rows = list(abs_)
    children = _downstream([ab.pk for ab in rows if ab.status in RERUNNABLE])
    states = dict(AssociationBlock.objects.filter(pk__in=set().union(*children.values(), set()))
                  .values_list("pk", "status")) if children else {}  # fmt: skip
    subtree = {ab.pk: _below(ab.pk, children) for ab in rows}

    def why_not(ab):
        if ab.status not in RERUNNABLE:
            return {AbStatus.SUCCESS: "succeeded (re-run it from its AB page to process it again)",
                    AbStatus.UPSTREAM_FAILED: "an AB it depends on failed: re-run that one",
                    AbStatus.CREATED: "never processed: launch the date instead"}.get(
                ab.status, f"{ab.get_status_display()}: cancel it first")  # fmt: skip
        if ab.completeness == Completeness.INCOMPLETE:
            return "INCOMPLETE: " + "; ".join(ab.missing or ["a required calibration is missing"])
        busy = [pk for pk in subtree[ab.pk] if states.get(pk) in ACTIVE_STATES]
        if busy:
            return f"{len(busy)} of its dependants still pending, queued or running"
        return ""

    _split(result, rows, why_not)
    chosen = {ab.pk for ab in result.will}
    taken_along = set().union(*(subtree[pk] for pk in chosen), set())
    result.roots = [ab for ab in result.will if ab.pk not in taken_along]
    dependants = taken_along - chosen
    result.dependants = sorted(AssociationBlock.objects.filter(pk__in=dependants)
                               .values_list("ab_name", flat=True)) if dependants else []  # fmt: skip
    return result


def _downstream(roots):
    """{AB id: ids of the ABs that depend on it directly}, for everything below `roots`:
    one query per level of the dependency graph."""
    edges = AssociationBlock.depends_on.through.objects
    children, frontier, seen = defaultdict(set), set(roots), set(roots)
    while frontier:
        found = edges.filter(to_associationblock_id__in=frontier).values_list(
            "to_associationblock_id", "from_associationblock_id")
        frontier = set()
        for parent, child in found:
            children[parent].add(child)
            if child not in seen:
                seen.add(child)
                frontier.add(child)
    return children


def _below(pk, children):
    found, stack = set(), [pk]
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


PLANNERS = {"certify": _plan_verdict, "reject": _plan_verdict, "move": _plan_move,
            "ingest": _plan_ingest, "cancel": _plan_cancel, "rerun": _plan_rerun}  # fmt: skip


@dataclass
class Outcome:
    """What the action did, in the words the page shows."""

    message: str
    level: str = "success"  # django message level tag: success, warning, error
    refused: list = field(default_factory=list)  # (AB name, why)


#: what the entry points raise when they refuse the whole action (role, state, file system)
REFUSALS = (certification.CertificationError, moving.MoveError, NamingError,
            queue_actions.ActionError, ArchiveAccessError, IngestError, OSError)  # fmt: skip


def run(result, *, instance, user, comment=""):
    """Carry out a plan through the action's entry point in processing/; a refusal of the
    whole action comes back as an error outcome with the entry point's message."""
    if not result.will:
        return Outcome(f"nothing to {result.action.verb}: none of the {result.selected} "
                       "selected ABs qualifies", level="warning")  # fmt: skip
    try:
        return _run(result, instance, user, comment)
    except REFUSALS as exc:
        return Outcome(f"{result.action.verb} refused: {exc}", level="error")


def _run(result, instance, user, comment):
    name, abs_ = result.action.name, result.will
    if name in ("certify", "reject"):
        done = (certification.certify(abs_, comment=comment, user=user) if name == "certify"
                else certification.reject(abs_, comment=comment, user=user))  # fmt: skip
        return _outcome(f"{len(done.done)} ABs {done.decision}", done.refused, len(done.done))
    if name == "move":
        done = moving.move(abs_, user=user)
        return _outcome(f"{len(done.moved)} ABs moved ({len(done.products)} products)", done.refused,
                        len(done.moved))
    if result.in_background:
        task = finishing.convert_and_queue_in_background(instance, abs_, user=user)
        return Outcome(f"{result.converts} science products of {len(abs_)} ABs are being "
                       "converted to IDPs in the background, then queued for ingestion with "
                       f"the masters (task {task[:8]}; the queues page shows them arrive)")  # fmt: skip
    if name == "ingest":
        done = finishing.convert_and_queue(instance, abs_, user=user)
        converted, created, held = done.idps_made, done.requests("created"), done.requests("held")
        return _outcome(f"{converted} science products converted to IDPs, {created} products "
                        "queued for ingestion" + (f" ({held} held for the replacement workflow)"
                                                  if held else ""),
                        done.conversion_failures, converted + created)  # fmt: skip
    if name == "cancel":
        cancelled, stopping = queue_actions.cancel(abs_, user=user)
        return _outcome(f"{len(cancelled)} ABs cancelled, {len(stopping)} running ones being stopped",
                        [], len(cancelled) + len(stopping))
    return _rerun(result, user)


def _rerun(result, user):
    batches, refused = [], []
    for ab in result.roots:
        try:
            batches.append(queue_actions.rerun_with_dependants(ab, user=user))
        except queue_actions.ActionError as exc:
            refused.append((ab.ab_name, str(exc)))
    taken = AssociationBlock.objects.filter(batch__in=batches).count()
    numbers = ", ".join(f"#{b.pk}" for b in batches)
    return _outcome(f"{len(batches)} re-runs started ({taken} ABs with their dependants)"
                    + (f" in batches {numbers}" if batches else ""), refused, len(batches))  # fmt: skip


def _outcome(message, refused, changed):
    if refused:
        message += f"; {len(refused)} refused"
    level = "success" if not refused else "warning" if changed else "error"
    return Outcome(message, level, list(refused))
