"""QC1 parameters of one product file: its header's QC keywords and, for the categories we
know, numbers computed on its pixels (processing/qc/measure.py).

Computed names all start with `QC.PHX.` so they can never be mistaken for (or collide with)
what a pipeline recipe writes; docs/QC.md lists them with their definitions.
"""

import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from processing.headers import HeaderError, oca_name, read_fits, split_card
from processing.layout import data_root
from processing.qc import measure

HEADER = "header"
COMPUTED = "computed"

#: Thumbnails are block-averaged to at most this many pixels on the long side.
THUMBNAIL_SIZE = 128
HISTOGRAM_BINS = 80


@dataclass
class Measurement:
    name: str
    value: float | None
    unit: str = ""
    source: str = COMPUTED
    description: str = ""


@dataclass
class ProductQc:
    """What the QC job learnt from one product file."""

    product: object  # processing.models.Product
    path: Path
    pro_catg: str
    keywords: dict = field(default_factory=dict)  # header keywords (OCA names) for rules
    measurements: list = field(default_factory=list)
    thumbnail: object = None  # small 2-D float32 array, or None without an image
    histogram: tuple | None = None  # (counts, bin edges)
    shape: tuple | None = None
    warnings: list = field(default_factory=list)
    error: str = ""  # set when the file could not be read: nothing else is


def product_path(product):
    path = Path(product.path)
    return path if path.is_absolute() else data_root() / path


# --- header ------------------------------------------------------------------------------

_UNIT = re.compile(r"^\s*\[([^\]]{1,20})\]\s*(.*)$|^(.*?)\s*\[([^\]]{1,20})\]\s*$")
_STRING_VALUE = re.compile(r"^\s*'(?:[^']|'')*'(?P<after>.*)$", re.DOTALL)


def _comment(value_text):
    """The comment of a card's value field (after the '/' that follows the value)."""
    match = _STRING_VALUE.match(value_text)
    rest = match["after"] if match else value_text
    return rest.split("/", 1)[1].strip() if "/" in rest else ""


def unit_and_description(comment):
    """ESO comments give the unit in brackets, first or last: "[ADU] median level"."""
    match = _UNIT.match(comment or "")
    if not match:
        return "", comment or ""
    if match.group(1) is not None:
        return match.group(1).strip(), match.group(2).strip()
    return match.group(4).strip(), match.group(3).strip()


def header_measurements(read):
    """Numeric `HIERARCH ESO QC …` keywords as Measurements (text values are context, not
    QC1 numbers, and are left out; NaN cards give a value of None)."""
    comments = {}
    for card in read.cards:
        keyword, value_text, hierarch = split_card(card)
        if hierarch and value_text is not None and keyword.startswith("ESO QC "):
            comments[oca_name(keyword)] = _comment(value_text)
    found = []
    for name, value in read.keywords.items():
        if not name.startswith("QC."):
            continue
        if isinstance(value, bool):
            value = float(value)
        elif isinstance(value, (int, float)):
            value = float(value) if math.isfinite(value) else None
        elif value is None:
            pass  # NaN or blank card: the reader warned
        else:
            continue
        unit, description = unit_and_description(comments.get(name, ""))
        found.append(Measurement(name, value, unit, HEADER, description[:200]))
    return found


# --- pixels ------------------------------------------------------------------------------


def read_image(path):
    """The first 2-D image of the file as float64 (the first plane of a cube), or None."""
    from astropy.io import fits

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(path, memmap=False) as hdus:
            for hdu in hdus:
                if not getattr(hdu, "is_image", False) or hdu.data is None:
                    continue
                data = np.asarray(hdu.data)
                if data.ndim < 2:
                    continue
                while data.ndim > 2:
                    data = data[0]
                return data.astype(np.float64)
    return None


