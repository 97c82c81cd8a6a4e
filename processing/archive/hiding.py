"""Hiding archived files (DFOS: a hide request to DBCM), and unhiding them.

A hide request names a night range and the kinds of products to hide (IDPs by default), or
explicit ADP ids, and a reason, which stays with every record it hides. Static calibrations
are never hidden: a new processing does not replace them (operational hints §6), so hiding
one in a bulk request over a year would lose it. Those in the range are listed as excluded,
in the result and on the HideRequest. A dry run shows what would be hidden and excluded and
writes only an audit event of the preview.
"""

from dataclasses import dataclass, field
from datetime import date

from django.db import transaction

from processing import audit
from processing.archive.access import check_permission
from processing.choices import ArchiveStatus, ProductKind
from processing.models import ArchiveRecord, HideRequest

#: what a hide request hides unless told otherwise: the science data products
DEFAULT_KINDS = (ProductKind.IDP, ProductKind.ANCILLARY)
#: everything but static calibrations
HIDEABLE_KINDS = tuple(k for k in ProductKind.values if k != ProductKind.STATIC)


class HideError(Exception):
    """The request cannot be made; the message says which argument and why."""


@dataclass
class HideResult:
    dry_run: bool
    request: HideRequest | None = None
    hidden: list = field(default_factory=list)  # ArchiveRecords hidden (dry run: to hide)
    excluded: list = field(default_factory=list)  # static calibrations left current
    skipped: list = field(default_factory=list)  # (ADP id, why) of explicit ids not hidden

    def as_dict(self):
        return {"dry_run": self.dry_run, "hide_request": self.request.pk if self.request else None,
                "hidden": [r.adp_id for r in self.hidden],
                "excluded": [r.adp_id for r in self.excluded],
                "skipped": [{"adp_id": a, "why": w} for a, w in self.skipped]}  # fmt: skip


@dataclass
class UnhideResult:
    dry_run: bool
    unhidden: list = field(default_factory=list)  # ArchiveRecords current again
    skipped: list = field(default_factory=list)  # (ADP id, why)

    def as_dict(self):
        return {"dry_run": self.dry_run, "unhidden": [r.adp_id for r in self.unhidden],
                "skipped": [{"adp_id": a, "why": w} for a, w in self.skipped]}  # fmt: skip


def hide_records(instance, *, start=None, end=None, kinds=DEFAULT_KINDS, adp_ids=None, reason,
                 dry_run=False, user=None, actor_name=None):
    """Hide the current archive records of `kinds` whose night lies in start…end (both
    included), or the records `adp_ids` (whatever their kind), never static calibrations."""
    reason = _reason(reason)
    kinds = _kinds(kinds)
    if not dry_run:
        check_permission(user, "hide archived files")
    actor = audit.actor_name_of(user, actor_name)
    result = HideResult(dry_run)
    if adp_ids:
        if start or end:
            raise HideError("give either a night range or ADP ids, not both")
        candidates = _explicit(instance, list(adp_ids), result)
    else:
        start, end = night_range(start, end)
        candidates = list(ArchiveRecord.objects.filter(
            instance=instance, status=ArchiveStatus.CURRENT, night__range=(start, end),
            kind__in=[*kinds, ProductKind.STATIC],
        ).order_by("night", "origfile"))  # fmt: skip
    result.excluded = [r for r in candidates if r.kind == ProductKind.STATIC]
    result.hidden = [r for r in candidates if r.kind != ProductKind.STATIC]
    what = _describe(instance, start, end, kinds, adp_ids)
    if dry_run:
        audit.record("hide_preview", user=user, actor_name=actor, obj=instance,
                     message=f"dry run: would hide {len(result.hidden)} records of {what}, "
                             f"{len(result.excluded)} static calibrations excluded: {reason}",
                     detail=result.as_dict() | {"reason": reason})  # fmt: skip
        return result
    with transaction.atomic():
        request = HideRequest.objects.create(
            instance=instance, start=start, end=end, kinds=list(kinds), reason=reason,
            excluded=[r.adp_id for r in result.excluded],
            created_by=user if user is not None and user.pk else None, actor_name=actor,
        )  # fmt: skip
        request.hidden_count = ArchiveRecord.objects.filter(
            pk__in=[r.pk for r in result.hidden], status=ArchiveStatus.CURRENT
        ).update(status=ArchiveStatus.HIDDEN, hide_request=request, status_reason=reason)
        request.save(update_fields=["hidden_count"])
        result.request = request
        result.hidden = list(request.records.order_by("night", "origfile"))
        audit.record("hide", user=user, actor_name=actor, obj=request,
                     message=f"{request.hidden_count} records of {what} hidden, "
                             f"{len(result.excluded)} static calibrations excluded: {reason}",
                     detail=result.as_dict() | {"reason": reason})  # fmt: skip
    return result


