"""createAB without the database: classify, organise, associate, decide what to keep.

Input: the rule set, the records of the frames in scope and around it, the calibration
candidates (certified masters, static calibrations, CALIB ABs that already exist).
Output: planned ABs with their inputs, calibrations (tag, Δt, quality level), dependencies
and completeness, and a report of frames that became no AB (unclassified, or of a mode no
organisation rule takes).

Virtual calibrations: in raw2raw mode a select `from calibFiles` is answered by the
products a CALIB AB *will* make (its action's `product` declarations, with the keywords of
its first raw frame); the AB then depends on that CALIB AB. This is how COMPLETE_MODE finds
"only the masters the science needs": the CALIB ABs kept are those reachable from science.
"""

from dataclasses import dataclass, field

from processing.abs.plan import SelectPlan, memo_key
from processing.abs.pool import Record
from processing.choices import AbCategory, CalibrationKind, Completeness
from processing.oca.evaluate import compile_condition
from processing.oca.ruleset import keys_of


@dataclass
class Settings:
    """The instance's association settings and the call's choices."""

    max_level: int = 2
    widen_factor: float = 2.0
    search_days: float = 60.0
    drs_type: str = "CPL"
    complete_mode: bool = False
    category: str | None = None  # only CALIB or only SCIENCE ABs
    ab_name: str | None = None  # -a: this AB only (with what it needs)
    new_calib_abs: bool = True  # False: reuse existing CALIB ABs only (a month's set)
    mode_of_night: object = None  # night → "raw2raw" | "raw2master"


@dataclass
class PlannedCalibration:
    tag: str
    record: Record
    delta_t: float
    level: int

    @property
    def kind(self):
        return {"raw": CalibrationKind.RAW, "master": CalibrationKind.MASTER,
                "static": CalibrationKind.STATIC}.get(self.record.kind, CalibrationKind.VIRTUAL)  # fmt: skip


@dataclass(eq=False)
class PlannedAB:
    name: str
    action: object  # ast.Action (None if the rules name an undefined action)
    action_name: str
    category: str
    raw_type: str
    event: str
    tag: str
    frames: list  # Records, time order
    match_key: dict
    in_scope: bool
    existing_pk: int | None = None  # an AB already in the database (used as it is)
    declared_products: list | None = None  # an existing AB's [(name, PRO.CATG)]
    calibrations: list = field(default_factory=list)
    missing: list = field(default_factory=list)
    depends_on: list = field(default_factory=list)  # PlannedABs
    reach: tuple | None = None  # (low, high) MJD its raw and virtual searches relied on

    @property
    def primary(self):
        return self.frames[0]

    @property
    def night(self):
        return self.primary.night

    @property
    def completeness(self):
        return Completeness.INCOMPLETE if self.missing else Completeness.COMPLETE

    @property
    def quality_level(self):
        levels = [c.level for c in self.calibrations]
        return max(levels) if levels else None

    @property
    def virtual(self):
        return any(c.record.kind == "virtual" for c in self.calibrations)

    @property
    def products(self):
        if self.declared_products is not None:
            return self.declared_products
        if self.action is None:
            return []
        return [(p.name, p.pro_catg) for p in self.action.products if p.pro_catg]


@dataclass
class Plan:
    abs: list  # PlannedABs to write, in time order
    unclassified: list  # in-scope Records without RAW.TYPE
    unsupported: list  # in-scope Records classified but taken by no organisation rule
    notices: list
    in_scope_names: list  # every AB the scope's frames make (before -a/--mode choices)
    not_created: list = field(default_factory=list)  # in-scope ABs left out, with why
    associated: list = field(default_factory=list)  # ABs whose searches decided the plan


def classify(ruleset, records):
    """Add each record's classification (RAW.TYPE, DO.CATG, …) to its values.

    The result is a function of the keywords the classification rules read, and a data pool
    holds few distinct combinations of them (DPR.CATG/TYPE/TECH …): each combination is
    classified once.
    """
    keys = sorted({key.name for rule in ruleset.classifications
                   for key in keys_of(rule.condition)})  # fmt: skip
    known = {}
    for record in records:
        values = record.values
        try:
            memo = tuple(memo_key(values.get(k)) for k in keys)
            assigned = known.get(memo)
        except TypeError:  # an unhashable value (a list): classify it directly
            memo, assigned = None, None
        if assigned is None:
            assigned = ruleset.classify(values)
            if memo is not None:
                known[memo] = assigned
        values.update(assigned)


def ab_category(values):
    catg = values.get("CATG")
    if catg in (AbCategory.CALIB, AbCategory.SCIENCE):
        return catg
    return AbCategory.SCIENCE if values.get("DPR.CATG") == "SCIENCE" else AbCategory.CALIB


def _base_name(record):
    arcfile = record.get("ARCFILE") or record.name
    return arcfile[:-5] if arcfile.endswith(".fits") else arcfile


