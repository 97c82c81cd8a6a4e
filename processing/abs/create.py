"""createAB: the one entry point that makes ABs for a scope (CLI, web UI and tests call it).

It loads what the decision needs (frames with only the keywords the rules use, certified
masters, CALIB ABs that exist), lets the engine decide, and writes the result in one
transaction: ABs of the scope that were not processed yet are replaced (updated in place
when the name stays), processed ABs and their history are left as they are, ABs the rules
no longer make are removed. Running it twice gives the same ABs.

Calibration frames around the scope are loaded a few nights at a time: first the nights the
rules' calibration plans (association level 0) reach, then, while the plan relied on frames
further out (a search's `Found.reach` in plan.py, an AB's frames), further nights (at most
twice as many each time, up to `search_days` + 1), planning again each time. The decision
is the one a load of all `search_days` + 1 nights gives (docs/CREATE_ABS.md); a month of a
busy instrument loads a few nights on either side instead of two months.
"""

import logging
import math
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Q

from processing import audit
from processing.abs import engine
from processing.abs.plan import SelectPlan
from processing.abs.pool import QUALIFIER_KEYWORDS, frame_records, product_records
from processing.abs.rules import ruleset_of
from processing.abs.scope import Scope
from processing.choices import (
    PROCESSED_STATES,
    USABLE_PRODUCT_STATES,
    WITHDRAWN_ARCHIVE_STATES,
    AbCategory,
    AbSource,
    ProductKind,
    ScopeKind,
)
from processing.conventions import night_bounds_mjd, night_of_mjd
from processing.oca import OcaSyntaxError
from processing.models import (
    AbCalibration,
    AbInput,
    AssociationBlock,
    Batch,
    Product,
    RawFrame,
)

logger = logging.getLogger(__name__)
REPORT_LIMIT = 2000  # entries per list kept in a Batch summary

#: Fields createAB sets on an AB (an update in place rewrites exactly these).
AB_FIELDS = [
    "batch", "batch_label", "category", "night", "run_id", "raw_type", "action", "recipe",
    "parameters", "drs_type", "ab_event", "completeness", "missing", "obs_prog_id",
    "obs_mode", "obs_id", "target", "mjd_obs", "mjd_obs_mod", "prod_root_name",
    "raw_match_key", "products_expected", "virtual", "quality_level",
]  # fmt: skip


class CreateAbsError(Exception):
    """createAB cannot run for this call; the message says why and what to do."""


@dataclass
class CreateResult:
    scope: Scope
    category: str | None
    dry_run: bool
    plan: engine.Plan
    batch: Batch | None = None
    created: list = field(default_factory=list)
    updated: list = field(default_factory=list)
    unchanged_processed: list = field(default_factory=list)
    removed: list = field(default_factory=list)
    notices: list = field(default_factory=list)
    loading: dict = field(default_factory=dict)  # frames loaded, nights around, plans made

    def summary(self):
        abs_ = self.plan.abs
        per_raw_type = {}
        for ab in abs_:
            per_raw_type[ab.raw_type] = per_raw_type.get(ab.raw_type, 0) + 1
        return {
            "scope": self.scope.value,
            "scope_kind": self.scope.kind,
            "category": self.category or "",
            "dry_run": self.dry_run,
            "abs": len(abs_),
            "calib_abs": sum(ab.category == AbCategory.CALIB for ab in abs_),
            "science_abs": sum(ab.category == AbCategory.SCIENCE for ab in abs_),
            "per_raw_type": dict(sorted(per_raw_type.items())),
            "created": len(self.created),
            "updated": len(self.updated),
            "kept_processed": self.unchanged_processed[:REPORT_LIMIT],
            "removed": self.removed[:REPORT_LIMIT],
            "incomplete": [
                {"ab": ab.name, "missing": ab.missing} for ab in abs_ if ab.missing
            ][:REPORT_LIMIT],
            "virtual": sum(ab.virtual for ab in abs_),
            "unclassified": [_frame_entry(r) for r in self.plan.unclassified][:REPORT_LIMIT],
            "unsupported": [
                {**_frame_entry(r), "raw_type": r.values.get("RAW.TYPE")}
                for r in self.plan.unsupported
            ][:REPORT_LIMIT],
            "not_created": [
                {"ab": ab.name, "raw_type": ab.raw_type, "frames": len(ab.frames), "why": why}
                for ab, why in self.plan.not_created
            ][:REPORT_LIMIT],
            "notices": self.notices + self.plan.notices,
        }


