"""PNG previews of FITS image products, as a QC scientist looks at them in ds9: the first 2-D
image HDU (a cube: the median over its first axis), ZScale + linear by default, other
stretches on request, NaNs black, FITS row 1 at the bottom.

No imaging library is needed: large images are block-averaged with numpy to about the size
shown (so a 4k × 4k frame renders in well under a second), the stretch comes from
astropy.visualization, and the grey-scale PNG is encoded with zlib (processing.qc.plots).
A rendered preview is cached under PHOENIX_DATA_ROOT/cache/previews/, keyed by product id,
file identity (md5, mtime, size) and the options, so a repeat is one file read.
"""

import hashlib
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.visualization import (
    AsinhStretch,
    LinearStretch,
    LogStretch,
    MinMaxInterval,
    PercentileInterval,
    SqrtStretch,
    ZScaleInterval,
)
from django.conf import settings

from processing.files import atomic_write
from processing.qc.plots import encode_png

#: ?stretch= → (the stretch, its default interval; None: ZScale)
STRETCHES = {
    "zscale": (LinearStretch, None),
    "minmax": (LinearStretch, "minmax"),
    "asinh": (AsinhStretch, 99.5),
    "log": (LogStretch, 99.5),
    "sqrt": (SqrtStretch, 99.5),
}
#: ?size= → the longest side of the PNG in pixels
SIZES = {"thumb": 160, "full": 800}
#: bump when the rendering changes, so cached PNGs of the old code are not served
VERSION = 1
FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fits.fz")


class PreviewError(Exception):
    """Why there is no preview; `status` 400 (bad options) or 422 (nothing to show)."""

    def __init__(self, message, status=422):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Options:
    stretch: str = "zscale"
    percentile: float | None = None
    size: str = "full"

    @classmethod
    def from_query(cls, query):
        """Options from ?stretch=&percentile=&size=; PreviewError(400) naming a bad value."""
        stretch = query.get("stretch") or "zscale"
        if stretch not in STRETCHES:
            raise PreviewError(f"stretch {stretch[:40]!r} is not one of "
                               f"{', '.join(STRETCHES)}", 400)  # fmt: skip
        size = query.get("size") or "full"
        if size not in SIZES:
            raise PreviewError(f"size {size[:40]!r} is not one of {', '.join(SIZES)}", 400)
        percentile = query.get("percentile") or None
        if percentile is not None:
            try:
                percentile = float(percentile)
            except ValueError:
                percentile = math.nan
            if not 50 <= percentile <= 100:  # NaN fails too
                raise PreviewError(f"percentile {query.get('percentile')[:40]!r} is not a "
                                   "number from 50 to 100", 400)  # fmt: skip
        return cls(stretch, percentile, size)

    @property
    def key(self):
        return f"{self.stretch}-{self.percentile}-{self.size}"


def is_fits(name):
    return str(name).lower().endswith(FITS_SUFFIXES)


