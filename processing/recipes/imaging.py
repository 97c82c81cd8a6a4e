"""Image arithmetic of the Python recipes, in numpy only.

Robust statistics (median and σ-clipped standard deviation), the border-rejection zone,
bad-pixel filling, sub-pixel registration (separable Lanczos-3 resampling), min/max-rejection
combination, cross-correlation of two images, source detection and FWHM measurement.
"""

import math

import numpy as np

from processing.recipes.errors import RecipeError

LANCZOS = 3
#: robust_stats works on at most this many values (a regular subsample of larger inputs).
ROBUST_SAMPLE = 400_000
#: Per-pixel operations on stacks work on blocks of about this many values.
BLOCK = 4_000_000


# --- statistics ----------------------------------------------------------------------------


def robust_stats(values, clip=3.0, iterations=8):
    """(median, σ) of the finite values: σ from the MAD, refined by κ-σ clipping about the
    median, so that hot pixels or stars do not inflate it. (nan, nan) when there are none."""
    values = np.asarray(values).ravel()
    if values.size > ROBUST_SAMPLE:  # a regular subsample: σ to ≈0.15 %, much faster
        values = values[:: math.ceil(values.size / ROBUST_SAMPLE)]
    values = values[np.isfinite(values)].astype(np.float64)
    if values.size == 0:
        return math.nan, math.nan
    median = float(np.median(values))
    sigma = 1.4826 * float(np.median(np.abs(values - median)))
    if sigma == 0.0:
        sigma = float(np.std(values))
    kept = values
    for _ in range(iterations):
        if sigma == 0.0:
            break
        inside = np.abs(values - median) <= clip * sigma
        if inside.sum() < 3 or inside.sum() == kept.size:
            break
        kept = values[inside]
        median = float(np.median(kept))
        sigma = float(np.std(kept, ddof=1))
    # the clipped σ of a Gaussian at 3σ underestimates σ by 1.35 %: correct it
    if clip == 3.0 and kept.size < values.size:
        sigma /= 0.98650
    return median, sigma