def _frame_entry(record):
    values = record.values
    return {
        "arcfile": record.name,
        "night": record.night.isoformat() if record.night else None,
        "dpr": "/".join(str(values.get(k) or "") for k in ("DPR.CATG", "DPR.TYPE", "DPR.TECH")),
    }


# --- the entry point ---------------------------------------------------------------------


def create_abs(instance, scope, *, category=None, ab_name=None, dry_run=False, user=None,
               actor_name=None, batch=None):
    """Create the ABs of `scope` for `instance` (see the module docstring).

    category: None (both), "CALIB" or "SCIENCE"; ab_name: only this AB (DEEP TARGET_SELECT)
    and the CALIB ABs it needs; batch: the launch this belongs to (phoenix -C -P), else a
    Batch is made. Returns a CreateResult; raises CreateAbsError.
    """
    if category not in (None, AbCategory.CALIB, AbCategory.SCIENCE):
        raise CreateAbsError(f"--mode: {category!r} is neither CALIB nor SCIENCE")
    if scope.is_run and instance.mode != "DEEP":
        raise CreateAbsError(
            f"-r: instance {instance.name} is in {instance.mode} mode; run IDs are the scope "
            "of DEEP instances (use -d or -m)"
        )
    if not scope.is_run and instance.mode == "DEEP":
        raise CreateAbsError(
            f"instance {instance.name} is in DEEP mode: its scope is a run ID (-r RUN_ID)"
        )
    if ab_name and not scope.is_run:
        raise CreateAbsError("-a selects one AB of a run: use it with -r RUN_ID")
    _check_ab_source(instance, scope)
    try:
        ruleset = ruleset_of(instance)
    except OcaSyntaxError as exc:
        raise CreateAbsError(f"the rules of {instance.name} do not parse: {exc}") from None
    settings = _settings(instance, category, ab_name)
    notices = []
    loaded = _Loaded(instance, scope, ruleset, settings)
    if instance.complete_mode and scope.kind == ScopeKind.DATE:
        notices += _reuse_month_calibrations(instance, scope, settings)
    existing = loaded.existing_calib_sources(settings)
    plan, plans = _plan(loaded, ruleset, settings, existing), 1
    while (needed := loaded.nights_needed(plan)) > loaded.nights:
        # at most twice as far each time: a search that found nothing relies on its widest
        # window, but what it looks for is mostly much closer than that
        loaded.widen(min(needed, 2 * loaded.nights))
        plan, plans = _plan(loaded, ruleset, settings, existing), plans + 1
    if ab_name and not any(ab.name == ab_name for ab in plan.abs):
        names = plan.in_scope_names
        raise CreateAbsError(
            f"-a: the run {scope} has no AB named {ab_name!r}"
            + (f"; its ABs are: {', '.join(names[:20])}" if names else "; it has no ABs")
        )
    result = CreateResult(scope, category, dry_run, plan, notices=notices, loading={
        "frames": len(loaded.frames), "nights_around": loaded.nights, "plans": plans})
    if dry_run:
        return result
    with transaction.atomic():
        result.batch = batch or Batch.objects.create(
            instance=instance, scope_kind=scope.kind, scope=scope.value,
            category=category or "", ab_name=ab_name or "", steps="C", created_by=_user(user),
            actor_name=actor_name or (user.get_username() if user else audit.cli_actor_name()),
        )
        _write(instance, scope, plan, result, settings)
        result.batch.summary = result.summary()
        result.batch.save(update_fields=["summary"])
        audit.record(
            "create_abs", user=user, actor_name=result.batch.actor_name, obj=result.batch,
            message=(f"{len(plan.abs)} ABs for {scope}: {len(result.created)} created, "
                     f"{len(result.updated)} updated, {len(result.removed)} removed, "
                     f"{len(result.unchanged_processed)} processed kept"),
            detail={k: v for k, v in result.batch.summary.items()
                    if k in ("abs", "created", "updated", "per_raw_type")},
        )  # fmt: skip
    return result


