"""Aperture photometry, numpy only: the flux of a star in a circular aperture with the
background of an annulus around it removed, and where the brightest star of a frame is.

Pixels count whole when their centre is inside the circle: with the apertures used here (tens
of pixels in radius) the difference to exact pixel-fraction weighting is far below the noise.
Star detection, centring and the PSF fit on the science image are processing.qc.measure's.
"""

import math
from dataclasses import dataclass

import numpy as np

from processing.qc.measure import clipped_stats

#: Box (pixels) the frame is smoothed with before its brightest point is taken for the star:
#: a single hot pixel or cosmic ray cannot win against a star's core.
SMOOTH_BOX = 5


@dataclass
class Aperture:
    flux: float  # sum in the circle minus the annulus background × pixels
    pixels: int
    background: float  # per pixel, from the annulus


def fits_inside(shape, x, y, radius):
    """Whether a circle of `radius` around (x, y) (0-based) lies inside an image of `shape`."""
    ny, nx = shape
    return radius <= x <= nx - 1 - radius and radius <= y <= ny - 1 - radius


def aperture(image, x, y, radius, annulus=None):
    """Aperture of `radius` pixels around (x, y), 0-based column and row; the background is
    the clipped median of the finite pixels between annulus = (inner, outer) radii, or 0 when
    no annulus is given (a sky-subtracted image). None when the circle holds a non-finite
    pixel or the annulus too few pixels."""
    outer = annulus[1] if annulus else radius
    ny, nx = image.shape
    r0, r1 = max(int(math.floor(y - outer)), 0), min(int(math.ceil(y + outer)) + 1, ny)
    c0, c1 = max(int(math.floor(x - outer)), 0), min(int(math.ceil(x + outer)) + 1, nx)
    box = image[r0:r1, c0:c1]
    rows, cols = np.mgrid[r0:r1, c0:c1]
    distance = np.hypot(cols - x, rows - y)
    inside = distance <= radius
    if not np.isfinite(box[inside]).all():
        return None
    background = 0.0
    if annulus:
        ring = (distance > annulus[0]) & (distance <= annulus[1]) & np.isfinite(box)
        if np.count_nonzero(ring) < 20:
            return None
        background, _ = clipped_stats(box[ring])
    pixels = int(np.count_nonzero(inside))
    return Aperture(float(box[inside].sum() - background * pixels), pixels, float(background))


def brightest_point(image):
    """(x, y) 0-based of the maximum of the image smoothed by a SMOOTH_BOX box."""
    data = np.nan_to_num(np.asarray(image, dtype=np.float64), nan=0.0)
    half = SMOOTH_BOX // 2
    padded = np.pad(data, half, mode="edge")
    summed = np.cumsum(np.cumsum(padded, axis=0), axis=1)
    summed = np.pad(summed, ((1, 0), (1, 0)))
    box = (summed[SMOOTH_BOX:, SMOOTH_BOX:] - summed[:-SMOOTH_BOX, SMOOTH_BOX:]
           - summed[SMOOTH_BOX:, :-SMOOTH_BOX] + summed[:-SMOOTH_BOX, :-SMOOTH_BOX])  # fmt: skip
    row, col = np.unravel_index(int(np.argmax(box)), box.shape)
    return float(col), float(row)


def magnitude(flux):
    return -2.5 * math.log10(flux)
