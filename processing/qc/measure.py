"""QC measurements on product pixels, numpy only (no scipy, no photutils).

Every function takes a 2-D array (any dtype; NaN and ±inf pixels are ignored) and returns
plain floats/ints, so it can be tested on synthetic images with a known truth. How each
number is defined is documented in docs/QC.md; the definitions are kept here in one place.
"""

import math
from dataclasses import dataclass

import numpy as np

#: MAD → Gaussian standard deviation.
MAD_TO_SIGMA = 1.482602218505602
#: Gaussian σ → FWHM.
SIGMA_TO_FWHM = 2.0 * math.sqrt(2.0 * math.log(2.0))
#: Statistics on more pixels than this use a regular subsample (every k-th pixel): a median
#: of 16 M pixels costs seconds and says nothing more than one of 4 M.
MAX_STAT_PIXELS = 4_000_000
#: Hot pixel: more than this many noise σ above the pattern-corrected dark level.
HOT_SIGMA = 10.0
#: Flat: bad pixel if its small-scale residual exceeds this many small-scale σ.
BAD_SIGMA = 5.0
#: Flat: the image is binned into about this many blocks per axis for the large-scale structure.
FLAT_BLOCKS = 16
#: Coadd: a star's peak must exceed the local background by this many noise σ.
DETECT_SIGMA = 5.0
#: Coadd: at most this many of the brightest stars are fitted for the FWHM.
MAX_FIT_STARS = 40
#: Coadd: sources sharper than this FWHM (pixels) are cosmetic defects (hot pixels, cosmic
#: rays, bad-pixel residuals), not stars: no optics images a star into less than a pixel.
MIN_FWHM = 1.0
#: Coadd: the FWHM is the median over the stars peaking at least this many σ above the
#: background (over all fitted stars if there are none that bright).
FWHM_SNR = 20.0


def finite_values(data):
    """The finite pixels as a 1-D float64 array (subsampled above MAX_STAT_PIXELS)."""
    values = np.asarray(data, dtype=np.float64).ravel()
    if values.size > MAX_STAT_PIXELS:
        values = values[:: math.ceil(values.size / MAX_STAT_PIXELS)]
    return values[np.isfinite(values)]