def thumbnail(data, size=THUMBNAIL_SIZE):
    """Block-average to at most `size` pixels on the long side (float32, NaN-aware)."""
    factor = max(1, math.ceil(max(data.shape) / size))
    if factor == 1:
        return data.astype(np.float32)
    ny, nx = (-(-n // factor) for n in data.shape)
    padded = np.full((ny * factor, nx * factor), np.nan)
    padded[: data.shape[0], : data.shape[1]] = data
    tiles = padded.reshape(ny, factor, nx, factor)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(tiles, axis=(1, 3)).astype(np.float32)


def histogram(data, bins=HISTOGRAM_BINS):
    """Pixel histogram between the 0.5 and 99.5 percentiles (outliers would flatten it)."""
    values = measure.finite_values(data)
    if values.size == 0:
        return None
    low, high = np.percentile(values, [0.5, 99.5])
    if not high > low:
        low, high = low - 0.5, high + 0.5
    counts, edges = np.histogram(values, bins=bins, range=(low, high))
    return counts, edges


def _m(name, value, unit, description):
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        value = None
    return Measurement(name, None if value is None else float(value), unit, COMPUTED,
                       description)


def measure_dark(data, keywords):
    stats = measure.dark_stats(data)
    ndit = keywords.get("DET.NDIT")
    ncombined = keywords.get("PRO.DATANCOM")
    factor, used = 1.0, []
    for label, number in (("DET.NDIT", ndit), ("PRO.DATANCOM", ncombined)):
        if isinstance(number, (int, float)) and not isinstance(number, bool) and number >= 1:
            factor *= float(number)
            used.append(f"{label}={number:g}")
        else:
            used.append(f"{label} unknown (1)")
    ron = stats.noise * math.sqrt(factor) if math.isfinite(stats.noise) else None
    return [
        _m("QC.PHX.DARK.MEDIAN", stats.median, "ADU", "median level of the master dark"),
        _m("QC.PHX.DARK.NOISE", stats.noise, "ADU",
           "pixel noise of the master dark (MAD of adjacent-pixel differences / sqrt 2)"),
        _m("QC.PHX.DARK.RON", ron, "ADU",
           "read noise per DIT: pixel noise x sqrt(NDIT x frames combined); " + ", ".join(used)),
        _m("QC.PHX.DARK.NHOT", stats.hot, "",
           f"hot pixels: > {measure.HOT_SIGMA:g} sigma above the row/column-corrected level"),
        _m("QC.PHX.DARK.HOTFRAC", stats.hot_fraction, "", "fraction of hot pixels"),
    ]


def measure_flat(data, keywords):
    stats = measure.flat_stats(data)
    return [
        _m("QC.PHX.FLAT.MEDIAN", stats.median, "", "median of the master flat"),
        _m("QC.PHX.FLAT.LSS", stats.large_scale, "",
           "large-scale structure: rms of the block medians of the normalised flat"),
        _m("QC.PHX.FLAT.SSN", stats.small_scale, "",
           "small-scale (pixel-to-pixel) noise: MAD sigma of flat / block-smoothed flat - 1"),
        _m("QC.PHX.FLAT.NBAD", stats.bad, "",
           f"bad pixels: small-scale residual beyond {measure.BAD_SIGMA:g} sigma"),
        _m("QC.PHX.FLAT.BADFRAC", stats.bad_fraction, "", "fraction of bad pixels"),
    ]


def measure_image(data, keywords):
    stats = measure.image_stats(data)
    found = [
        _m("QC.PHX.IMG.BKG", stats.background, "ADU", "background: sigma-clipped median"),
        _m("QC.PHX.IMG.NOISE", stats.noise, "ADU", "background noise: sigma-clipped MAD sigma"),
        _m("QC.PHX.IMG.NSTARS", stats.star_count, "",
           f"point sources above {measure.DETECT_SIGMA:g} sigma"),
        _m("QC.PHX.IMG.FWHM", stats.fwhm, "pixel",
           "median FWHM of the stars (circular Gaussian fits)"),
    ]
    scale = keywords.get("INS.PIXSCALE")
    if stats.fwhm is not None and isinstance(scale, (int, float)) and scale > 0:
        found.append(_m("QC.PHX.IMG.FWHMARC", stats.fwhm * float(scale), "arcsec",
                        f"median FWHM of the stars x INS.PIXSCALE ({scale:g} arcsec/pixel)"))
    return found


#: PRO.CATG → the computed parameters of its products. Other categories: header QC only.
MEASURES = {
    "NACO_IMG_DARK_AVG": measure_dark,
    "MASTER_IMG_FLAT": measure_flat,
    "COADDED_IMG": measure_image,
}


def extract_product(product):
    """Read one product file; never raises (a problem becomes ProductQc.error or warnings)."""
    path = product_path(product)
    result = ProductQc(product=product, path=path, pro_catg=product.pro_catg)
    try:
        read = read_fits(path)
    except HeaderError as exc:
        result.error = f"{path}: {exc}"
        return result
    except OSError as exc:
        result.error = f"{path}: cannot read: {exc.strerror or exc}"
        return result
    result.keywords = {**(product.keywords or {}), **read.keywords}
    result.pro_catg = (product.pro_catg or str(read.keywords.get("PRO.CATG") or "")).strip()
    result.warnings += [f"{path.name}: {w}" for w in read.warnings if w.startswith("QC.")]
    result.measurements = header_measurements(read)
    try:
        data = read_image(path)
    except Exception as exc:  # noqa: BLE001 — astropy raises many kinds for a damaged file
        result.error = f"{path}: cannot read the image: {exc}"
        return result
    if data is None:
        return result
    result.shape = data.shape
    result.thumbnail = thumbnail(data)
    result.histogram = histogram(data)
    compute = MEASURES.get(result.pro_catg)
    if compute is not None:
        try:
            result.measurements += compute(data, result.keywords)
        except Exception as exc:  # noqa: BLE001 — a measurement bug must not cost the rest
            result.warnings.append(f"{path.name}: computing the {result.pro_catg} "
                                   f"parameters failed: {type(exc).__name__}: {exc}")
    return result