def _plan(loaded, ruleset, settings, existing_calib_abs):
    return engine.plan_abs(ruleset, settings, loaded.frames, loaded.in_scope, loaded.masters,
                           existing_calib_abs, classified=True)


def _check_ab_source(instance, scope):
    """ab_source = import: nights before `create_from` take historical AB files, not createAB."""
    if instance.ab_source != AbSource.IMPORT:
        return
    create_from = instance.ab_source_date
    if scope.is_run:
        historical = create_from is None
    else:
        historical = create_from is None or scope.first < create_from
        if historical and create_from is not None and scope.last >= create_from:
            raise CreateAbsError(
                f"{scope} straddles {create_from}, from which {instance.name} creates its ABs "
                f"(before it, ABs come from AB files): create the dates from {create_from} on "
                "one by one, and import the earlier ones"
            )
    if historical:
        folder = instance.config.get("ab_source", {}).get("import_dir", "")
        since = f" before {create_from}" if create_from else ""
        raise CreateAbsError(
            f"instance {instance.name} takes the ABs of nights{since} from historical AB "
            f"files (ab_source = import), so createAB does not make them for {scope}: run "
            f"`python manage.py import_abs --instance {instance.name} {folder or 'DIR'}/…`"
        )


def _user(user):
    return user if user is not None and user.is_authenticated else None


def _settings(instance, category, ab_name):
    association = instance.config.get("association", {})
    return engine.Settings(
        max_level=association.get("max_level", 2),
        widen_factor=float(association.get("widen_factor", 2.0)),
        search_days=float(association.get("search_days", 60)),
        drs_type=association.get("drs_type", "CPL"),
        complete_mode=instance.complete_mode,
        category=category,
        ab_name=ab_name,
        new_calib_abs=category != AbCategory.SCIENCE,
        mode_of_night=instance.calselector_modes(),
    )


def _reuse_month_calibrations(instance, scope, settings):
    """COMPLETE_MODE: a date of a month created as a batch reuses the month's CALIB ABs."""
    month = Batch.objects.filter(
        instance=instance, scope_kind=ScopeKind.MONTH, scope=scope.month()
    ).exclude(category=AbCategory.SCIENCE).order_by("-created_at").first()
    if month is None:
        return []
    settings.new_calib_abs = False
    return [
        f"{scope} lies in the month {month.scope}, created as a COMPLETE_MODE batch on "
        f"{month.created_at:%Y-%m-%d %H:%M} UT: its ABs reuse the month's CALIB ABs, so that "
        f"the date cannot diverge from the month. A calibration the month's set lacks makes "
        f"the AB INCOMPLETE; to change the set, re-create the month (create_abs -m "
        f"{month.scope})."
    ]


# --- loading ------------------------------------------------------------------------------


