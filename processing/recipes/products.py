"""Inputs and products of the Python recipes: reading frames, parameters, product headers.

A product header is built as the ESO pipelines build theirs (irplib_dfs_product_save): the
primary header of the first raw frame, without its structure, DPR and ORIGFILE cards (a
product must not classify as the raw it came from) and, for calibrations, without its WCS;
then PIPEFILE, the PRO keywords (category, recipe, pipeline, raw and calibration inputs,
parameters) and the QC keywords. So products carry DET.DIT, DET.MODE.NAME, INS.OPTIi,
MJD-OBS … and the OCA rules match them as calibrations exactly as they match ESO's.

Every write is atomic: a temporary file in the output directory, then os.replace.
"""

import datetime as dt
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import astropy
import numpy as np
from astropy.io import fits
from astropy.utils.exceptions import AstropyWarning

from processing.recipes.errors import RecipeError

#: Version of the Python recipes: PRO.REC1.PIPE.ID = "phoenix/<VERSION>".
VERSION = "1.0.0"
PIPE_ID = f"phoenix/{VERSION}"
DRS_ID = f"numpy-{np.__version__}/astropy-{astropy.__version__}"
PRO_DID = "PRO-1.16"

_STRUCTURAL = re.compile(
    r"^(SIMPLE|XTENSION|BITPIX|NAXIS\d*|EXTEND|PCOUNT|GCOUNT|BSCALE|BZERO|BLANK|CHECKSUM|"
    r"DATASUM|EXTNAME|INHERIT|END)$"
)
_WCS = re.compile(
    r"^(WCSAXES|CTYPE\d|CRVAL\d|CRPIX\d|CDELT\d|CUNIT\d|CROTA\d|CD\d_\d|PC\d_\d|PV\d_\d+|"
    r"LONPOLE|LATPOLE)$"
)
_DROPPED = re.compile(r"^(ESO DPR |ESO PRO |ESO QC |ORIGFILE$|PIPEFILE$|DATE$)")


# --- input frames --------------------------------------------------------------------------


@dataclass
class Frame:
    """One input of the SOF, read: primary header and 2-D image (float32)."""

    path: Path
    tag: str
    header: fits.Header
    data: np.ndarray

    @property
    def name(self):
        return self.path.name

    def what(self):
        return f"{self.path} (tag {self.tag})"

    def get(self, key, default=None):
        """A header value by its FITS name ('ESO DET DIT'); unparsable cards give default."""
        try:
            return self.header.get(key, default)
        except (fits.VerifyError, ValueError):
            return default

    def number(self, key, what=None):
        """A numeric header value; RecipeError naming the file when missing or not a number."""
        value = self.get(key)
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not number or not np.isfinite(value):
            raise RecipeError(
                f"input {self.what()} has no usable {what or key} (HIERARCH {key} is "
                f"{'missing' if value is None else repr(value)})"
            )
        return float(value)

    def text(self, key, default=""):
        value = self.get(key, default)
        return str(value).strip() if value is not None else default


def read_frame(entry, log=None, image=True):
    """Read a SofEntry into a Frame; RecipeError with the reason when it is not usable.

    A truncated file, a file that is not FITS, a primary HDU without a 2-D image (a cube, a
    table) are errors; non-finite pixels are kept (the recipes treat them as bad pixels).
    """
    path, tag = Path(entry.path), entry.tag
    if not path.is_file():
        raise RecipeError(f"input {path} (tag {tag}) does not exist")
    problems = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with fits.open(path, memmap=False, lazy_load_hdus=False) as hdul:
                header = hdul[0].header.copy()
                data = hdul[0].data if image else None
                if data is None and image and len(hdul) > 1 and hdul[1].is_image:
                    data = hdul[1].data
                if data is not None:
                    data = np.array(data, dtype=np.float32)
        problems = [str(w.message) for w in caught if "truncated" in str(w.message).lower()]
    except (OSError, ValueError, TypeError, IndexError, fits.VerifyError) as exc:
        raise RecipeError(f"input {path} (tag {tag}) is not a readable FITS file: {exc}") from exc
    if problems:
        raise RecipeError(f"input {path} (tag {tag}) is truncated: {problems[0]}")
    if image:
        if data is None:
            raise RecipeError(f"input {path} (tag {tag}) has no image data")
        if data.ndim == 3 and data.shape[0] == 1:
            data = data[0]
        if data.ndim != 2:
            raise RecipeError(
                f"input {path} (tag {tag}) holds a {data.ndim}-D array of shape "
                f"{data.shape}; the Python recipes take 2-D images only (no cubes)"
            )
        bad = int(np.count_nonzero(~np.isfinite(data)))
        if bad and log is not None:
            log.warning("%s: %d non-finite pixels, treated as bad", path.name, bad)
    return Frame(path, tag, header, data)


