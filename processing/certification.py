"""Certification: the QC scientist's verdict on the products of processed ABs (DFOS
certifyProducts), by hand or automatically when every QC score passed.

One entry point for the CLI, the web pages and the tests. A verdict applies to the products of
the AB's last successful attempt; the AB carries the verdict in force, Certification rows keep
every verdict. Certifying a CALIB AB turns its virtual calibrations (cal/VCAL) real: the ABs
that use them now use certified masters. A rejected AB can be re-run
(processing.queue.actions.rerun_with_dependants); its new products need a new verdict.
"""

from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from processing import audit
from processing.choices import (
    AbCategory,
    AbStatus,
    CalibrationKind,
    CertificationDecision,
    ProductKind,
    ProductState,
)
from processing.models import AbCalibration, AssociationBlock, Certification, Product

#: the actor name of automatic certification
AUTO_ACTOR = "auto-certification"
#: product kinds a verdict applies to (plots follow their AB's products)
JUDGED_KINDS = (ProductKind.MASTER, ProductKind.SCIENCE, ProductKind.PLOT)
#: QC states in which a verdict would come too early
QC_NOT_DONE = ("queued", "running")


class CertificationError(Exception):
    """The verdict cannot be given; the message says why and what to do."""


@dataclass
class CertifyResult:
    decision: str
    done: list = field(default_factory=list)  # AB names given the verdict now
    unchanged: list = field(default_factory=list)  # AB names that had this verdict already
    refused: list = field(default_factory=list)  # (AB name, why)

    def as_dict(self):
        return {"decision": self.decision, "done": self.done, "unchanged": self.unchanged,
                "refused": [{"ab": n, "why": w} for n, w in self.refused]}  # fmt: skip


def certify(abs_, *, comment="", user=None, actor_name=None):
    """Certify the products of `abs_` (ABs or a queryset)."""
    return _decide(abs_, CertificationDecision.CERTIFIED, comment, user, actor_name)


def reject(abs_, *, comment, user=None, actor_name=None):
    """Reject the products of `abs_`; a comment saying why is required."""
    if not (comment or "").strip():
        raise CertificationError("a rejection needs a comment saying why")
    return _decide(abs_, CertificationDecision.REJECTED, comment, user, actor_name)


def auto_certify(abs_):
    """Certify the ABs whose QC proposed it (every scored parameter passed) and that nobody
    judged yet, when their instance enables auto-certification."""
    proposed = [ab for ab in abs_ if ab.auto_certify_proposed and not ab.certification
                and ((ab.instance.config or {}).get("qc") or {}).get("auto_certify")]  # fmt: skip
    return _decide(proposed, CertificationDecision.CERTIFIED, "all QC scores passed", None,
                   AUTO_ACTOR, automatic=True)  # fmt: skip


def check_permission(user):
    """Raise CertificationError unless `user` (None: the command line) may certify."""
    if user is not None and not user.has_perm("processing.certify_products"):
        raise CertificationError(
            f"{user.get_username()} may not certify or reject products (certifier role needed)"
        )


def _decide(abs_, decision, comment, user, actor_name, automatic=False):
    check_permission(user)
    actor = audit.actor_name_of(user, actor_name)
    result = CertifyResult(decision)
    for ab in abs_:
        why = _why_not(ab, decision)
        if why == "unchanged":
            result.unchanged.append(ab.ab_name)
        elif why:
            result.refused.append((ab.ab_name, why))
        else:
            _apply(ab, decision, comment, user, actor, automatic)
            result.done.append(ab.ab_name)
    if result.done or result.refused:
        what = abs_[0] if len(result.done) + len(result.refused) == 1 and len(abs_) == 1 else None
        audit.record(
            "auto_certify" if automatic else ("certify" if decision == "certified" else "reject"),
            user=user, actor_name=actor, obj=what,
            object_type="" if what else "processing.AssociationBlock",
            object_repr="" if what else f"{len(result.done) + len(result.refused)} ABs",
            result=(audit.AuditEvent.Result.OK if not result.refused else
                    audit.AuditEvent.Result.PARTIAL if result.done else
                    audit.AuditEvent.Result.REFUSED),
            message=f"{len(result.done)} ABs {decision}, {len(result.refused)} refused"
                    + (f": {comment}" if comment else ""),
            detail=result.as_dict() | {"comment": comment},
        )  # fmt: skip
    return result


def _why_not(ab, decision):
    ab.refresh_from_db(fields=["status", "qc_status", "certification", "moved_at"])
    if ab.status != AbStatus.SUCCESS:
        return f"it is {ab.status}, not processed successfully"
    if ab.qc_status in QC_NOT_DONE:
        return f"its QC job is {ab.qc_status}; wait for the QC scores"
    if ab.moved_at:
        return ("its products were moved already; re-run it (enable_updates) to replace them "
                "rather than changing the verdict")  # fmt: skip
    if ab.certification == decision:
        return "unchanged"
    if not ab.products.filter(kind__in=JUDGED_KINDS).exists():
        return "it has no products to judge"
    return ""


def _apply(ab, decision, comment, user, actor, automatic):
    now = timezone.now()
    state = ProductState.CERTIFIED if decision == "certified" else ProductState.REJECTED
    with transaction.atomic():
        attempt = ab.attempt_rows.filter(status="success").order_by("-number").first()
        Certification.objects.create(
            ab=ab, decision=decision, comment=comment, automatic=automatic,
            attempt=attempt.number if attempt else None,
            user=user if user is not None and user.pk else None, actor_name=actor,
        )  # fmt: skip
        AssociationBlock.objects.filter(pk=ab.pk).update(certification=decision, certified_at=now)
        Product.objects.filter(ab=ab, kind__in=JUDGED_KINDS,
                               state__in=(ProductState.VIRTUAL, ProductState.CERTIFIED,
                                          ProductState.REJECTED)).update(state=state)  # fmt: skip
        if ab.category == AbCategory.CALIB:
            _settle_virtual_calibrations(ab, certified=decision == "certified")
    ab.certification, ab.certified_at = decision, now


def _settle_virtual_calibrations(source, certified):
    """The ABs associated to `source`'s products now use certified masters (or, after a
    rejection, virtual ones again); their `virtual` flag follows."""
    uses = AbCalibration.objects.filter(source_ab=source)
    products = {p.pro_catg: p for p in source.products.filter(kind=ProductKind.MASTER)}
    for cal in uses:
        product = products.get(cal.pro_catg) if certified else None
        kind = CalibrationKind.MASTER if product else CalibrationKind.VIRTUAL
        AbCalibration.objects.filter(pk=cal.pk).update(kind=kind, product=product)
    users = AssociationBlock.objects.filter(calibrations__source_ab=source).distinct()
    for user_ab in users:
        still_virtual = user_ab.calibrations.filter(kind=CalibrationKind.VIRTUAL).exists()
        AssociationBlock.objects.filter(pk=user_ab.pk).update(virtual=still_virtual)