def organise(ruleset, records, in_scope):
    """Group frames into ABs by the organisation rules; return (ABs, frames used)."""
    planned, used, names = [], set(), {}
    for rule in ruleset.organisations:
        if rule.source != "inputFiles":
            continue
        condition = compile_condition(rule.condition) if rule.condition is not None else None
        groups = {}
        for record in records:
            if "RAW.TYPE" not in record.values:
                continue
            if condition is not None and not condition(record.values, None):
                continue
            key = tuple(_hashable(record.values.get(k)) for k in rule.group_by)
            groups.setdefault(key, []).append(record)
        for key, frames in groups.items():
            frames.sort(key=lambda r: (r.mjd if r.mjd is not None else 0.0, r.name))
            primary = frames[0]
            name = _base_name(primary) + (f"_{rule.tag}" if rule.tag else "")
            if name in names:  # two rules start an AB with the same frame
                name = f"{name}_{rule.action.lower()}"
            names[name] = True
            planned.append(
                PlannedAB(
                    name=name,
                    action=ruleset.actions.get(rule.action),
                    action_name=rule.action,
                    category=ab_category(primary.values),
                    raw_type=str(primary.values.get("RAW.TYPE", "")),
                    event=rule.event or "",
                    tag=rule.tag or "",
                    frames=frames,
                    match_key={k: primary.values.get(k) for k in rule.group_by},
                    in_scope=in_scope(primary),
                )
            )
            used.update(id(r) for r in frames)
    planned.sort(key=lambda ab: (ab.primary.mjd or 0.0, ab.name))
    return planned, used


def _hashable(value):
    return tuple(value) if isinstance(value, list) else value


def virtual_records(abs_):
    """The products each CALIB AB will make, as calibFiles candidates."""
    records = []
    for ab in abs_:
        if ab.category != AbCategory.CALIB:
            continue
        for product_name, pro_catg in ab.products:
            values = dict(ab.primary.values)
            values["PRO.CATG"] = pro_catg
            records.append(
                Record("virtual", None, f"{ab.name}:{product_name}", ab.primary.mjd,
                       ab.night, values, ab.primary.run_id, source_ab=ab)
            )
    return records


class Associator:
    """Answers every select of every AB through index lookups (see plan.py)."""

    def __init__(self, settings, masters, virtuals, raw_frames):
        self.settings = settings
        self.sources = {"master": masters, "virtual": virtuals, "raw": raw_frames}
        self._plans = {}
        self._indexes = {}
        self.associated = []  # the ABs associated so far

    def _index(self, select, source):
        plan = self._plans.get(id(select))
        if plan is None:
            plan = self._plans[id(select)] = SelectPlan(
                select, self.settings.widen_factor, self.settings.search_days
            )
        key = (id(select), source)
        index = self._indexes.get(key)
        if index is None:
            index = self._indexes[key] = plan.index(self.sources[source])
        return index

    def associate(self, ab):
        self.associated.append(ab)
        ab.calibrations, ab.missing, ab.depends_on, ab.reach = [], [], [], None
        if ab.action is None:
            ab.missing.append(f"action {ab.action_name} is not defined in the rules")
            return
        mode = self.settings.mode_of_night(ab.night) if self.settings.mode_of_night else "raw2raw"
        own_frames = {r.pk for r in ab.frames}

        def exclude(record):
            return record.source_ab is ab or (record.kind == "raw" and record.pk in own_frames)

        primary, time, max_level = ab.primary.values, ab.primary.mjd, self.settings.max_level
        for select in ab.action.selects:
            if select.source == "inputFiles":
                source = "raw"
            else:
                source = "virtual" if mode == "raw2raw" else "master"
            found = self._index(select, source).find(primary, time, max_level, exclude=exclude)
            if found.reach is not None and source != "master":  # masters: loaded in full
                low, high = found.reach
                ab.reach = (low, high) if ab.reach is None else (
                    min(low, ab.reach[0]), max(high, ab.reach[1]))
            pairs = list(zip(found.records, found.levels))
            if not pairs and source == "virtual":  # static calibrations serve every mode
                statics = self._index(select, "master").find(primary, time, max_level)
                pairs = [(r, lv) for r, lv in zip(statics.records, statics.levels)
                         if r.kind == "static"]  # fmt: skip
            for record, level in pairs:
                delta = 0.0 if record.mjd is None or time is None else record.mjd - time
                ab.calibrations.append(PlannedCalibration(select.tag, record, delta, level))
                if record.source_ab is not None and record.source_ab not in ab.depends_on:
                    ab.depends_on.append(record.source_ab)
            if len(pairs) < select.min_ret:
                ab.missing.append(self._why_missing(select, source, mode, found))

    def _why_missing(self, select, source, mode, found):
        what = {
            "virtual": f"no CALIB AB makes a matching file (calSelector {mode})",
            "master": f"no matching certified master calibration (calSelector {mode})",
            "raw": "no matching raw frame",
        }[source]
        message = f"{select.tag}: {what}"
        if found.nearest_beyond is not None:
            record, delta, level = found.nearest_beyond
            message += (
                f"; nearest {record.name} at Δt {delta:+.2f} d is association level {level}, "
                f"beyond the accepted level {self.settings.max_level}"
            )
        return message