def check_same(frames, keys, what):
    """RecipeError if the frames differ in any of `keys` (FITS names) or in image shape."""
    if not frames:
        return
    first = frames[0]
    for frame in frames[1:]:
        images = first.data is not None and frame.data is not None
        if images and frame.data.shape != first.data.shape:
            raise RecipeError(
                f"{what}: {frame.what()} is {_shape(frame)} but {first.what()} is "
                f"{_shape(first)}; all must have the same size"
            )
        for key in keys:
            a, b = first.get(key), frame.get(key)
            if isinstance(a, str) or isinstance(b, str):
                same = str(a).strip() == str(b).strip()
            else:
                same = a == b or (a is not None and b is not None and np.isclose(a, b))
            if not same:
                raise RecipeError(
                    f"{what}: {frame.what()} has {key} = {b!r} but {first.what()} has "
                    f"{a!r}; a reduction needs them equal"
                )


def _shape(frame):
    ny, nx = frame.data.shape
    return f"{nx}×{ny} pixels"


# --- parameters ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """A recipe parameter as esorex knows it: name, default text, description, and the
    parser of its text value (names of kinds: bool, int, float, str, ints:N, floats:N)."""

    name: str
    default: str
    description: str
    kind: str = "str"
    used: bool = True  # False: accepted for compatibility, has no effect here


def _parse(param, text):
    kind = param.kind
    text = text.strip()
    try:
        if kind == "bool":
            lowered = text.lower()
            if lowered in ("true", "t", "1", "yes", "y"):
                return True
            if lowered in ("false", "f", "0", "no", "n"):
                return False
            raise ValueError("expected TRUE or FALSE")
        if kind == "int":
            return int(text)
        if kind == "float":
            value = float(text)
            if not np.isfinite(value):
                raise ValueError("not a finite number")
            return value
        if kind.startswith(("ints:", "floats:")):
            base, count = kind.split(":")
            parts = text.replace(",", " ").split()
            if len(parts) != int(count):
                raise ValueError(f"expected {count} numbers separated by spaces")
            convert = int if base == "ints" else float
            return tuple(convert(part) for part in parts)
        return text
    except ValueError as exc:
        raise RecipeError(f"parameter --{param.name}={text!r}: {exc}") from exc


def _canonical(param, value, text):
    """The value as the ESO recipes print it in PRO.REC1.PARAMi.VALUE: booleans as true or
    false, numbers as %g, lists (string parameters for CPL) as given."""
    if param.kind == "bool":
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return " ".join(text.split())
    return str(value)


@dataclass
class Parameters:
    """Parsed options: `values` by name; `items` [(name, value as ESO prints it, description)]
    in declaration order, for PRO.REC1.PARAMi."""

    values: dict
    items: list = field(default_factory=list)

    def __getitem__(self, name):
        return self.values[name]


def parse_options(recipe, specs, options, log):
    """Options (name → text) → Parameters; unknown names are logged and ignored, unused
    ones (accepted for esorex compatibility) logged when they differ from the default."""
    known = {param.name: param for param in specs}
    given = {}
    for name, text in options.items():
        short = name.rsplit(".", 1)[-1]  # esorex also accepts naco.<recipe>.<name>
        if short not in known:
            log.warning("unknown parameter --%s=%s ignored (%s does not have it)", name, text,
                        recipe)
            continue
        given[short] = text
    values, items = {}, []
    for param in specs:
        text = given.get(param.name, param.default)
        value = _parse(param, text)
        values[param.name] = value
        items.append((param.name, _canonical(param, value, text), param.description))
        if not param.used and param.name in given and text.strip() != param.default:
            log.warning("parameter --%s=%s has no effect in the Python recipe", param.name,
                        text)
    return Parameters(values, items)


# --- products ------------------------------------------------------------------------------


@dataclass
class Product:
    """What to write: category, image (and extensions), QC keywords."""

    catg: str
    data: np.ndarray
    qc: list = field(default_factory=list)  # [(name after "ESO QC ", value, comment)]
    extensions: list = field(default_factory=list)  # [fits.ImageHDU]
    extra: list = field(default_factory=list)  # [(key, value, comment)] e.g. WCS cards


def file_name(catg):
    return f"{catg.lower()}.fits"


def product_header(recipe, catg, raws, calibrations, parameters, qc, *, keep_wcs=False,
                   extra=(), log=None, first_catg=None):
    """The primary header of a product (see the module docstring)."""
    first = raws[0]
    header = fits.Header()
    skipped = []
    for card in first.header.cards:
        key = card.keyword
        if not key or _STRUCTURAL.match(key) or _DROPPED.match(key):
            continue
        if not keep_wcs and _WCS.match(key):
            continue
        try:
            value = card.value
        except (fits.VerifyError, ValueError):
            skipped.append(key)
            continue
        if key == "RADECSYS":
            key = "RADESYS"
            if "RADESYS" in header:
                continue
        if key == "COMMENT":
            header.add_comment(value)
            continue
        if key == "HISTORY":
            header.add_history(value)
            continue
        _set(header, key, value, card.comment)
    if skipped and log is not None and first_catg in (None, catg):
        log.warning("%s: header cards %s are not valid FITS; the products do not copy them",
                    first.name, ", ".join(skipped))
    _set(header, "DATE", dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"),
         "file creation date (YYYY-MM-DDThh:mm:ss UT)")
    airmass = [f.get("AIRMASS") for f in raws]
    airmass = [a for a in airmass if isinstance(a, (int, float)) and not isinstance(a, bool)]
    if len(airmass) > 1:
        _set(header, "AIRMASS", float(np.mean(airmass)), "Averaged air mass")
    for key, value, comment in extra:
        _set(header, key, value, comment)
    _set(header, "PIPEFILE", file_name(catg), "Filename of data product")
    tech = first.text("ESO DPR TECH") or "UNDEFINED"
    science = first.text("ESO DPR CATG") == "SCIENCE"
    pro = [
        ("CATG", catg, "Category of pipeline product frame"),
        ("ANCESTOR", first.name, "Inherited file name"),
        ("DID", PRO_DID, "Data dictionary for PRO"),
        ("TYPE", "REDUCED", "Product type"),
        ("TECH", tech, "Observation technique"),
        ("SCIENCE", science, "Scientific product if T"),
        ("REC1 ID", recipe, "Pipeline recipe (unique) identifier"),
        ("REC1 DRS ID", DRS_ID, "Data Reduction System identifier"),
        ("REC1 PIPE ID", PIPE_ID, "Pipeline (unique) identifier"),
    ]
    for index, frame in enumerate(raws, start=1):
        pro.append((f"REC1 RAW{index} NAME", frame.name, "File name of raw frame"))
        pro.append((f"REC1 RAW{index} CATG", frame.tag, "Category of raw frame"))
    pro.append(("DATANCOM", len(raws), "Number of combined frames"))
    for index, frame in enumerate(calibrations, start=1):
        pro.append((f"REC1 CAL{index} NAME", frame.name, "File name of calibration frame"))
        pro.append((f"REC1 CAL{index} CATG", frame.tag, "Category of calibration frame"))
    for index, (name, value, description) in enumerate(parameters.items, start=1):
        pro.append((f"REC1 PARAM{index} NAME", name, description))
        pro.append((f"REC1 PARAM{index} VALUE", value, ""))
    for key, value, comment in pro:
        _set(header, f"ESO PRO {key}", value, comment)
    for name, value, comment in qc:
        _set(header, f"ESO QC {name}", _plain(value), comment)
    return header


def _plain(value):
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def _set(header, key, value, comment=""):
    """Set a card; a comment that does not fit is shortened (or dropped), as ESO's are,
    rather than letting astropy warn."""
    value = _plain(value)
    name = key if len(key) <= 8 and " " not in key else f"HIERARCH {key}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyWarning)
        card = fits.Card(name, value)
        room = 80 - len(card.image.rstrip()) - 3
        if comment and room >= 4 and len(card.image) <= 80:
            card = fits.Card(name, value, comment[:room].rstrip())
        if key in header:
            header[key] = (value, card.comment)
        else:
            header.append(card, end=True)


def write_products(recipe, products, raws, calibrations, parameters, output_dir, log,
                   keep_wcs=False):
    """Write each Product atomically as <catg lower-case>.fits; return the paths."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for product in products:
        header = product_header(recipe, product.catg, raws, calibrations, parameters, product.qc,
                                keep_wcs=keep_wcs, extra=product.extra, log=log,
                                first_catg=products[0].catg)
        primary = fits.PrimaryHDU(data=product.data, header=header)
        path = output_dir / file_name(product.catg)
        write_atomic(fits.HDUList([primary, *product.extensions]), path)
        log.info("wrote %s (%s)", path.name, product.catg)
        paths.append(path)
    return paths


def write_atomic(hdul, path):
    """Write an HDUList to `path` through a temporary file and os.replace."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AstropyWarning)
            hdul.writeto(temporary, overwrite=True, checksum=True, output_verify="silentfix")
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()
    return path