class _Loaded:
    """Frames, masters and existing ABs around a scope, with only the keywords rules use.

    The frames are classified as they are loaded. Calibration frames around the scope come
    from `self.nights` nights on either side (see the module docstring; `widen`); masters
    and existing CALIB ABs from all `search_days` + 1 (they are few).
    """

    def __init__(self, instance, scope, ruleset, settings):
        self.instance = instance
        self.scope = scope
        self.ruleset = ruleset
        keys = set(ruleset.keywords_used()) | set(QUALIFIER_KEYWORDS)
        for rule in ruleset.organisations:
            keys.update(rule.group_by)
        self.keys = sorted(keys)
        self.pool = RawFrame.objects.filter(instrument=instance.instrument, hidden=False)
        margin = timedelta(days=settings.search_days + 1)
        self.full = margin.days  # nights around a scope that associations may reach
        scope_frames = self._load(self.pool.filter(scope.as_q()))
        if scope.is_run:
            nights = [r.night for r in scope_frames]
            first = min(nights) if nights else None
            last = max(nights) if nights else None
        else:
            first, last = scope.first, scope.last
        self.first, self.last = first, last
        self.scope_ids = {r.pk for r in scope_frames}
        self.frames = scope_frames
        self.nights = 0
        if first is not None:
            # frames without a time are calibrations at every distance: all of them at once
            low, high = first - margin, last + margin
            self._load_around(Q(mjd_obs__isnull=True),
                              lambda r: r.night is not None and low <= r.night <= high)
            if scope.is_run:  # the nights between a run's first and last
                self._load_around(Q(night__range=(first, last)), _timed)
            self.widen(min(self.full, _plan_nights(ruleset, settings)))
        self.masters = self._masters(first, last, margin)

    def _load(self, queryset):
        records = frame_records(queryset, self.keys)
        engine.classify(self.ruleset, records)
        return records

    def _load_around(self, condition, keep):
        """Calibration frames (not SCIENCE) outside the scope that CALIB ABs may use, those
        of `condition` for which keep(record) holds. Part of the choice is made here, not in
        SQL: with `mjd_obs IS NULL` and a night range together, or `IS NOT NULL`, SQLite
        walks an index of the whole pool."""
        around = self.pool.filter(condition).exclude(dpr_catg="SCIENCE").exclude(self.scope.as_q())
        self.frames = self.frames + [r for r in self._load(around) if keep(r)]

    def widen(self, nights):
        """Load the calibration frames of up to `nights` nights before and after the scope."""
        if self.first is None or nights <= self.nights:
            return
        inner, outer = timedelta(days=self.nights), timedelta(days=nights)
        earlier = Q(night__gte=self.first - outer, night__lt=self.first - inner)
        later = Q(night__gt=self.last + inner, night__lte=self.last + outer)
        self._load_around(earlier | later, _timed)
        self.nights = nights

    def nights_needed(self, plan):
        """Nights around the scope the plan relies on (at most search_days + 1).

        The ABs associated (those written, and with --mode CALIB the science that decided
        which CALIB ABs are) relied on the nights of their frames and of their searches'
        `reach`. Each such night must lie inside the loaded nights, not on the outermost
        one: a frame a night further out could still belong to a group that reaches onto
        it, and a frame's night and MJD-OBS may disagree at the night's edges.
        """
        if self.first is None or self.nights >= self.full:
            return self.nights
        offset = self.instance.night_offset_hours
        needed = 0
        for ab in plan.associated:
            nights = [r.night for r in ab.frames if r.night is not None]
            if ab.reach is not None:
                nights += [night_of_mjd(moment, offset) for moment in ab.reach]
            for night in nights:
                if night < self.first:
                    needed = max(needed, (self.first - night).days + 1)
                elif night > self.last:
                    needed = max(needed, (night - self.last).days + 1)
        return min(needed, self.full)

    def in_scope(self, record):
        return record.pk in self.scope_ids

    def _masters(self, first, last, margin):
        products = Product.objects.filter(instance__instrument=self.instance.instrument)
        statics = products.filter(kind=ProductKind.STATIC).exclude(state="rejected")
        # masters hidden in the archive (replaced, e.g. after a COMPLETE_MODE reprocessing) or
        # made obsolete by a newer version are no longer associated
        masters = products.filter(kind=ProductKind.MASTER, state__in=USABLE_PRODUCT_STATES).exclude(
            archive_records__status__in=WITHDRAWN_ARCHIVE_STATES)
        if first is None:
            return product_records(statics, self.keys)
        low = night_bounds_mjd(first - margin)[0]
        high = night_bounds_mjd(last + margin)[1]
        masters = masters.filter(mjd_obs__range=(low, high))
        return product_records(statics, self.keys) + product_records(masters, self.keys)

    def existing_calib_sources(self, settings):
        """CALIB ABs in the database that stay as they are and can feed virtual calibrations:
        those outside the scope, processed ones inside it (not failed), and, when this call
        makes no CALIB ABs (--mode SCIENCE, a date reusing its month's set), all of them."""
        if self.first is None:
            return []
        margin = timedelta(days=settings.search_days + 1)
        abs_ = AssociationBlock.objects.filter(
            instance=self.instance, category=AbCategory.CALIB,
            night__range=(self.first - margin, self.last + margin),
        ).exclude(status__in=("failed", "cancelled", "upstream_failed"))  # fmt: skip
        if settings.new_calib_abs:  # the scope's unprocessed CALIB ABs are made anew
            abs_ = abs_.exclude(self.scope.as_q() & ~Q(status__in=PROCESSED_STATES))
        rows = list(abs_.values_list("id", "ab_name", "category", "raw_type", "action",
                                     "products_expected", "night"))  # fmt: skip
        if not rows:
            return []
        primaries = {
            ab_id: frame
            for ab_id, frame in AbInput.objects.filter(ab_id__in=[r[0] for r in rows], position=0)
            .values_list("ab_id", "frame_id")
        }
        records = {
            r.pk: r for r in frame_records(RawFrame.objects.filter(pk__in=primaries.values()), self.keys)
        }
        sources = []
        for pk, name, category, raw_type, action, products, night in rows:
            primary = records.get(primaries.get(pk))
            if primary is None:
                continue
            sources.append(
                engine.PlannedAB(
                    name=name, action=None, action_name=action, category=category,
                    raw_type=raw_type, event="", tag="", frames=[primary], match_key={},
                    in_scope=False, existing_pk=pk,
                    declared_products=[(p["name"], p["pro_catg"]) for p in products],
                )
            )  # fmt: skip
        return sources


