"""The pixel values of simulated frames: detector, flat field, sky, stars, noise.

A frame is `level + response × (sky + stars) + noise`, in ADU averaged over the NDIT
sub-integrations as CONICA stores it: `level` is the dark (read-out mode bias, dark current
× DIT, hot pixels), `response` the pixel-to-pixel and large-scale flat field, the noise
Poisson in electrons plus read noise, both shrinking with √NDIT. The numbers that a
reduction should recover (dark level, read noise, flat pattern, star positions and fluxes)
are returned as truth for the manifest.
"""

import math
from functools import lru_cache

import numpy as np

from processing.simulation import instrument as naco
from processing.simulation.seeds import rng_for, seed_for

SHAPE = (naco.WINDOW, naco.WINDOW)
#: Flat field: rms of the pixel-to-pixel response and of the illumination gradient.
FLAT_PIXEL_RMS = 0.03
FLAT_GRADIENT = 0.06
DEAD_FRACTION = 0.0015
HOT_FRACTION = 0.002
#: Fraction of the flux in the diffraction-limited core, per filter (the rest is seeing halo).
CORE_FRACTION = {"J": 0.15, "H": 0.3, "Ks": 0.45, "NB_2.17": 0.45}
HALO_FWHM_ARCSEC = 0.45
#: Stellar colours: flux in a filter relative to Ks (a reddened field population).
FILTER_FACTOR = {"J": 0.55, "H": 0.85, "Ks": 1.0, "NB_2.17": 0.12}
#: The brightest star of a field peaks at this fraction of full well in its science setup.
PEAK_FRACTION = 0.3
#: Stars are placed this far beyond the window so that jittered frames show the field edge.
FIELD_MARGIN = 80


# --- detector ----------------------------------------------------------------------------


@lru_cache(maxsize=16)
def _bias_pattern(seed, mode_name):
    """Read-out-mode structure of the dark: a column pattern and hot pixels (ADU, ADU/s)."""
    rng = rng_for(seed, "bias", mode_name)
    columns = rng.normal(0.0, 1.5, SHAPE[1])
    pattern = np.broadcast_to(columns, SHAPE).copy()
    pattern -= np.median(pattern)
    hot = np.zeros(SHAPE)
    count = int(HOT_FRACTION * hot.size)
    flat_index = rng.choice(hot.size, count, replace=False)
    hot.flat[flat_index] = rng.uniform(20.0, 400.0, count)
    return pattern, hot


def dark_frame_level(seed, mode, dit):
    """The noiseless dark of `dit` seconds in `mode`: what a master dark should equal."""
    pattern, hot = _bias_pattern(seed, mode.mode_name)
    return naco.dark_level(mode, dit) + pattern + hot * dit


def dark_truth(seed, mode, dit, ndit):
    level = dark_frame_level(seed, mode, dit)
    return {
        "readout": mode.ncorrs_name,
        "detmode": mode.mode_name,
        "dit": dit,
        "ndit": ndit,
        "median_adu": round(float(np.median(level)), 4),
        "ron_adu_per_dit": mode.ron_adu,
        "ron_adu_per_frame": round(mode.ron_adu / math.sqrt(ndit), 4),
        "gain_e_per_adu": mode.gain,
        "hot_pixels": int(HOT_FRACTION * level.size),
    }


@lru_cache(maxsize=16)
def flat_response(seed, filter_name):
    """Pixel response × illumination: pixel pattern common to all filters (the detector), a
    gradient that differs per filter (the optics), and dead pixels."""
    rng = rng_for(seed, "flat", "pixels")
    pixels = 1.0 + rng.normal(0.0, FLAT_PIXEL_RMS, SHAPE)
    dead = rng.choice(pixels.size, int(DEAD_FRACTION * pixels.size), replace=False)
    pixels.flat[dead] = 0.02
    gx, gy = rng_for(seed, "flat", "gradient", filter_name).uniform(-1, 1, 2) * FLAT_GRADIENT
    y, x = np.mgrid[0 : SHAPE[0], 0 : SHAPE[1]] / (SHAPE[0] - 1) - 0.5
    response = pixels * (1.0 + gx * x + gy * y)
    return response / np.median(response)


def flat_truth(seed, filters):
    return {
        "pattern_seed": seed_for(seed, "flat", "pixels"),
        "pixel_rms": FLAT_PIXEL_RMS,
        "gradient_amplitude": FLAT_GRADIENT,
        "dead_fraction": DEAD_FRACTION,
        "normalisation": "median 1",
        "response_rms": {
            name: round(float(np.std(flat_response(seed, name)[8:-8, 8:-8])), 5)
            for name in filters
        },
    }