def image_of(path, name):
    """The 2-D float32 image a preview shows; PreviewError naming `name` when there is none."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # astropy's notes on odd files; errors still raise
            with fits.open(path, memmap=True, lazy_load_hdus=True) as hdul:
                image = _first_image(hdul)
    except (OSError, ValueError, TypeError, IndexError, KeyError) as exc:
        reason = str(exc).replace(str(path), name)[:120]
        raise PreviewError(f"{name} is not a readable FITS file ({type(exc).__name__}: "
                           f"{reason})") from None  # fmt: skip
    if image is None:
        raise PreviewError(f"{name} has no 2-D image to preview")
    return image


def _first_image(hdul):
    """The first HDU with a 2-D image (or a cube: its median plane, as the eye averages it)."""
    for hdu in hdul:
        if not getattr(hdu, "is_image", False) or not hdu.header.get("NAXIS"):
            continue
        data = hdu.data
        if data is None:
            continue
        data = np.squeeze(data)
        if data.ndim == 3:
            return np.nanmedian(data.astype(np.float32), axis=0)
        if data.ndim == 2:
            return np.array(data, dtype=np.float32)
    return None


def reduce(image, longest):
    """Block-average so the longest side is about `longest` (NaNs ignored); enlarge a small
    image by pixel repetition so it is not a smudge in the browser."""
    factor = math.ceil(max(image.shape) / longest)
    if factor > 1:
        ny, nx = (image.shape[0] // factor) * factor, (image.shape[1] // factor) * factor
        blocks = image[:ny, :nx].reshape(ny // factor, factor, nx // factor, factor)
        finite = np.isfinite(blocks)
        counts = finite.sum(axis=(1, 3))
        sums = np.where(finite, blocks, 0).sum(axis=(1, 3), dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (sums / counts).astype(np.float32)  # an all-NaN block stays NaN
    grow = longest // max(image.shape)
    if grow > 1:
        return np.repeat(np.repeat(image, grow, axis=0), grow, axis=1)
    return image


def stretched(image, options, name):
    """0–255 grey levels of `image` under the options' interval and stretch."""
    finite = image[np.isfinite(image)]
    if finite.size == 0:
        raise PreviewError(f"{name} has no finite pixel values to preview")
    stretch, default = STRETCHES[options.stretch]
    choice = options.percentile or default
    if choice == "minmax":
        interval = MinMaxInterval()
    elif choice is None:
        interval = ZScaleInterval()
    else:
        interval = PercentileInterval(choice)
    low, high = interval.get_limits(finite)
    if not high > low:  # a flat image: mid grey, not a division by zero
        scaled = np.full(image.shape, 0.5)
    else:
        scaled = stretch()(np.clip((image - low) / (high - low), 0.0, 1.0), clip=True)
    grey = np.round(np.nan_to_num(scaled, nan=0.0) * 255).astype(np.uint8)
    grey[~np.isfinite(image)] = 0
    return grey[::-1]  # FITS row 1 at the bottom


def render(path, name, options):
    """PNG bytes of the preview of the FITS file at `path`."""
    image = reduce(image_of(path, name), SIZES[options.size])
    return encode_png(stretched(image, options, name))


def cache_path(product, path, options):
    """`<product id>-<the file's identity>-<the options>.png`: a changed file (or code) gets
    new names, and its product's older PNGs can be told apart and removed."""
    stat = Path(path).stat()
    identity = f"{VERSION}|{product.md5}|{stat.st_mtime_ns}|{stat.st_size}"
    made_of = hashlib.md5(identity.encode()).hexdigest()[:16]
    shown_as = hashlib.md5(options.key.encode()).hexdigest()[:8]
    return _cache_dir() / f"{product.pk}-{made_of}-{shown_as}.png"


def _cache_dir():
    return Path(settings.PHOENIX_DATA_ROOT) / "cache" / "previews"


def remove_orphans():
    """Remove the cached PNGs of products that are gone (replaced by a re-run, deleted):
    each PNG is named after its product's id, which neither database gives out again.
    Returns how many files were removed. Scheduled hourly (processing/schedules.py)."""
    from processing.models import Product
    from processing.queue.schedule import chunks

    directory = _cache_dir()
    if not directory.is_dir():
        return 0
    cached = {}  # product id → its PNGs
    for png in directory.glob("*.png"):
        head = png.name.split("-", 1)[0]
        if head.isdigit():
            cached.setdefault(int(head), []).append(png)
    existing = set()
    for part in chunks(cached):
        existing.update(Product.objects.filter(pk__in=part).values_list("pk", flat=True))
    removed = 0
    for pk in cached.keys() - existing:
        for png in cached[pk]:
            png.unlink(missing_ok=True)
            removed += 1
    return removed


def preview_png(product, path, options):
    """The cached PNG of `product` (its file resolved to `path`), rendered when not cached;
    PNGs of an earlier version of the file are removed when the new one is written."""
    cached = cache_path(product, path, options)
    try:
        return cached.read_bytes()
    except FileNotFoundError:
        pass
    png = render(path, product.name, options)
    atomic_write(cached, png)
    current = cached.name.rsplit("-", 1)[0] + "-"
    for stale in _cache_dir().glob(f"{product.pk}-*.png"):
        if not stale.name.startswith(current):
            stale.unlink(missing_ok=True)
    return png