# --- writing ------------------------------------------------------------------------------


def _write(instance, scope, plan, result, settings):
    existing = {
        ab.ab_name: ab
        for ab in AssociationBlock.objects.filter(
            instance=instance, ab_name__in=[ab.name for ab in plan.abs]
        ).only("id", "ab_name", "status")
    }
    in_scope = AssociationBlock.objects.filter(scope.as_q(), instance=instance)
    if result.category:
        in_scope = in_scope.filter(category=result.category)
    if not settings.new_calib_abs:  # the CALIB ABs in place are reused, never removed
        in_scope = in_scope.exclude(category=AbCategory.CALIB)
    if result.batch.ab_name:  # -a: that AB (and what it needs) only; the others stay
        in_scope = in_scope.none()

    pk_of, to_create, to_update = {}, [], []
    for ab in plan.abs:
        current = existing.get(ab.name)
        if current is not None and current.status in PROCESSED_STATES:
            result.unchanged_processed.append(ab.name)
            pk_of[id(ab)] = current.pk
            continue
        row = _ab_row(instance, scope, ab, result.batch)
        if current is not None:
            row.pk = current.pk
            to_update.append((ab, row))
        else:
            to_create.append((ab, row))
    planned_names = {ab.name for ab in plan.abs}
    stale = list(
        in_scope.exclude(ab_name__in=planned_names)
        .exclude(status__in=PROCESSED_STATES)
        .exclude(dependants__status__in=PROCESSED_STATES)
        .exclude(pk__in=_used_outside(in_scope, scope))
        .values_list("id", "ab_name")
    )
    if stale:
        stale_ids = [pk for pk, _ in stale]
        AbCalibration.objects.filter(source_ab_id__in=stale_ids).update(source_ab=None)
        AssociationBlock.objects.filter(pk__in=stale_ids).delete()
        result.removed = sorted(name for _, name in stale)

    if to_update:
        _update_in_place([row for _, row in to_update])
        updated_ids = [row.pk for _, row in to_update]
        AbInput.objects.filter(ab_id__in=updated_ids).delete()
        AbCalibration.objects.filter(ab_id__in=updated_ids).delete()
        AssociationBlock.depends_on.through.objects.filter(
            from_associationblock_id__in=updated_ids
        ).delete()
        for ab, row in to_update:
            pk_of[id(ab)] = row.pk
        result.updated = [ab.name for ab, _ in to_update]
    created_rows = AssociationBlock.objects.bulk_create([row for _, row in to_create])
    for (ab, _), row in zip(to_create, created_rows):
        pk_of[id(ab)] = row.pk
    result.created = [ab.name for ab, _ in to_create]

    written = [ab for ab, _ in to_update] + [ab for ab, _ in to_create]
    inputs, calibrations, links = [], [], []
    Link = AssociationBlock.depends_on.through
    for ab in written:
        ab_pk = pk_of[id(ab)]
        for position, frame in enumerate(ab.frames):
            inputs.append(AbInput(ab_id=ab_pk, frame_id=frame.pk, tag=_tag(frame), position=position))
        for position, calibration in enumerate(ab.calibrations):
            calibrations.append(_calibration_row(ab_pk, position, calibration, pk_of))
        for source in ab.depends_on:
            source_pk = source.existing_pk or pk_of.get(id(source))
            if source_pk is not None:
                links.append(Link(from_associationblock_id=ab_pk, to_associationblock_id=source_pk))
    AbInput.objects.bulk_create(inputs, batch_size=2000)
    AbCalibration.objects.bulk_create(calibrations, batch_size=2000)
    Link.objects.bulk_create(links, batch_size=2000, ignore_conflicts=True)