def unhide_records(instance, *, adp_ids=None, hide_request=None, reason, dry_run=False,
                   user=None, actor_name=None):
    """Make hidden records current again: the ADP ids given, or all of a hide request. A
    record whose name has a current version meanwhile stays hidden (one current version)."""
    reason = _reason(reason)
    if not dry_run:
        check_permission(user, "unhide archived files")
    actor = audit.actor_name_of(user, actor_name)
    if hide_request is not None:
        records = list(hide_request.records.filter(status=ArchiveStatus.HIDDEN))
        skipped = []
    elif adp_ids:
        found = {r.adp_id: r for r in ArchiveRecord.objects.filter(instance=instance,
                                                                   adp_id__in=adp_ids)}  # fmt: skip
        skipped = [(a, f"no archive record {a} on {instance.name}") for a in adp_ids if a not in found]
        skipped += [(a, f"{r.status}, not hidden") for a, r in found.items()
                    if r.status != ArchiveStatus.HIDDEN]  # fmt: skip
        records = [r for r in found.values() if r.status == ArchiveStatus.HIDDEN]
    else:
        raise HideError("give the ADP ids to unhide, or a hide request")
    result = UnhideResult(dry_run, skipped=skipped)
    with transaction.atomic():
        for record in records:
            current = ArchiveRecord.objects.filter(
                instance=instance, origfile=record.origfile, status=ArchiveStatus.CURRENT).first()
            if current is not None:
                result.skipped.append((record.adp_id, f"version {current.version} "
                                       f"({current.adp_id}) of {record.origfile} is current"))
            elif dry_run or ArchiveRecord.objects.filter(
                pk=record.pk, status=ArchiveStatus.HIDDEN
            ).update(status=ArchiveStatus.CURRENT, hide_request=None,
                     status_reason=f"unhidden: {reason}"):  # fmt: skip
                result.unhidden.append(record)
        audit.record("unhide_preview" if dry_run else "unhide", user=user, actor_name=actor,
                     obj=hide_request or instance,
                     message=("dry run: would make " if dry_run else "")
                             + f"{len(result.unhidden)} records current again, "
                               f"{len(result.skipped)} skipped: {reason}",
                     detail=result.as_dict() | {"reason": reason})  # fmt: skip
    return result


def night_range(start, end):
    """(start, end) as dates, start not after end; HideError naming the bad one."""
    if start is None or end is None:
        raise HideError("give the first and the last night of the range (--from and --to)")
    start, end = _night(start, "from"), _night(end, "to")
    if start > end:
        raise HideError(f"the range ends ({end}) before it starts ({start})")
    return start, end


def _night(value, what):
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise HideError(f"--{what}: {value!r} is not a date of the form YYYY-MM-DD") from None


def _reason(reason):
    reason = (reason or "").strip()
    if not reason:
        raise HideError("a reason is required: say why (it is kept with every record)")
    return reason


def _kinds(kinds):
    """The kinds to hide; static calibrations asked for are left out (and listed as excluded)."""
    kinds = list(kinds or ())
    unknown = [k for k in kinds if k not in ProductKind.values]
    if unknown:
        raise HideError(f"kinds: unknown {', '.join(map(repr, unknown))}; choose among "
                        f"{', '.join(HIDEABLE_KINDS)}")  # fmt: skip
    kinds = [k for k in kinds if k != ProductKind.STATIC]
    if not kinds:
        raise HideError("no kind to hide: static calibrations are never hidden (a new "
                        f"processing does not replace them); choose among {', '.join(HIDEABLE_KINDS)}")
    return kinds


def _explicit(instance, adp_ids, result):
    found = {r.adp_id: r for r in ArchiveRecord.objects.filter(instance=instance,
                                                               adp_id__in=adp_ids)}  # fmt: skip
    chosen = []
    for adp in adp_ids:
        record = found.get(adp)
        if record is None:
            result.skipped.append((adp, f"no archive record {adp} on {instance.name}"))
        elif record.status != ArchiveStatus.CURRENT:
            result.skipped.append((adp, f"{record.status}, not current"))
        else:
            chosen.append(record)
    return chosen


def _describe(instance, start, end, kinds, adp_ids):
    if adp_ids:
        return f"{instance.name} ({len(adp_ids)} ADP ids)"
    return f"{instance.name} {'/'.join(kinds)} {start}…{end}"