def plan_abs(ruleset, settings, frames, in_scope, masters, existing_calib_abs, *,
             classified=False):
    """The whole createAB decision for one scope (see the module docstring).

    frames: Records of raw frames in scope and the calibration frames around it;
    in_scope(record) tells which belong to the scope; masters: Records of certified masters
    and static calibrations; existing_calib_abs: PlannedABs (with existing_pk) of CALIB ABs
    already in the database, usable as sources of virtual calibrations; classified: the
    frames went through `classify` already (createAB classifies what it loads once, and may
    plan again after loading more).
    """
    if not classified:
        classify(ruleset, frames)
    planned, used = organise(ruleset, frames, in_scope)
    # A CALIB AB that exists and stays (outside the scope, or processed) is used as it is.
    existing_names = {ab.name for ab in existing_calib_abs}
    planned = [ab for ab in planned if ab.name not in existing_names]

    sources = list(existing_calib_abs)
    if settings.new_calib_abs:
        sources += [ab for ab in planned if ab.category == AbCategory.CALIB]
    associator = Associator(settings, masters, virtual_records(sources), frames)
    kept = _select_kept(planned, settings, associator.associate)
    notices = _break_cycles(kept)
    in_scope_frames = [r for r in frames if in_scope(r)]
    unclassified = [r for r in in_scope_frames if "RAW.TYPE" not in r.values]
    unsupported = [
        r for r in in_scope_frames if "RAW.TYPE" in r.values and id(r) not in used
    ]
    names = sorted(ab.name for ab in planned if ab.in_scope)
    kept_ids = {id(ab) for ab in kept}
    not_created = [(ab, _why_not_created(ab, settings)) for ab in planned
                   if ab.in_scope and id(ab) not in kept_ids]
    return Plan(kept, unclassified, unsupported, notices, names, not_created,
                associator.associated)


def _why_not_created(ab, settings):
    if settings.ab_name:
        return f"-a {settings.ab_name} selects another AB"
    if settings.category and ab.category != settings.category:
        return f"--mode {settings.category}"
    if ab.category == AbCategory.CALIB and settings.complete_mode:
        return "COMPLETE_MODE: no science AB of the scope needs its products"
    if ab.category == AbCategory.CALIB and not settings.new_calib_abs:
        return "the month's calibration set is reused"
    return "calSelector raw2master: masters come from the product registry"


def _select_kept(planned, settings, associate):
    """Which planned ABs are written: the scope's, and the CALIB ABs they need.

    Only the ABs that may be written and the CALIB ABs they need are associated
    (`associate(ab)`): the CALIB ABs around the scope that nothing of the scope needs are
    candidates, never written, so their own calibrations do not matter. (With --mode CALIB
    the scope's science is associated, to know which CALIB ABs it needs, but not written.)
    """
    wanted = []
    for ab in planned:
        if not ab.in_scope:
            continue
        if settings.ab_name and ab.name != settings.ab_name:
            continue
        if settings.category and ab.category != settings.category:
            if not (settings.complete_mode and settings.category == AbCategory.CALIB):
                continue
        if ab.category == AbCategory.CALIB:
            if settings.complete_mode or settings.ab_name:
                continue  # only those something needs (added below)
            mode = settings.mode_of_night(ab.night) if settings.mode_of_night else "raw2raw"
            if mode != "raw2raw" and settings.category != AbCategory.CALIB:
                continue
            if not settings.new_calib_abs:
                continue
        wanted.append(ab)
    for ab in wanted:
        associate(ab)
    keep = {id(ab): ab for ab in wanted}
    stack = list(wanted)
    while stack:  # the CALIB ABs the wanted ones need, transitively
        ab = stack.pop()
        for source in ab.depends_on:
            if source.existing_pk is None and id(source) not in keep:
                associate(source)
                keep[id(source)] = source
                stack.append(source)
    if settings.category == AbCategory.CALIB:
        keep = {k: ab for k, ab in keep.items() if ab.category == AbCategory.CALIB}
    elif settings.category == AbCategory.SCIENCE:
        keep = {k: ab for k, ab in keep.items() if ab.category == AbCategory.SCIENCE}
    return sorted(keep.values(), key=lambda ab: (ab.primary.mjd or 0.0, ab.name))


def _break_cycles(abs_):
    """ABs that (indirectly) need their own products cannot run: mark them incomplete."""
    notices, state = [], {}

    def visit(ab, path):
        state[id(ab)] = "active"
        for source in ab.depends_on:
            if state.get(id(source)) == "active":
                cycle = path[path.index(source):] + [source] if source in path else [ab, source]
                names = " → ".join(a.name for a in cycle)
                for member in cycle:
                    if not any("dependency cycle" in m for m in member.missing):
                        member.missing.append(f"dependency cycle: {names}")
                notices.append(f"dependency cycle: {names}")
            elif id(source) not in state:
                visit(source, path + [source])
        state[id(ab)] = "done"

    for ab in abs_:
        if id(ab) not in state:
            visit(ab, [ab])
    return notices
