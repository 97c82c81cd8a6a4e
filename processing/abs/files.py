"""ABs in the DFOS text form: `QUALIFIER value` lines, raw-file and calibration sections.

Export writes one `<AB_NAME>.ab` file per AB; import reads such files back (an instance
whose `ab_source` is `import` takes historical ABs this way). Export → import is lossless:
every field of the AB, its inputs, calibrations (with Δt and quality level), expected
products, missing calibrations and dependencies round-trip. Values that carry a type
(RAW_MATCH_KEY values, recipe parameters) are written as JSON. The format is documented
in docs/AB_FORMAT.md.
"""

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from django.db import transaction

from processing import audit
from processing.choices import PROCESSED_STATES, AbCategory, AbStatus, CalibrationKind, Completeness
from processing.models import AbCalibration, AbInput, AssociationBlock, Product, RawFrame

SUFFIX = ".ab"
SINGLE = [
    # (qualifier, AB field, to text, from text)
    ("AB_NAME", "ab_name", str, str),
    ("DATE", "night", lambda v: v.isoformat() if v else "", lambda t: date.fromisoformat(t) if t else None),
    ("RUN_ID", "run_id", str, str),
    ("DPR_CATG", "category", str, str),
    ("RAW_TYPE", "raw_type", str, str),
    ("ACTION", "action", str, str),
    ("RECIPE", "recipe", str, str),
    ("DRS_TYPE", "drs_type", str, str),
    ("BATCH_ID", "batch_label", str, str),
    ("AB_EVENT", "ab_event", str, str),
    ("COMPLETENESS", "completeness", str, str),
    ("OBS_PROG_ID", "obs_prog_id", str, str),
    ("OBS_MODE", "obs_mode", str, str),
    ("OBS_ID", "obs_id", lambda v: "" if v is None else str(v), lambda t: int(t) if t else None),
    ("TARGET", "target", str, str),
    ("MJD-OBS", "mjd_obs", repr, float),
    ("MJD-OBS_MOD", "mjd_obs_mod", repr, float),
    ("PROD_ROOT_NAME", "prod_root_name", str, str),
    ("VIRTUAL", "virtual", lambda v: "YES" if v else "NO", lambda t: t == "YES"),
    ("QUALITY_LEVEL", "quality_level", lambda v: "" if v is None else str(v),
     lambda t: int(t) if t else None),
    ("STATUS", "status", str, str),
]  # fmt: skip
SINGLE_BY_QUALIFIER = {q: (f, to, back) for q, f, to, back in SINGLE}


class AbFileError(ValueError):
    """An AB file that cannot be read or imported: names the file, line and reason."""


# --- writing ------------------------------------------------------------------------------


def format_ab(ab, inputs=None, calibrations=None, dependencies=None):
    """The text of one AB (inputs/calibrations/dependencies may be given pre-fetched)."""
    inputs = inputs if inputs is not None else list(ab.inputs.select_related("frame"))
    calibrations = calibrations if calibrations is not None else list(
        ab.calibrations.select_related("product", "frame", "source_ab")
    )
    dependencies = dependencies if dependencies is not None else list(
        ab.depends_on.values_list("ab_name", flat=True)
    )
    lines = [f"# Association Block, DFOS text form (docs/AB_FORMAT.md); instance {ab.instance.name}",
             _line("INSTRUMENT", ab.instance.instrument)]  # fmt: skip
    for qualifier, name, to_text, _ in SINGLE:
        lines.append(_line(qualifier, to_text(getattr(ab, name))))
    for parameter in ab.parameters:
        lines.append(_line("RECIPE_PARAM", json.dumps(parameter)))
    lines.append("\n# raw match key")
    for key, value in ab.raw_match_key.items():
        lines.append(_line("RAW_MATCH_KEY", f"{key}={json.dumps(value)}"))
    lines.append("\n# raw files: ARCFILE, tag, path")
    for item in sorted(inputs, key=lambda i: i.position):
        lines.append(_line("RAWFILE", f"{item.frame.arcfile} {item.tag} {item.frame.path or '-'}"))
    lines.append("\n# calibrations: tag, kind, name, PRO.CATG, delta_t [d], level, source AB")
    for item in sorted(calibrations, key=lambda c: c.position):
        source = item.source_ab.ab_name if item.source_ab_id else "-"
        lines.append(_line("MCALIB", f"{item.tag} {item.kind} {item.name} {item.pro_catg or '-'} "
                                     f"{item.delta_t!r} {item.level} {source}"))  # fmt: skip
    lines.append("\n# expected products: name, PRO.CATG")
    for product in ab.products_expected:
        lines.append(_line("PRODUCT", f"{product['name']} {product['pro_catg']}"))
    if ab.missing:
        lines.append("\n# missing calibrations")
        for message in ab.missing:
            lines.append(_line("MISSING", message))
    if dependencies:
        lines.append("\n# ABs whose products this AB uses")
        for name in sorted(dependencies):
            lines.append(_line("DEPENDS_ON", name))
    return "\n".join(lines) + "\n"