def _timed(record):  # frames without a time were loaded at first
    return record.mjd is not None


def _plan_nights(ruleset, settings):
    """Nights around a scope the calibration plans (level-0 windows) of the rules' timed
    selects reach: what most ABs need; `nights_needed` asks for more when one needs it."""
    reach = 0.0
    for action in ruleset.actions.values():
        for select in action.selects:
            plan = SelectPlan(select, settings.widen_factor, settings.search_days)
            if plan.timed:
                reach = max(reach, -plan.windows[0][0], plan.windows[0][1])
    return math.ceil(reach) + 1


def _update_in_place(rows):
    """Rewrite the AB_FIELDS of ABs that exist: one parametrised UPDATE per AB through
    `executemany`. Django's bulk_update builds a CASE WHEN per field over all ABs, which
    takes longer to build and to run than the rows themselves (re-creating the benchmark's
    year: 47 → 18 s, docs/BENCHMARKS.md)."""
    meta = AssociationBlock._meta
    fields = [meta.get_field(name) for name in AB_FIELDS]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"
    params = [[f.get_db_prep_save(getattr(row, f.attname), connection) for f in fields] + [row.pk]
              for row in rows]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _used_outside(abs_in_scope, scope):
    """ABs of the scope that ABs of another scope depend on (another batch made them for
    itself): removing them would leave those ABs without their calibration source."""
    Link = AssociationBlock.depends_on.through
    outside = AssociationBlock.objects.exclude(scope.as_q())
    return Link.objects.filter(
        to_associationblock__in=abs_in_scope, from_associationblock__in=outside
    ).values("to_associationblock")


def _tag(record):
    values = record.values
    return str(values.get("DO.CATG") or values.get("DO.CLASS") or values.get("RAW.TYPE") or "")


def _calibration_row(ab_pk, position, calibration, pk_of):
    record = calibration.record
    row = AbCalibration(
        ab_id=ab_pk, tag=calibration.tag, kind=calibration.kind, name=record.name,
        pro_catg=str(record.values.get("PRO.CATG") or ""), delta_t=calibration.delta_t,
        level=calibration.level, position=position,
    )  # fmt: skip
    if record.kind == "raw":
        row.frame_id = record.pk
    elif record.kind in ("master", "static"):
        row.product_id = record.pk
    else:
        source = record.source_ab
        row.source_ab_id = source.existing_pk or pk_of.get(id(source))
    return row


def _ab_row(instance, scope, ab, batch):
    primary = ab.primary
    values = primary.values
    exptime = values.get("EXPTIME")
    mjd = primary.mjd or 0.0
    mjd_mod = mjd + (float(exptime) / 2 / 86400 if isinstance(exptime, (int, float)) else 0.0)
    run_id = scope.value if scope.is_run else ""
    date = run_id or (ab.night.isoformat() if ab.night else "")
    obs_id = values.get("OBS.ID")
    return AssociationBlock(
        instance=instance,
        batch=batch,
        ab_name=ab.name,
        batch_label=f"{ab.category}_{date}",
        category=ab.category,
        night=ab.night,
        run_id=run_id,
        raw_type=ab.raw_type,
        action=ab.action_name,
        recipe=(ab.action.recipe or "") if ab.action else "",
        parameters=list(ab.action.parameters) if ab.action else [],
        drs_type=instance.config.get("association", {}).get("drs_type", "CPL"),
        ab_event=ab.event,
        completeness=ab.completeness,
        missing=ab.missing,
        obs_prog_id=str(values.get("OBS.PROG.ID") or ""),
        obs_mode="NONE" if ab.category == AbCategory.CALIB else str(values.get("OBS.MODE") or "UNKNOWN"),
        obs_id=obs_id if isinstance(obs_id, int) and not isinstance(obs_id, bool) else None,
        target=str(values.get("OBS.TARG.NAME") or values.get("OBJECT") or "")[:80],
        mjd_obs=mjd,
        mjd_obs_mod=mjd_mod,
        prod_root_name=f"r.{ab.name}",
        raw_match_key={k: v for k, v in ab.match_key.items()},
        products_expected=[{"name": n, "pro_catg": c} for n, c in ab.products],
        virtual=ab.virtual,
        quality_level=ab.quality_level,
    )