def expose(seed, key, rate, level, setup):
    """One frame: Poisson electrons over NDIT×DIT, averaged per DIT, plus read noise."""
    rng = rng_for(seed, "frame", key)
    mode = setup.mode
    scale = setup.dit * setup.ndit * mode.gain
    electrons = rng.poisson(np.clip(rate, 0.0, None) * scale)
    frame = electrons / (mode.gain * setup.ndit) + level
    frame += rng.normal(0.0, mode.ron_adu / math.sqrt(setup.ndit), SHAPE)
    return np.minimum(frame, level + mode.full_well).astype(np.float32)


# --- stars -------------------------------------------------------------------------------


def psf(filter_name, camera_name):
    """Two Gaussians: the diffraction-limited AO core and the seeing halo (FWHM in pixels)."""
    pixscale = naco.CAMERAS[camera_name].pixscale
    wavelength = naco.FILTERS[filter_name].cwlen * 1e-6
    core = max(1.03 * wavelength / 8.2 * 206264.8 / pixscale, 1.6)
    return {
        "core_fwhm_px": round(core, 3),
        "halo_fwhm_px": round(HALO_FWHM_ARCSEC / pixscale, 3),
        "core_fraction": CORE_FRACTION[filter_name],
    }


def peak_per_flux(shape):
    """Peak pixel value of a star of unit total flux."""
    core = shape["core_fwhm_px"] / 2.3548
    halo = shape["halo_fwhm_px"] / 2.3548
    fraction = shape["core_fraction"]
    return fraction / (2 * math.pi * core**2) + (1 - fraction) / (2 * math.pi * halo**2)


def star_field(seed, target, reference_setup):
    """Stars of a target (x, y in 1-based pixels of an unshifted frame; flux in ADU/s in Ks).

    The brightest star sits near the centre and peaks at PEAK_FRACTION of full well in the
    target's science setup, so that the science frames are well exposed and unsaturated.
    """
    rng = rng_for(seed, "field", target.name)
    count = target.stars
    low, high = 1 - FIELD_MARGIN, naco.WINDOW + FIELD_MARGIN
    x = rng.uniform(low, high, count)
    y = rng.uniform(low, high, count)
    x[0], y[0] = naco.WINDOW / 2 + rng.uniform(-12, 12, 2)
    magnitudes = np.sort(rng.uniform(0.4, 6.5, count))
    magnitudes[0] = 0.0
    setup = reference_setup
    shape = psf(setup.filter, setup.camera)
    sky_rate = naco.sky_rate(setup.filter, setup.camera)
    room = PEAK_FRACTION * setup.mode.full_well - sky_rate * setup.dit
    brightest = room / (setup.dit * peak_per_flux(shape) * FILTER_FACTOR[setup.filter])
    flux = brightest * 10 ** (-0.4 * magnitudes)
    return [[round(float(a), 3), round(float(b), 3), round(float(f), 3)]
            for a, b, f in zip(x, y, flux, strict=True)]


def render_stars(stars, shift, shape, factor=1.0, core=True):
    """ADU/s image of the stars moved by `shift` (pixels, added to their positions).

    The sign is naco_img_jitter's: a frame with SEQ.CUMOFFSETX/Y = (dx, dy) shows the field
    moved by (+dx, +dy) relative to a frame at (0, 0). With the opposite sign the recipe
    fails to cross-correlate the larger offsets and smears the combined stars."""
    image = np.zeros(SHAPE)
    sigma_core = shape["core_fwhm_px"] / 2.3548
    sigma_halo = shape["halo_fwhm_px"] / 2.3548
    fraction = shape["core_fraction"] if core else 0.0
    radius = int(math.ceil(4 * sigma_halo))
    offsets = np.arange(-radius, radius + 1)
    for x, y, flux in stars:
        column, row = x + shift[0] - 1, y + shift[1] - 1  # 0-based array position
        c0, r0 = int(round(column)), int(round(row))
        if c0 + radius < 0 or r0 + radius < 0 or c0 - radius >= SHAPE[1] or r0 - radius >= SHAPE[0]:
            continue
        dx = (c0 + offsets - column)[None, :]
        dy = (r0 + offsets - row)[:, None]
        r2 = dx**2 + dy**2
        stamp = fraction / (2 * math.pi * sigma_core**2) * np.exp(-r2 / (2 * sigma_core**2))
        stamp += (1 - fraction) / (2 * math.pi * sigma_halo**2) * np.exp(-r2 / (2 * sigma_halo**2))
        rows = slice(max(r0 - radius, 0), min(r0 + radius + 1, SHAPE[0]))
        cols = slice(max(c0 - radius, 0), min(c0 + radius + 1, SHAPE[1]))
        image[rows, cols] += flux * factor * stamp[
            rows.start - (r0 - radius) : rows.stop - (r0 - radius),
            cols.start - (c0 - radius) : cols.stop - (c0 - radius),
        ]
    return image