def _line(qualifier, value):
    return f"{qualifier:<16} {value}".rstrip()


def export_abs(queryset, directory):
    """Write one file per AB of `queryset` into `directory`; return the paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for ab in queryset.select_related("instance").prefetch_related(
        "inputs__frame", "calibrations__product", "calibrations__frame",
        "calibrations__source_ab", "depends_on",
    ):  # fmt: skip
        text = format_ab(ab, list(ab.inputs.all()), list(ab.calibrations.all()),
                         [d.ab_name for d in ab.depends_on.all()])  # fmt: skip
        path = directory / f"{ab.ab_name}{SUFFIX}"
        temporary = path.with_suffix(".ab.tmp")
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)  # atomic: a reader never sees half a file
        paths.append(path)
    return paths


# --- reading ------------------------------------------------------------------------------


@dataclass
class AbText:
    """An AB file as read, before its names are resolved against the database."""

    source: str
    fields: dict = field(default_factory=dict)
    instrument: str = ""
    parameters: list = field(default_factory=list)
    raw_match_key: dict = field(default_factory=dict)
    rawfiles: list = field(default_factory=list)  # (arcfile, tag)
    calibrations: list = field(default_factory=list)  # (tag, kind, name, pro_catg, dt, level, source)
    products: list = field(default_factory=list)
    missing: list = field(default_factory=list)
    depends_on: list = field(default_factory=list)


def parse_ab(text, source="<string>"):
    ab = AbText(source=str(source))
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        qualifier, _, value = line.partition(" ")
        value = value.strip()

        def fail(reason):
            raise AbFileError(f"{source}:{number}: {qualifier}: {reason}")

        try:
            if qualifier in SINGLE_BY_QUALIFIER:
                name, _, back = SINGLE_BY_QUALIFIER[qualifier]
                ab.fields[name] = back(value)
            elif qualifier == "INSTRUMENT":
                ab.instrument = value
            elif qualifier == "RECIPE_PARAM":
                ab.parameters.append(json.loads(value))
            elif qualifier == "RAW_MATCH_KEY":
                key, sep, encoded = value.partition("=")
                if not sep:
                    fail("expected KEY=value")
                ab.raw_match_key[key] = json.loads(encoded)
            elif qualifier == "RAWFILE":
                parts = value.split()
                if len(parts) < 2:
                    fail("expected ARCFILE and tag")
                ab.rawfiles.append((parts[0], parts[1]))
            elif qualifier == "MCALIB":
                parts = value.split()
                if len(parts) != 7:
                    fail("expected tag, kind, name, PRO.CATG, delta_t, level, source AB")
                tag, kind, name, pro_catg, delta, level, source_ab = parts
                if kind not in CalibrationKind.values:
                    fail(f"kind {kind!r} is not one of {', '.join(CalibrationKind.values)}")
                ab.calibrations.append((tag, kind, name, "" if pro_catg == "-" else pro_catg,
                                        float(delta), int(level),
                                        None if source_ab == "-" else source_ab))  # fmt: skip
            elif qualifier == "PRODUCT":
                parts = value.split()
                if len(parts) != 2:
                    fail("expected name and PRO.CATG")
                ab.products.append({"name": parts[0], "pro_catg": parts[1]})
            elif qualifier == "MISSING":
                ab.missing.append(value)
            elif qualifier == "DEPENDS_ON":
                ab.depends_on.append(value)
            else:
                fail("unknown qualifier")
        except (ValueError, json.JSONDecodeError) as exc:
            if isinstance(exc, AbFileError):
                raise
            fail(f"cannot read {value!r}: {exc}")
    for required in ("ab_name", "category", "raw_type", "mjd_obs"):
        if required not in ab.fields:
            qualifier = next(q for q, f, *_ in SINGLE if f == required)
            raise AbFileError(f"{source}: the AB has no {qualifier} line")
    if ab.fields["category"] not in AbCategory.values:
        raise AbFileError(f"{source}: DPR_CATG {ab.fields['category']!r} is not CALIB or SCIENCE")
    if not ab.rawfiles:
        raise AbFileError(f"{source}: the AB lists no RAWFILE")
    return ab


@dataclass
class AbImportResult:
    created: list = field(default_factory=list)
    updated: list = field(default_factory=list)
    kept_processed: list = field(default_factory=list)
    failed: list = field(default_factory=list)  # {"path", "reason"}


def import_abs(instance, paths, *, user=None, actor_name=None):
    """Create or update ABs from AB files (directories are searched for *.ab).

    Raw frames are found by ARCFILE, master calibrations by product name, virtual ones by
    the name of the AB that makes them (in the database or among the files imported).
    A file that cannot be resolved is reported by name and reason; the others import.
    """
    result = AbImportResult()
    texts = []
    for path in _ab_paths(paths, result):
        try:
            ab = parse_ab(Path(path).read_text(encoding="utf-8"), path)
        except (OSError, UnicodeDecodeError) as exc:
            result.failed.append({"path": str(path), "reason": f"cannot read: {exc}"})
            continue
        except AbFileError as exc:
            result.failed.append({"path": str(path), "reason": str(exc)})
            continue
        if ab.instrument and ab.instrument != instance.instrument:
            result.failed.append({"path": str(path), "reason": (
                f"INSTRUMENT {ab.instrument} is not the instrument of {instance.name}")})  # fmt: skip
            continue
        texts.append(ab)
    for text in _dependencies_first(texts):
        try:
            with transaction.atomic():
                outcome = _import_one(instance, text)
        except AbFileError as exc:
            result.failed.append({"path": text.source, "reason": str(exc)})
            continue
        getattr(result, outcome).append(text.fields["ab_name"])
    audit.record(
        "import_abs", user=user, actor_name=actor_name, obj=instance,
        message=(f"{len(result.created)} created, {len(result.updated)} updated, "
                 f"{len(result.kept_processed)} processed kept, {len(result.failed)} failed"),
        detail={"failed": result.failed[:100]},
    )  # fmt: skip
    return result


def _dependencies_first(texts):
    """The ABs in an order where every AB comes after the ABs whose products it uses."""
    by_name = {t.fields["ab_name"]: t for t in texts}
    ordered, state = [], {}

    def visit(text):
        name = text.fields["ab_name"]
        if state.get(name):
            return  # done, or on the current path (a cycle: the import reports it)
        state[name] = "visiting"
        needed = set(text.depends_on) | {c[6] for c in text.calibrations if c[6]}
        for other in sorted(needed):
            if other in by_name:
                visit(by_name[other])
        state[name] = "done"
        ordered.append(text)

    for text in sorted(texts, key=lambda t: (t.fields["mjd_obs"], t.fields["ab_name"])):
        visit(text)
    return ordered


def _ab_paths(paths, result):
    for given in paths:
        path = Path(given)
        if path.is_dir():
            yield from sorted(path.rglob(f"*{SUFFIX}"))
        elif path.is_file():
            yield path
        else:
            result.failed.append({"path": str(path), "reason": "no such file or directory"})


def _import_one(instance, text):
    name = text.fields["ab_name"]
    current = AssociationBlock.objects.filter(instance=instance, ab_name=name).first()
    if current is not None and current.status in PROCESSED_STATES:
        return "kept_processed"
    frames = dict(
        RawFrame.objects.filter(arcfile__in=[a for a, _ in text.rawfiles]).values_list("arcfile", "id")
    )
    unknown = [a for a, _ in text.rawfiles if a not in frames]
    if unknown:
        raise AbFileError(f"{text.source}: raw files not in the data pool: {', '.join(unknown[:5])}"
                          + (" …" if len(unknown) > 5 else ""))  # fmt: skip
    fields = dict(text.fields)
    fields.update(
        parameters=text.parameters, raw_match_key=text.raw_match_key,
        products_expected=text.products, missing=text.missing,
        status=AbStatus.CREATED if fields.get("status") in (None, "") else fields["status"],
        completeness=fields.get("completeness") or (
            Completeness.INCOMPLETE if text.missing else Completeness.COMPLETE),
        batch_label=fields.get("batch_label") or f"{fields['category']}_{fields.get('night') or ''}",
        mjd_obs_mod=fields.get("mjd_obs_mod", fields["mjd_obs"]),
        prod_root_name=fields.get("prod_root_name") or f"r.{name}",
    )  # fmt: skip
    if fields["status"] in PROCESSED_STATES:
        fields["status"] = AbStatus.CREATED  # an imported AB has not been processed here
    calibration_rows = [_resolve_calibration(instance, text, item) for item in text.calibrations]
    dependencies = list(
        AssociationBlock.objects.filter(instance=instance, ab_name__in=text.depends_on)
        .values_list("ab_name", "id")
    )
    missing_dependencies = set(text.depends_on) - {n for n, _ in dependencies}
    if missing_dependencies:
        raise AbFileError(f"{text.source}: DEPENDS_ON names unknown ABs: "
                          f"{', '.join(sorted(missing_dependencies))}")  # fmt: skip
    if current is None:
        ab = AssociationBlock.objects.create(instance=instance, **fields)
        outcome = "created"
    else:
        ab = current
        for key, value in fields.items():
            setattr(ab, key, value)
        ab.save()
        ab.inputs.all().delete()
        ab.calibrations.all().delete()
        ab.depends_on.clear()
        outcome = "updated"
    AbInput.objects.bulk_create([
        AbInput(ab=ab, frame_id=frames[arcfile], tag=tag, position=position)
        for position, (arcfile, tag) in enumerate(text.rawfiles)
    ])  # fmt: skip
    for position, row in enumerate(calibration_rows):
        row.ab, row.position = ab, position
    AbCalibration.objects.bulk_create(calibration_rows)
    ab.depends_on.set([pk for _, pk in dependencies])
    return outcome


def _resolve_calibration(instance, text, item):
    tag, kind, name, pro_catg, delta, level, source_name = item
    row = AbCalibration(tag=tag, kind=kind, name=name, pro_catg=pro_catg, delta_t=delta, level=level)
    if source_name:
        source = AssociationBlock.objects.filter(instance=instance, ab_name=source_name).first()
        if source is None:
            raise AbFileError(f"{text.source}: MCALIB {tag} comes from AB {source_name}, "
                              "which is neither in the database nor among the files")  # fmt: skip
        row.source_ab = source
    if kind == CalibrationKind.RAW:
        row.frame = RawFrame.objects.filter(arcfile=name).first()
        if row.frame is None:
            raise AbFileError(f"{text.source}: MCALIB {tag}: raw file {name} is not in the data pool")
    elif kind in (CalibrationKind.MASTER, CalibrationKind.STATIC):
        row.product = Product.objects.filter(name=name, instance__instrument=instance.instrument).first()
        if row.product is None:
            raise AbFileError(f"{text.source}: MCALIB {tag}: product {name} is not registered")
    return row