def robust_sigma(values):
    """σ from the median absolute deviation (NaN for no values)."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return math.nan
    return float(MAD_TO_SIGMA * np.median(np.abs(values - np.median(values))))


def clipped_stats(data, nsigma=3.0, iterations=5):
    """(median, σ) of the finite pixels after iterative nsigma clipping around the median."""
    values = finite_values(data)
    if values.size == 0:
        return math.nan, math.nan
    median, sigma = float(np.median(values)), robust_sigma(values)
    for _ in range(iterations):
        if not sigma > 0:
            break
        kept = values[np.abs(values - median) <= nsigma * sigma]
        if kept.size == values.size or kept.size < 10:
            break
        values = kept
        median, sigma = float(np.median(values)), robust_sigma(values)
    return median, sigma


def neighbour_noise(data):
    """Pixel-to-pixel noise: MAD σ of the differences of adjacent pixels, divided by √2.

    Column (row) patterns cancel in differences along a column (row), smooth structure
    cancels in both, and outliers (hot pixels, stars) do not move a MAD; the smaller of the
    two directions is taken because a pattern can only add to the noise.
    """
    data = np.asarray(data, dtype=np.float64)
    sigmas = []
    for axis in (0, 1):
        if data.shape[axis] < 2:
            continue
        diff = np.diff(data, axis=axis).ravel()
        diff = finite_values(diff)
        if diff.size:
            sigmas.append(robust_sigma(diff) / math.sqrt(2.0))
    return min(sigmas) if sigmas else math.nan


# --- master dark -------------------------------------------------------------------------


@dataclass
class DarkStats:
    median: float
    noise: float  # pixel noise of the product, ADU
    hot: int  # hot pixels
    hot_fraction: float


def dark_stats(data):
    """Median level, pixel noise and hot pixels of a master dark.

    Hot pixels are counted on the image minus its column medians and then its row medians
    (the read-out patterns), above HOT_SIGMA × the pixel noise.
    """
    data = np.asarray(data, dtype=np.float64)
    values = finite_values(data)
    median = float(np.median(values)) if values.size else math.nan
    noise = neighbour_noise(data)
    with np.errstate(all="ignore"), _quiet_all_nan():
        residual = data - np.nanmedian(data, axis=0, keepdims=True)
        residual = residual - np.nanmedian(residual, axis=1, keepdims=True)
    finite = np.isfinite(residual)
    if noise > 0:
        hot = int(np.count_nonzero(residual[finite] > HOT_SIGMA * noise))
    else:
        hot = 0
    total = int(np.count_nonzero(finite))
    return DarkStats(median, noise, hot, hot / total if total else math.nan)


# --- master flat -------------------------------------------------------------------------


@dataclass
class FlatStats:
    median: float
    large_scale: float  # rms of the block medians of the normalised flat
    small_scale: float  # MAD σ of the normalised flat divided by its block-median smoothing
    bad: int
    bad_fraction: float


def block_medians(data, block):
    """Median of each block×block tile (the incomplete last row/column of tiles included)."""
    ny, nx = data.shape
    by, bx = -(-ny // block), -(-nx // block)
    padded = np.full((by * block, bx * block), np.nan)
    padded[:ny, :nx] = data
    tiles = padded.reshape(by, block, bx, block).transpose(0, 2, 1, 3).reshape(by, bx, -1)
    with np.errstate(all="ignore"), _quiet_all_nan():
        return np.nanmedian(tiles, axis=2)


def flat_stats(data):
    """Level, large-scale structure, small-scale noise and bad pixels of a master flat."""
    data = np.asarray(data, dtype=np.float64)
    values = finite_values(data)
    values = values[values > 0]
    median = float(np.median(values)) if values.size else math.nan
    if not median > 0:
        return FlatStats(median, math.nan, math.nan, 0, math.nan)
    normalised = np.where(np.isfinite(data), data / median, np.nan)
    block = max(4, min(data.shape) // FLAT_BLOCKS)
    blocks = block_medians(normalised, block)
    finite_blocks = blocks[np.isfinite(blocks)]
    large = float(np.std(finite_blocks)) if finite_blocks.size > 1 else math.nan
    smooth = np.repeat(np.repeat(blocks, block, axis=0), block, axis=1)[: data.shape[0],
                                                                         : data.shape[1]]
    with np.errstate(all="ignore"):
        residual = normalised / smooth - 1.0
    finite = np.isfinite(residual)
    small = robust_sigma(finite_values(residual))
    bad = int(np.count_nonzero(np.abs(residual[finite]) > BAD_SIGMA * small)) if small > 0 else 0
    total = int(np.count_nonzero(finite))
    return FlatStats(median, large, small, bad, bad / total if total else math.nan)


# --- coadded image -----------------------------------------------------------------------


@dataclass
class Star:
    x: float  # 0-based column of the fitted centre
    y: float  # 0-based row
    peak: float  # above the local background
    fwhm: float | None  # pixels, None when the fit failed


@dataclass
class ImageStats:
    background: float
    noise: float
    stars: list
    fwhm: float | None  # median over the fitted stars, pixels

    @property
    def star_count(self):
        return len(self.stars)


def local_maxima(data, threshold):
    """(rows, columns) of pixels above threshold that exceed their 8 neighbours (of equal
    neighbours, the last in reading order counts)."""
    padded = np.pad(np.where(np.isfinite(data), data, -np.inf), 1, constant_values=-np.inf)
    centre = padded[1:-1, 1:-1]
    peak = centre > threshold
    ny, nx = data.shape
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy == dx == 0:
                continue
            neighbour = padded[1 + dy : 1 + dy + ny, 1 + dx : 1 + dx + nx]
            peak &= centre > neighbour if (dy, dx) > (0, 0) else centre >= neighbour
    return np.nonzero(peak)


def fit_gaussian(stamp, x0, y0, sigma0, iterations=40):
    """Least-squares fit of c + A·exp(−r²/2σ²) (circular) to a stamp, Levenberg–Marquardt.

    Returns (x, y, sigma, amplitude) in stamp coordinates, or None when it does not converge
    to something star-like (σ outside 0.2…stamp size, centre off by more than 2 pixels).
    """
    ny, nx = stamp.shape
    yy, xx = np.mgrid[0:ny, 0:nx]
    good = np.isfinite(stamp)
    if np.count_nonzero(good) < 8:
        return None
    x, y, z = xx[good].astype(float), yy[good].astype(float), stamp[good].astype(float)
    border = np.median(np.concatenate([stamp[0], stamp[-1], stamp[1:-1, 0], stamp[1:-1, -1]]))
    if not np.isfinite(border):
        border = float(np.nanmin(z))
    p = np.array([float(np.nanmax(z) - border), float(x0), float(y0), float(sigma0),
                  float(border)])

    def model(p):
        r2 = (x - p[1]) ** 2 + (y - p[2]) ** 2
        e = np.exp(-r2 / (2.0 * p[3] ** 2))
        return p[4] + p[0] * e, e, r2

    value, e, r2 = model(p)
    chi2 = float(np.sum((z - value) ** 2))
    lam = 1e-3
    for _ in range(iterations):
        a, s = p[0], p[3]
        jac = np.column_stack([e, a * e * (x - p[1]) / s**2, a * e * (y - p[2]) / s**2,
                               a * e * r2 / s**3, np.ones_like(z)])
        jtj = jac.T @ jac
        grad = jac.T @ (z - value)
        try:
            step = np.linalg.solve(jtj + lam * np.diag(np.diag(jtj) + 1e-12), grad)
        except np.linalg.LinAlgError:
            return None
        trial = p + step
        if not trial[3] > 0.05:
            lam *= 10.0
            continue
        trial_value, trial_e, trial_r2 = model(trial)
        trial_chi2 = float(np.sum((z - trial_value) ** 2))
        if trial_chi2 < chi2:
            converged = chi2 - trial_chi2 < 1e-9 * max(chi2, 1e-30)
            p, value, e, r2, chi2 = trial, trial_value, trial_e, trial_r2, trial_chi2
            lam = max(lam / 10.0, 1e-9)
            if converged:
                break
        else:
            lam *= 10.0
            if lam > 1e9:
                break
    amplitude, fx, fy, sigma = p[0], p[1], p[2], abs(p[3])
    if not (amplitude > 0 and 0.2 < sigma < max(ny, nx)):
        return None
    if abs(fx - x0) > 2.0 or abs(fy - y0) > 2.0:
        return None
    return float(fx), float(fy), float(sigma), float(amplitude)


#: A Gaussian of FWHM f sampled at its centre has 2^(−4/f²) of its peak in the next pixel.
SHARP_LIMIT = 2.0 ** (-4.0 / MIN_FWHM**2)


def _sharpness(data, row, col, local, peak):
    """Mean of the 4 direct neighbours above the local background, relative to the peak."""
    ny, nx = data.shape
    values = [data[r, c] for r, c in ((row - 1, col), (row + 1, col), (row, col - 1),
                                      (row, col + 1)) if 0 <= r < ny and 0 <= c < nx]
    values = [v for v in values if np.isfinite(v)]
    if not values or not peak > 0:
        return 0.0
    return (float(np.mean(values)) - local) / peak


#: Local background and noise of a source: the pixels between these half-sizes of boxes
#: around its peak (coadds are noisier where fewer frames overlap, e.g. at the edges).
RING_INNER, RING_OUTER = 5, 9


def _ring_stats(data, row, col):
    """(median, MAD σ) of the finite pixels in the square ring around (row, col)."""
    ny, nx = data.shape
    r0, r1 = max(row - RING_OUTER, 0), min(row + RING_OUTER + 1, ny)
    c0, c1 = max(col - RING_OUTER, 0), min(col + RING_OUTER + 1, nx)
    box = data[r0:r1, c0:c1]
    rr, cc = np.mgrid[r0:r1, c0:c1]
    ring = (np.maximum(np.abs(rr - row), np.abs(cc - col)) > RING_INNER) & np.isfinite(box)
    values = box[ring]
    if values.size < 20:
        return math.nan, math.nan
    return float(np.median(values)), robust_sigma(values)


def _half_max_fwhm(stamp, peak_value, background):
    """First guess of the FWHM: the area of the pixels above half maximum, as a disc."""
    half = background + (peak_value - background) / 2.0
    area = int(np.count_nonzero(stamp > half))
    return max(2.0 * math.sqrt(max(area, 1) / math.pi), 1.0)


def image_stats(data, detect_sigma=DETECT_SIGMA, max_fit=MAX_FIT_STARS):
    """Background, noise, point sources and their median FWHM of an image.

    Background and noise: the sigma-clipped median and MAD σ of all finite pixels.
    Sources: local maxima whose peak exceeds the local background (median of a ring around
    it) by detect_sigma × the larger of the global and the ring's noise, kept brightest
    first and at least a stamp apart;
    sources sharper than MIN_FWHM (by their direct neighbours, or by the fit) are cosmetic
    defects and dropped.
    FWHM: a circular Gaussian plus constant is fitted to a stamp of ±2 first-guess FWHM
    around each of the brightest `max_fit` sources; the median of the good fits of the
    sources above FWHM_SNR σ (of all good fits if none is that bright).
    """
    data = np.asarray(data, dtype=np.float64)
    background, noise = clipped_stats(data)
    if not (np.isfinite(background) and noise > 0):
        return ImageStats(background, noise, [], None)
    rows, cols = local_maxima(data, background + detect_sigma * noise)
    order = np.argsort(data[rows, cols])[::-1]
    ny, nx = data.shape
    stars = []
    claimed = np.zeros(data.shape, dtype=bool)  # within the stamp of a brighter source
    for index in order[:5000]:
        r, c = int(rows[index]), int(cols[index])
        if claimed[r, c]:
            continue
        local, local_noise = _ring_stats(data, r, c)
        if not np.isfinite(local):
            local, local_noise = background, noise
        peak = float(data[r, c]) - local
        if (peak < detect_sigma * max(noise, local_noise)
                or _sharpness(data, r, c, local, peak) < SHARP_LIMIT):
            continue
        box = data[max(r - RING_INNER, 0) : r + RING_INNER + 1,
                   max(c - RING_INNER, 0) : c + RING_INNER + 1]
        first = _half_max_fwhm(box, float(data[r, c]), local)
        half = int(min(max(math.ceil(2.0 * first), 3), 20))
        size = max(half, RING_INNER)
        claimed[max(r - size, 0) : r + size + 1, max(c - size, 0) : c + size + 1] = True
        fwhm = None
        if len(stars) < max_fit and half <= r < ny - half and half <= c < nx - half:
            stamp = data[r - half : r + half + 1, c - half : c + half + 1]
            fit = fit_gaussian(stamp, half, half, first / SIGMA_TO_FWHM)
            if fit is not None and fit[2] * SIGMA_TO_FWHM < MIN_FWHM:
                continue
            if fit is not None:
                fwhm = fit[2] * SIGMA_TO_FWHM
                stars.append(Star(c - half + fit[0], r - half + fit[1], peak, fwhm))
                continue
        stars.append(Star(float(c), float(r), peak, fwhm))
    fitted = [s.fwhm for s in stars if s.fwhm is not None]
    bright = [s.fwhm for s in stars if s.fwhm is not None and s.peak >= FWHM_SNR * noise]
    fitted = bright or fitted
    return ImageStats(background, noise, stars, float(np.median(fitted)) if fitted else None)


class _quiet_all_nan:
    """Silence numpy's 'All-NaN slice' RuntimeWarning (blocks outside the image are NaN)."""

    def __enter__(self):
        import warnings

        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._catch.__exit__(*exc)
