"""What each kind of frame looks at, turned into an image via pixels.expose.

One function per kind of exposure: darks see nothing, flats the twilight sky or the lamp,
imaging frames a star field shifted by the jitter offset, and the unsupported modes get just
enough structure to look like what they are (a slit spectrum with sky lines, the two
Wollaston beams, a star behind a coronagraphic mask).
"""

import numpy as np

from processing.simulation import pixels
from processing.simulation.instrument import CAMERAS
from processing.simulation.pixels import SHAPE

LAMP_RATE = 9000.0  # ADU/s, halogen lamp through a broad-band filter
THERMAL_RATE = 40.0  # ADU/s, warm optics seen with the lamp off
WOLLASTON_SPLIT = 64  # pixels between the o and e beams (half each way)
MASK_RADIUS_ARCSEC = 0.35


def field_key(target_name, camera):
    return f"{target_name} [{camera}]"


def add_star_fields(seed, exposures, fields):
    """Add to `fields` the star field of every (target, camera) the exposures look at and
    that is not there yet, sized by the first science-like setup that looks at it (an
    acquisition's only if nothing else does). The same target is the same sky on every
    night of a run; the manifest records the fields as truth."""
    ordered = sorted(exposures, key=lambda e: e.kind == "acquisition")
    for exposure in ordered:
        if exposure.field is None:
            continue
        key = field_key(exposure.field, exposure.setup.camera)
        if key not in fields:
            fields[key] = {
                "target": exposure.field,
                "camera": exposure.setup.camera,
                "stars": pixels.star_field(seed, exposure.block.target, exposure.setup),
                "flux_unit": "ADU/s in Ks, before flat field; other filters x filter_factor",
                "filter_factor": pixels.FILTER_FACTOR,
            }
    return fields


def render(seed, exposure, fields):
    setup = exposure.setup
    level = pixels.dark_frame_level(seed, setup.mode, setup.dit)
    if exposure.kind == "dark":
        rate = np.zeros(SHAPE)
    else:
        rate = pixels.flat_response(seed, setup.filter) * _scene(exposure, fields)
    return pixels.expose(seed, exposure.arcfile, rate, level, setup)


def _scene(exposure, fields):
    kind = exposure.kind
    if kind == "flat":
        return np.full(SHAPE, exposure.sky)
    if kind == "lampflat":
        return np.full(SHAPE, THERMAL_RATE + (LAMP_RATE if exposure.lamp else 0.0))
    setup = exposure.setup
    field = fields[field_key(exposure.field, setup.camera)]
    shape = pixels.psf(setup.filter, setup.camera)
    factor = pixels.FILTER_FACTOR[setup.filter]
    if kind == "spectrum":
        return _spectrum(exposure, field, factor)
    if kind == "polarimetry":
        beams = [
            pixels.render_stars(field["stars"], (exposure.offset[0], exposure.offset[1] + dy),
                                shape, factor / 2)
            for dy in (-WOLLASTON_SPLIT / 2, WOLLASTON_SPLIT / 2)
        ]
        return exposure.sky + beams[0] + beams[1]
    stars = pixels.render_stars(field["stars"], exposure.offset, shape, factor,
                                core=kind != "coronagraphy")
    if kind == "coronagraphy":
        radius = MASK_RADIUS_ARCSEC / CAMERAS[setup.camera].pixscale
        y, x = np.mgrid[0 : SHAPE[0], 0 : SHAPE[1]]
        bright = field["stars"][0]
        inside = (x + 1 - bright[0]) ** 2 + (y + 1 - bright[1]) ** 2 < radius**2
        stars[inside] *= 0.02
    return exposure.sky + stars


def _spectrum(exposure, field, factor):
    """Long slit along x, dispersion along y: OH lines as rows, the target as a column."""
    rows = np.arange(SHAPE[0])
    lines = np.zeros(SHAPE[0])
    for centre, strength in ((31, 6.0), (77, 3.0), (118, 9.0), (160, 4.0), (203, 7.0), (240, 2.5)):
        lines += strength * np.exp(-0.5 * ((rows - centre) / 1.3) ** 2)
    sky = exposure.sky * (1.0 + lines)[:, None] * np.ones(SHAPE)
    bright = field["stars"][0]
    column = bright[0] - 1 + exposure.offset[1]  # the nod runs along the slit
    columns = np.arange(SHAPE[1])
    trace = bright[2] * factor * 0.02 * np.exp(-0.5 * ((columns - column) / 2.0) ** 2)
    continuum = 1.0 - 0.3 * ((rows - SHAPE[0] / 2) / SHAPE[0]) ** 2
    return sky + continuum[:, None] * trace[None, :]
