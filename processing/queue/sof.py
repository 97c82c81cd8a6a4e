"""The set of frames of an AB: its raw inputs and associated calibrations, as files."""

from pathlib import Path

from processing.choices import AbStatus, CalibrationKind
from processing.engine import SofEntry
from processing.models import Product


class SofError(Exception):
    """An input of the AB has no file; the message names the input, its tag and why."""


#: what the SOF needs of a calibration row and the frame, product or CALIB AB it names (the
#: frames' and products' header JSON stays in the database)
CALIBRATION_FIELDS = (
    "tag", "kind", "name", "pro_catg", "frame_id", "frame__path", "product_id",
    "product__path", "source_ab_id", "source_ab__ab_name", "source_ab__status",
)  # fmt: skip


def sof_entries(ab):
    """SofEntry per raw input and calibration of `ab`, in AB order. Raises SofError."""
    entries, problems = [], []
    inputs = ab.inputs.order_by("position").values_list("tag", "frame__path", "frame__arcfile")
    for tag, path, arcfile in inputs:
        if not path:
            problems.append(f"raw frame {arcfile} ({tag}) has no file: "
                            "its header was imported without the data")  # fmt: skip
            continue
        entries.append(SofEntry(Path(path), tag))
    for cal in ab.calibrations.order_by("position").values(*CALIBRATION_FIELDS):
        path, problem = _calibration_path(cal)
        if problem:
            problems.append(f"calibration {cal['name']} ({cal['tag']}): {problem}")
        else:
            entries.append(SofEntry(Path(path), cal["tag"]))
    for entry in entries:
        if not entry.path.is_file():
            problems.append(f"input file {entry.path} ({entry.tag}) does not exist")
    if problems:
        raise SofError("; ".join(problems))
    return entries


def _calibration_path(cal):
    """(path, "") of a calibration row (CALIBRATION_FIELDS), or (None, why it has none)."""
    if cal["kind"] == CalibrationKind.RAW:
        if cal["frame_id"] is None or not cal["frame__path"]:
            return None, "the raw frame has no file"
        return cal["frame__path"], ""
    if cal["kind"] in (CalibrationKind.MASTER, CalibrationKind.STATIC):
        if cal["product_id"] is None:
            return None, "the product is not in the registry"
        return cal["product__path"], ""
    if cal["source_ab_id"] is None:
        return None, "virtual calibration without the CALIB AB that makes it"
    source, status = cal["source_ab__ab_name"], cal["source_ab__status"]
    if status != AbStatus.SUCCESS:
        return None, f"CALIB AB {source} has not succeeded (it is {status})"
    made = (Product.objects.filter(ab_id=cal["source_ab_id"], pro_catg=cal["pro_catg"])
            .exclude(state="rejected").order_by("-id")
            .values_list("path", flat=True).first())  # fmt: skip
    if made is None:
        return None, f"CALIB AB {source} made no {cal['pro_catg']} product"
    return made, ""
