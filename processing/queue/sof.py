"""The set of frames of an AB: its raw inputs and associated calibrations, as files."""

from pathlib import Path

from processing.choices import AbStatus, CalibrationKind
from processing.engine import SofEntry
from processing.models import Product


class SofError(Exception):
    """An input of the AB has no file; the message names the input, its tag and why."""


def sof_entries(ab):
    """SofEntry per raw input and calibration of `ab`, in AB order. Raises SofError."""
    entries, problems = [], []
    for row in ab.inputs.select_related("frame").order_by("position"):
        path = row.frame.path
        if not path:
            problems.append(f"raw frame {row.frame.arcfile} ({row.tag}) has no file: "
                            "its header was imported without the data")  # fmt: skip
            continue
        entries.append(SofEntry(Path(path), row.tag))
    for cal in ab.calibrations.select_related("frame", "product", "source_ab").order_by("position"):
        path, problem = _calibration_path(cal)
        if problem:
            problems.append(f"calibration {cal.name} ({cal.tag}): {problem}")
        else:
            entries.append(SofEntry(Path(path), cal.tag))
    for entry in entries:
        if not entry.path.is_file():
            problems.append(f"input file {entry.path} ({entry.tag}) does not exist")
    if problems:
        raise SofError("; ".join(problems))
    return entries


def _calibration_path(cal):
    if cal.kind == CalibrationKind.RAW:
        if cal.frame is None or not cal.frame.path:
            return None, "the raw frame has no file"
        return cal.frame.path, ""
    if cal.kind in (CalibrationKind.MASTER, CalibrationKind.STATIC):
        if cal.product is None:
            return None, "the product is not in the registry"
        return cal.product.path, ""
    source = cal.source_ab
    if source is None:
        return None, "virtual calibration without the CALIB AB that makes it"
    if source.status != AbStatus.SUCCESS:
        return None, f"CALIB AB {source.ab_name} has not succeeded (it is {source.status})"
    made = (Product.objects.filter(ab=source, pro_catg=cal.pro_catg)
            .exclude(state="rejected").order_by("-id").first())  # fmt: skip
    if made is None:
        return None, f"CALIB AB {source.ab_name} made no {cal.pro_catg} product"
    return made.path, ""