def nanmedian_stack(stack):
    """Median along axis 0 ignoring NaN (NaN where a pixel has no finite value); a sort-based
    replacement for np.nanmedian(…, axis=0), which is slow on short stacks of big images."""
    ordered = np.sort(np.asarray(stack, dtype=np.float32), axis=0)  # NaN sort last
    count = np.isfinite(ordered).sum(axis=0)
    low = np.maximum((count - 1) // 2, 0)[None]
    high = np.maximum(count // 2, 0)[None]
    median = 0.5 * (np.take_along_axis(ordered, low, axis=0)[0]
                    + np.take_along_axis(ordered, high, axis=0)[0])
    median[count == 0] = np.nan
    return median


def _row_blocks(depth, shape):
    """Slices of rows such that depth × rows × columns stays near BLOCK values: per-pixel
    operations on a stack run block by block, so that memory does not grow with its depth."""
    ny, nx = shape
    rows = max(1, BLOCK // max(depth * nx, 1))
    return [slice(start, min(start + rows, ny)) for start in range(0, ny, rows)]


def medians_of_others(stack):
    """For each frame i of the stack (axis 0), the per-pixel median of the other frames,
    ignoring NaN, from a single sort of the stack: a list of images (NaN where no other frame
    has a finite value). Equal to nanmedian_stack(stack without i) for every i."""
    stack = np.asarray(stack, dtype=np.float32)
    medians = [np.empty(stack.shape[1:], dtype=np.float32) for _ in range(stack.shape[0])]
    for rows in _row_blocks(stack.shape[0], stack.shape[1:]):
        for median, block in zip(medians, _medians_of_others(stack[:, rows]), strict=True):
            median[rows] = block
    return medians


def _medians_of_others(stack):
    small = np.int16 if stack.shape[0] < 2**15 else np.int64
    order = np.argsort(stack, axis=0, kind="stable").astype(small)  # NaN sort last
    ordered = np.take_along_axis(stack, order, axis=0)
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(stack.shape[0], dtype=small)[:, None, None], axis=0)
    count = np.isfinite(ordered).sum(axis=0)
    for index in range(stack.shape[0]):
        own = np.isfinite(stack[index])
        others = count - own
        positions = []
        for reduced in (np.maximum((others - 1) // 2, 0), np.maximum(others // 2, 0)):
            # index in the sorted stack of the reduced-th value once frame i is left out
            full = reduced + (own & (reduced >= rank[index]))
            positions.append(np.take_along_axis(ordered, full[None], axis=0)[0])
        median = 0.5 * (positions[0] + positions[1])
        median[others == 0] = np.nan
        yield median


def zone(shape, borders, what):
    """The (rows, columns) slices left after rejecting `borders` = (left, right, bottom, top)
    pixels; RecipeError when nothing is left (the ESO default of 200 on a 256² window)."""
    ny, nx = shape
    left, right, bottom, top = borders
    if min(borders) < 0:
        raise RecipeError(f"--r={' '.join(map(str, borders))}: border widths cannot be negative")
    if left + right >= nx or bottom + top >= ny:
        raise RecipeError(
            f"--r={' '.join(map(str, borders))} rejects every pixel of the {nx}×{ny} "
            f"{what}; pass smaller borders (e.g. --r=16 16 16 16 for a 256×256 window)"
        )
    return slice(bottom, ny - top), slice(left, nx - right)


# --- bad pixels ----------------------------------------------------------------------------

_NEIGHBOURS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx]


def fill_bad(image, bad, iterations=6):
    """A copy of `image` with the `bad` pixels (and non-finite ones) replaced by the median of
    their good 8 neighbours; clusters are filled from their edge inwards over `iterations`,
    whatever is still left gets the median of the image."""
    out = np.array(image, dtype=np.float32, copy=True)
    bad = np.asarray(bad, dtype=bool) | ~np.isfinite(out)
    if not bad.any():
        return out
    out[bad] = np.nan
    ny, nx = out.shape
    for _ in range(iterations):
        rows, cols = np.nonzero(bad)
        if rows.size == 0:
            break
        samples = np.full((rows.size, len(_NEIGHBOURS)), np.nan, dtype=np.float32)
        for k, (dy, dx) in enumerate(_NEIGHBOURS):
            r, c = rows + dy, cols + dx
            inside = (r >= 0) & (r < ny) & (c >= 0) & (c < nx)
            samples[inside, k] = out[r[inside], c[inside]]
        filled = np.isfinite(samples).any(axis=1)
        if not filled.any():
            break
        values = np.nanmedian(samples[filled], axis=1)
        out[rows[filled], cols[filled]] = values
        bad[rows[filled], cols[filled]] = False
    if bad.any():
        good = out[~bad]
        out[bad] = np.median(good) if good.size else 0.0
    return out


def dilate(mask, radius):
    """Binary dilation of a mask by a square of half-width `radius` pixels."""
    out = np.asarray(mask, dtype=bool).copy()
    for _ in range(int(radius)):
        grown = out.copy()
        grown[1:, :] |= out[:-1, :]
        grown[:-1, :] |= out[1:, :]
        grown[:, 1:] |= out[:, :-1]
        grown[:, :-1] |= out[:, 1:]
        out = grown
    return out


# --- registration --------------------------------------------------------------------------


def _lanczos(x):
    x = np.asarray(x, dtype=np.float64)
    return np.where(np.abs(x) < LANCZOS, np.sinc(x) * np.sinc(x / LANCZOS), 0.0)


def _inside(size, start, length):
    """Which of the positions k + start (k = 0…length-1) fall inside 0…size-1."""
    positions = np.arange(length) + start
    return (positions >= -1e-6) & (positions <= size - 1 + 1e-6)


def coverage(frame_shape, shift, origin, shape):
    """The output pixels a frame of `frame_shape` covers, placed as shift_to_grid places it."""
    (dx, dy), (ox, oy) = shift, origin
    return (_inside(frame_shape[0], oy - dy, shape[0])[:, None]
            & _inside(frame_shape[1], ox - dx, shape[1])[None, :])


def _resample_axis(image, start, length, axis):
    """out[k] = image[k + start] along `axis` for k in 0…length-1 (start real), Lanczos-3
    interpolated, edges replicated; plus the 1-D mask of positions inside the image."""
    size = image.shape[axis]
    base = math.floor(start)
    fraction = start - base
    positions = np.arange(length) + base
    inside = _inside(size, start, length)
    if fraction < 1e-6 or fraction > 1 - 1e-6:
        offset = 0 if fraction < 0.5 else 1
        index = np.clip(positions + offset, 0, size - 1)
        return np.take(image, index, axis=axis), inside
    taps = np.arange(-LANCZOS + 1, LANCZOS + 1)
    weights = _lanczos(fraction - taps)
    weights /= weights.sum()
    out = None
    for tap, weight in zip(taps, weights, strict=True):
        index = np.clip(positions + tap, 0, size - 1)
        term = np.take(image, index, axis=axis).astype(np.float64) * weight
        out = term if out is None else out + term
    return out.astype(np.float32), inside


def shift_to_grid(image, bad, shift, origin, shape):
    """Resample `image` (shifted by `shift` = (dx, dy) pixels) onto an output grid of `shape`
    whose pixel (0, 0) is pixel `origin` = (ox, oy) of the reference frame.

    Output pixel (x', y') takes image pixel (x' + ox - dx, y' + oy - dy). Returns the image
    and the mask of output pixels it validly covers (inside its footprint and not on a bad
    pixel, by nearest neighbour)."""
    (dx, dy), (ox, oy) = shift, origin
    ny, nx = shape
    start_x, start_y = ox - dx, oy - dy
    rows, inside_y = _resample_axis(image, start_y, ny, axis=0)
    out, inside_x = _resample_axis(rows, start_x, nx, axis=1)
    near_y = np.clip(np.round(np.arange(ny) + start_y).astype(int), 0, image.shape[0] - 1)
    near_x = np.clip(np.round(np.arange(nx) + start_x).astype(int), 0, image.shape[1] - 1)
    valid = inside_y[:, None] & inside_x[None, :]
    if bad is not None:
        valid &= ~bad[np.ix_(near_y, near_x)]
    return out, valid


def sample_mask(mask, shift, origin, shape):
    """The inverse of shift_to_grid for a mask on the output grid: for each pixel (x, y) of a
    frame of `shape` shifted by `shift`, the mask value at output pixel (x - ox + dx, …),
    False outside the output grid (nearest neighbour)."""
    (dx, dy), (ox, oy) = shift, origin
    ny, nx = shape
    rows = np.round(np.arange(ny) - oy + dy).astype(int)
    cols = np.round(np.arange(nx) - ox + dx).astype(int)
    inside = ((rows >= 0) & (rows < mask.shape[0]))[:, None] & (
        (cols >= 0) & (cols < mask.shape[1]))[None, :]
    sampled = mask[np.ix_(np.clip(rows, 0, mask.shape[0] - 1),
                          np.clip(cols, 0, mask.shape[1] - 1))]
    return sampled & inside


def combine_rejecting(stack, valid, nlow, nhigh):
    """Per pixel, the mean of the valid values after rejecting the `nlow` lowest and `nhigh`
    highest (all of them when fewer than nlow + nhigh + 1 are valid). Returns the combined
    image (NaN where nothing is valid) and the number of valid values (contribution map)."""
    combined = np.empty(stack.shape[1:], dtype=np.float32)
    count = np.empty(stack.shape[1:], dtype=np.int16)
    for rows in _row_blocks(stack.shape[0], stack.shape[1:]):
        combined[rows], count[rows] = _combine_rejecting(stack[:, rows], valid[:, rows], nlow,
                                                         nhigh)
    return combined, count


def _combine_rejecting(stack, valid, nlow, nhigh):
    data = np.where(valid, stack, np.float32(np.nan)).astype(np.float32, copy=False)
    count = valid.sum(axis=0)
    ordered = np.sort(data, axis=0)  # NaN last
    ordered = np.nan_to_num(ordered, nan=0.0, copy=False)
    cumulative = np.concatenate([np.zeros((1, *ordered.shape[1:])),
                                 np.cumsum(ordered, axis=0, dtype=np.float64)])
    reject = count > nlow + nhigh
    low = np.where(reject, nlow, 0)
    high = np.where(reject, count - nhigh, count)
    total = (np.take_along_axis(cumulative, high[None], axis=0)[0]
             - np.take_along_axis(cumulative, low[None], axis=0)[0])
    used = high - low
    with np.errstate(invalid="ignore", divide="ignore"):
        combined = np.where(used > 0, total / np.maximum(used, 1), np.nan)
    return combined, count


def _fast_size(n):
    """The smallest 2^a·3^b·5^c ≥ n (a length the FFT handles fast)."""
    best = 2 * n
    power2 = 1
    while power2 < best:
        power3 = power2
        while power3 < best:
            power5 = power3
            while power5 < best:
                if power5 >= n:
                    best = power5
                power5 *= 5
            power3 *= 3
        power2 *= 2
    return best


class Correlator:
    """Cross-correlation of images against one reference (background ≈ 0, NaN-free) by FFT,
    padded so that lags within ±search do not wrap around; the reference is transformed once."""

    def __init__(self, reference, search):
        ny, nx = reference.shape
        self.search = (min(search[0], nx // 2), min(search[1], ny // 2))
        self.size = (_fast_size(ny + self.search[1] + 1), _fast_size(nx + self.search[0] + 1))
        self.reference = np.fft.rfft2(reference, self.size)

    def shift(self, image):
        """correlation_shift(reference, image, search), see there."""
        spectrum = self.reference * np.conj(np.fft.rfft2(image, self.size))
        return _peak(np.fft.irfft2(spectrum, self.size), self.search)


def correlation_shift(reference, image, search):
    """The shift (dx, dy) to apply to `image` so that it best matches `reference` (both on the
    same grid, background ≈ 0, NaN-free), searched within ±`search` pixels by FFT cross-
    correlation, refined to sub-pixel by parabolas. None when the peak is on the border of the
    search box (no match)."""
    return Correlator(reference, search).shift(image)


def _peak(correlation, search):
    # correlation[l] = Σ reference(x) image(x - l): the image shifted by +l matches
    fy, fx = correlation.shape
    sx, sy = search
    lags_y = np.arange(-sy, sy + 1)
    lags_x = np.arange(-sx, sx + 1)
    window = correlation[np.ix_(lags_y % fy, lags_x % fx)]
    iy, ix = np.unravel_index(np.argmax(window), window.shape)
    if iy in (0, window.shape[0] - 1) or ix in (0, window.shape[1] - 1):
        return None
    if not np.isfinite(window[iy, ix]) or window[iy, ix] <= 0:
        return None

    def vertex(a, b, c):
        denominator = a - 2 * b + c
        return 0.0 if denominator == 0 else 0.5 * (a - c) / denominator

    dy = lags_y[iy] + vertex(window[iy - 1, ix], window[iy, ix], window[iy + 1, ix])
    dx = lags_x[ix] + vertex(window[iy, ix - 1], window[iy, ix], window[iy, ix + 1])
    return float(dx), float(dy)


# --- sources -------------------------------------------------------------------------------


def local_maxima(image, threshold, border):
    """(row, column, value) of pixels above `threshold` that are the maximum of their 5×5
    neighbourhood, at least `border` pixels from the edges, brightest first."""
    ny, nx = image.shape
    data = np.nan_to_num(image, nan=-np.inf)
    peak = data > threshold
    for dy in range(-2, 3):
        for dx in range(-2, 3):
            if dy or dx:
                shifted = np.full_like(data, -np.inf)
                shifted[max(dy, 0) : ny + min(dy, 0), max(dx, 0) : nx + min(dx, 0)] = data[
                    max(-dy, 0) : ny + min(-dy, 0), max(-dx, 0) : nx + min(-dx, 0)
                ]
                peak &= data >= shifted
    peak[:border, :] = peak[-border:, :] = False
    peak[:, :border] = peak[:, -border:] = False
    rows, cols = np.nonzero(peak)
    values = data[rows, cols]
    order = np.argsort(values)[::-1]
    return [(int(rows[k]), int(cols[k]), float(values[k])) for k in order]


def _half_width(profile, centre, half):
    """Distance from `centre` to where `profile` first falls below `half`, interpolated."""
    widths = []
    for step in (-1, 1):
        position = centre
        while 0 <= position + step < profile.size and profile[position + step] > half:
            position += step
        following = position + step
        if not 0 <= following < profile.size:
            return None
        above, below = profile[position], profile[following]
        fraction = (above - half) / (above - below) if above != below else 0.0
        widths.append(abs(position - centre) + fraction)
    return widths[0] + widths[1]


def fwhm_at(image, row, col, background=0.0, radius=15):
    """(FWHM along x, FWHM along y) in pixels of the source peaking at (row, col), from the
    half-maximum crossings of its row and column; None when they are not found."""
    ny, nx = image.shape
    peak = float(image[row, col]) - background
    if not peak > 0:
        return None
    half = background + peak / 2.0
    c0, c1 = max(col - radius, 0), min(col + radius + 1, nx)
    r0, r1 = max(row - radius, 0), min(row + radius + 1, ny)
    fx = _half_width(np.nan_to_num(image[row, c0:c1]), col - c0, half)
    fy = _half_width(np.nan_to_num(image[r0:r1, col]), row - r0, half)
    if fx is None or fy is None:
        return None
    return fx, fy
