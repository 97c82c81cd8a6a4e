"""The NACO imaging cascade in Python: naco_img_dark, naco_img_twflat, naco_img_jitter.

Same SOF tags, parameters, product categories and QC keywords as the ESO recipes of the NACO
pipeline (cpl-plugin-naco 4.4), so that the rules, the association of products as
calibrations and the QC do not depend on the engine. What each computes, and where it
differs from ESO's, is in docs/RECIPES.md.
"""

import math
import time
from pathlib import Path

import numpy as np
from astropy.io import fits

from processing.recipes.errors import RecipeError
from processing.recipes.imaging import (
    Correlator,
    combine_rejecting,
    coverage,
    dilate,
    fill_bad,
    fwhm_at,
    local_maxima,
    medians_of_others,
    nanmedian_stack,
    robust_stats,
    sample_mask,
    shift_to_grid,
    zone,
)
from processing.recipes.products import (
    Param,
    Product,
    check_same,
    parse_options,
    read_frame,
    write_products,
)

DIT = "ESO DET DIT"
NDIT = "ESO DET NDIT"
MODE = "ESO DET MODE NAME"
READOUT = "ESO DET NCORRS NAME"
CAMERA = "ESO INS OPTI7 NAME"
FILTER_KEYS = ("ESO INS OPTI4 ID", "ESO INS OPTI5 ID", "ESO INS OPTI6 ID")
EMPTY = {"", "empty", "EMPTY", "Empty", "open", "OPEN", "Open", "Clear", "clear", "CLEAR"}


def _select(frames, recipe, tags, log):
    """{tag: [SofEntry]} for the tags a recipe knows; other tags are logged and ignored."""
    found = {tag: [] for tag in tags}
    for entry in frames:
        if entry.tag in found:
            found[entry.tag].append(entry)
        else:
            log.warning("%s has tag %s, which this recipe does not use; ignored",
                        entry.path, entry.tag)
    return found


def _require(entries, tag, recipe, minimum, frames, why=""):
    if len(entries) < minimum:
        present = sorted({entry.tag for entry in frames}) or ["none"]
        have = f"only {len(entries)}" if entries else "no"
        raise RecipeError(
            f"{recipe} needs at least {minimum} frame{'s' if minimum > 1 else ''} tagged {tag}; "
            f"the SOF has {have} (tags present: {', '.join(present)}){why}"
        )


def _at_most_one(entries, tag, recipe):
    if len(entries) > 1:
        names = ", ".join(str(entry.path) for entry in entries)
        raise RecipeError(f"{recipe} takes at most one frame tagged {tag}; the SOF has "
                          f"{len(entries)}: {names}")


def _filter_name(frame):
    """The filter in the beam: the first of OPTI5/OPTI6/OPTI4 IDs that is not empty (J, H and
    the narrow bands sit in wheel 5, Ks in wheel 6, OPTI4 holds grisms and Wollastons)."""
    for key in (FILTER_KEYS[1], FILTER_KEYS[2], FILTER_KEYS[0]):
        value = frame.text(key)
        if value and value not in EMPTY:
            return value
    return ""


def _check_calibration_shape(calibration, reference):
    if calibration.data.shape != reference.data.shape:
        ny, nx = calibration.data.shape
        my, mx = reference.data.shape
        raise RecipeError(
            f"calibration {calibration.what()} is {nx}×{ny} pixels but the raw frames "
            f"({reference.what()} …) are {mx}×{my}; it cannot be applied"
        )


def _check_dit(calibration, reference, recipe):
    """A dark must have the DIT of the frames it is subtracted from."""
    dit = calibration.number(DIT, "DIT")
    wanted = reference.number(DIT, "DIT")
    if not math.isclose(dit, wanted, rel_tol=1e-6, abs_tol=1e-6):
        raise RecipeError(
            f"{recipe}: dark {calibration.what()} has DET.DIT = {dit:g} s but the raw frames "
            f"({reference.what()} …) have DET.DIT = {wanted:g} s; a dark must have the DIT of "
            "the frames it is subtracted from"
        )


# --- naco_img_dark -------------------------------------------------------------------------

DARK_PARAMS = [
    Param("r", "200 200 200 200", "Rejected left right bottom and top border [pixel]", "ints:4"),
    Param("hot_t", "10.0", "Hot pixel map threshold", "float"),
    Param("cold_t", "6.0", "Cold pixel map threshold", "float"),
    Param("dev_t", "5.0", "Deviant pixel map threshold", "float"),
    Param("nsamples", "100", "Number of samples for RON computation", "int", used=False),
    Param("hsize", "2", "Half size of the window for RON computation", "int", used=False),
]


def naco_img_dark(frames, options, output_dir, log):
    """Master dark (mean of the darks), read noise from successive differences, hot, cold and
    deviant pixel maps. Products NACO_IMG_DARK_AVG, _HOT, _COLD, _DEV; QC RONi, DARKMED,
    NBCOLPIX, NBHOTPIX, NBDEVPIX."""
    recipe = "naco_img_dark"
    started = time.monotonic()
    params = parse_options(recipe, DARK_PARAMS, options, log)
    entries = _select(frames, recipe, ["CAL_DARK"], log)["CAL_DARK"]
    _require(entries, "CAL_DARK", recipe, 2, frames,
             "; the read noise is measured on differences of successive darks")
    darks = [read_frame(entry, log) for entry in entries]
    for dark in darks:
        dark.number(DIT, "DIT")
        dark.number(NDIT, "NDIT")
    check_same(darks, [DIT, NDIT, MODE, READOUT, CAMERA], "naco_img_dark: the darks differ")
    first = darks[0]
    ndit = first.number(NDIT, "NDIT")
    log.info("%d darks, DIT=%g s, NDIT=%d, %s", len(darks), first.number(DIT),
             ndit, first.text(MODE) or first.text(READOUT))
    rows, cols = zone(first.data.shape, params["r"], "dark frames")
    stack = np.stack([dark.data for dark in darks]).astype(np.float64)

    average = stack.mean(axis=0)
    qc = []
    for index in range(1, len(darks)):
        difference = stack[index, rows, cols] - stack[index - 1, rows, cols]
        _, sigma = robust_stats(difference)
        ron = sigma / math.sqrt(2.0) * math.sqrt(ndit)
        qc.append((f"RON{index}", ron, "Read-out noise per DIT [ADU]"))
        log.info("RON from darks %d-%d: %.4f ADU per DIT", index, index + 1, ron)
    median, sigma = robust_stats(average[rows, cols])
    qc.append(("DARKMED", median, "Median of the master dark [ADU]"))
    finite = np.isfinite(average)
    hot = finite & (average > median + params["hot_t"] * sigma)
    cold = finite & (average < median - params["cold_t"] * sigma)
    deviation = stack.std(axis=0, ddof=1)
    dev_median, dev_sigma = robust_stats(deviation[rows, cols])
    deviant = np.isfinite(deviation) & (deviation > dev_median + params["dev_t"] * dev_sigma)
    qc += [
        ("NBCOLPIX", int(cold.sum()), "Number of cold pixels"),
        ("NBHOTPIX", int(hot.sum()), "Number of hot pixels"),
        ("NBDEVPIX", int(deviant.sum()), "Number of deviant pixels"),
    ]
    log.info("DARKMED=%.4f ADU, σ=%.4f; %d hot, %d cold, %d deviant pixels", median, sigma,
             hot.sum(), cold.sum(), deviant.sum())
    products = [
        Product("NACO_IMG_DARK_AVG", average.astype(np.float32), qc),
        Product("NACO_IMG_DARK_HOT", hot.astype(np.uint8), qc),
        Product("NACO_IMG_DARK_COLD", cold.astype(np.uint8), qc),
        Product("NACO_IMG_DARK_DEV", deviant.astype(np.uint8), qc),
    ]
    paths = write_products(recipe, products, darks, [], params, output_dir, log)
    log.info("done in %.2f s", time.monotonic() - started)
    return paths


# --- naco_img_twflat -----------------------------------------------------------------------

TWFLAT_PARAMS = [
    Param("r", "200 200 200 200", "Rejected left right bottom and top border [pixel]", "ints:4"),
    Param("t", "0.5 2.0", "Low and high thresholds for the Bad Pixel Map", "floats:2"),
    Param("prop", "FALSE", "Use the proportional fit", "bool"),
    Param("bpm", "FALSE", "Create the bad pixel map", "bool"),
    Param("errmap", "FALSE", "Create the error map", "bool"),
    Param("intercept", "FALSE", "Create the intercept image", "bool"),
]

#: naco_img_twflat warns when the brightest flat is less than this times the faintest.
FLAT_MIN_RANGE = 4.0


def naco_img_twflat(frames, options, output_dir, log):
    """Master flat from twilight flats of changing level: per pixel, the slope of its value
    against the frame's median level (its gain), normalised to median 1 in the zone.
    Products MASTER_IMG_FLAT and, on request, MASTER_IMG_FLAT_BADPIX (gain outside --t),
    MASTER_IMG_FLAT_ERRMAP, MASTER_IMG_FLAT_INTERC."""
    recipe = "naco_img_twflat"
    started = time.monotonic()
    params = parse_options(recipe, TWFLAT_PARAMS, options, log)
    selected = _select(frames, recipe, ["CAL_FLAT_TW", "CAL_DARK"], log)
    _require(selected["CAL_FLAT_TW"], "CAL_FLAT_TW", recipe, 2, frames,
             "; the gain is fitted across flats of different levels")
    flats = [read_frame(entry, log) for entry in selected["CAL_FLAT_TW"]]
    darks = [read_frame(entry, log) for entry in selected["CAL_DARK"]]
    for flat in flats:
        flat.number(DIT, "DIT")
    check_same(flats, [DIT, MODE, READOUT, CAMERA, *FILTER_KEYS],
               "naco_img_twflat: the twilight flats differ")
    first = flats[0]
    if len(darks) not in (0, 1, len(flats)):
        raise RecipeError(
            f"{recipe}: the SOF has {len(darks)} frames tagged CAL_DARK for {len(flats)} "
            f"flats; give none, one (subtracted from every flat) or one per flat"
        )
    for dark in darks:
        _check_calibration_shape(dark, first)
        _check_dit(dark, first, recipe)
    rows, cols = zone(first.data.shape, params["r"], "flat frames")
    stack = np.stack([flat.data for flat in flats]).astype(np.float64)
    if len(darks) == 1:
        stack -= darks[0].data
    elif darks:
        stack -= np.stack([dark.data for dark in darks])
    proportional = params["prop"] or bool(darks)
    if darks and not params["prop"]:
        log.info("%d dark(s) subtracted: proportional fit", len(darks))
    elif params["prop"] and not darks:
        log.warning("proportional fit without a dark: the dark level biases the gain")
    levels = np.array([np.median(frame[rows, cols]) for frame in stack])
    for flat, level in zip(flats, levels, strict=True):
        log.info("%s median level %.2f ADU", flat.name, level)
    if not np.all(np.isfinite(levels)):
        raise RecipeError(f"{recipe}: a flat has no finite pixels in the zone")
    if np.ptp(levels) <= 1e-6 * max(abs(levels).max(), 1.0):
        raise RecipeError(
            f"{recipe}: the {len(flats)} flats all have the level {levels[0]:.2f} ADU; "
            "the gain fit needs twilight flats of different levels"
        )
    if levels.min() > 0 and levels.max() / levels.min() < FLAT_MIN_RANGE:
        log.warning("the flat levels span a factor %.2f only (%.1f to %.1f ADU); the fit "
                    "is poorly constrained below a factor %g", levels.max() / levels.min(),
                    levels.min(), levels.max(), FLAT_MIN_RANGE)

    m = levels[:, None, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        if proportional:
            gain = (m * stack).sum(axis=0) / float((levels**2).sum())
            intercept = np.zeros_like(gain)
            residual = stack - gain * m
        else:
            mean_level = levels.mean()
            centred = levels - mean_level
            spread = float((centred**2).sum())
            gain = (centred[:, None, None] * (stack - stack.mean(axis=0))).sum(axis=0) / spread
            intercept = stack.mean(axis=0) - gain * mean_level
            residual = stack - intercept - gain * m
    norm = float(np.median(gain[rows, cols][np.isfinite(gain[rows, cols])])) if np.isfinite(
        gain[rows, cols]).any() else math.nan
    if not np.isfinite(norm) or norm <= 0:
        raise RecipeError(f"{recipe}: cannot normalise the gain: its median in the zone is "
                          f"{norm}; are these twilight flats?")
    flat = (gain / norm).astype(np.float32)
    low, high = params["t"]
    bad = ~np.isfinite(flat) | (flat < low) | (flat > high)
    _, flat_rms = robust_stats(flat[rows, cols])
    log.info("%s fit, gain normalised by %.5f; rms %.4f; %d pixels outside [%g, %g]",
             "proportional" if proportional else "linear", norm, flat_rms, bad.sum(), low, high)
    qc = [
        ("NBBADPIX", int(bad.sum()), "Pixels of gain outside the --t thresholds"),
        ("FLAT RMS", flat_rms, "Robust rms of the normalised flat in the zone"),
        ("FLAT LEVEL MIN", float(levels.min()), "Median level of the faintest flat [ADU]"),
        ("FLAT LEVEL MAX", float(levels.max()), "Median level of the brightest flat [ADU]"),
    ]
    products = [Product("MASTER_IMG_FLAT", flat, qc)]
    if params["bpm"]:
        products.append(Product("MASTER_IMG_FLAT_BADPIX", bad.astype(np.uint8), qc))
    if params["errmap"]:
        # as ESO's: the mean absolute residual of each pixel's fit, in ADU
        error = np.abs(residual).mean(axis=0)
        products.append(Product("MASTER_IMG_FLAT_ERRMAP", error.astype(np.float32), qc))
    if params["intercept"]:
        if proportional:
            log.warning("--intercept has no meaning for the proportional fit; no "
                        "intercept image")
        else:
            products.append(Product("MASTER_IMG_FLAT_INTERC", intercept.astype(np.float32), qc))
    paths = write_products(recipe, products, flats, darks, params, output_dir, log)
    log.info("done in %.2f s", time.monotonic() - started)
    return paths


# --- naco_img_jitter -----------------------------------------------------------------------

JITTER_PARAMS = [
    Param("off", "", "Optional ASCII file of offsets (one 'dx dy' line per object frame)"),
    Param("objs", "", "objects file", used=False),
    Param("oddeven", "FALSE", "Apply the odd-even correction", "bool", used=False),
    Param("xcorr", "40 40 65 65", "Cross correlation search and measure sizes", "ints:4"),
    Param("union", "TRUE", "Combine images using their union (deprecated)", "bool", used=False),
    Param("rej", "2 2", "Low and high number of rejected values", "ints:2"),
    Param("combine_method", "union", "Combine images using one of: first, union, inter"),
    Param("sky_planes", "25", "Planes for the sky of cube data", "int", used=False),
    Param("cube_mode", "saa", "Collapse cube data using one of: add, saa", used=False),
    Param("lucky", "1.0", "In cube mode use only the best fraction of frames", "float",
          used=False),
    Param("save_cube", "FALSE", "Append the cube of corrected object images", "bool",
          used=False),
]
JITTER_TAGS = ["IM_JITTER_OBJ", "IM_JITTER_SKY", "POL_JITTER_OBJ", "POL_JITTER_SKY",
               "NACO_IMG_DARK_AVG", "MASTER_IMG_FLAT", "MASTER_IMG_FLAT_BADPIX"]
WCS_KEYS = ("CTYPE1", "CTYPE2", "CRVAL1", "CRVAL2", "CRPIX1", "CRPIX2", "CD1_1", "CD1_2",
            "CD2_1", "CD2_2", "CUNIT1", "CUNIT2", "CDELT1", "CDELT2")
#: Flat-field values below this are dead pixels, whatever the bad pixel map says.
DEAD_GAIN = 0.1
#: Objects are masked above this many σ of the combined image when the sky is re-estimated.
MASK_SIGMA = 2.5
#: Sources for QC.FWHM: above this many σ, round (|FWHMx − FWHMy| < 20 % of their mean).
DETECT_SIGMA = 5.0
ROUNDNESS = 0.2


def naco_img_jitter(frames, options, output_dir, log):
    """Jittered imaging: dark-subtract, flat-field, repair bad pixels, subtract the sky
    (median of the other frames, then again with the objects masked), register by the
    SEQ.CUMOFFSETX/Y offsets refined by cross-correlation, combine with min/max rejection.
    Product COADDED_IMG with a contribution map; QC BACKGD, BACKGD STDEV, FWHM PIX,
    FWHM ARCSEC, FILTER OBS, FILTER NDENS, FILTER POL."""
    recipe = "naco_img_jitter"
    started = time.monotonic()
    params = parse_options(recipe, JITTER_PARAMS, options, log)
    method = params["combine_method"].strip().lower()
    if method not in ("first", "union", "inter"):
        raise RecipeError(f"parameter --combine_method={params['combine_method']!r}: expected "
                          "first, union or inter")
    nlow, nhigh = params["rej"]
    if nlow < 0 or nhigh < 0:
        raise RecipeError(f"parameter --rej={nlow} {nhigh}: the numbers cannot be negative")
    selected = _select(frames, recipe, JITTER_TAGS, log)
    for tag in ("POL_JITTER_OBJ", "POL_JITTER_SKY"):
        if selected[tag]:
            raise RecipeError(f"{recipe}: polarimetric frames ({tag}, e.g. "
                              f"{selected[tag][0].path}) are not reduced by the Python recipe; "
                              "run the ESO recipe through esorex")
    sky_entries = selected["IM_JITTER_SKY"]
    _require(selected["IM_JITTER_OBJ"], "IM_JITTER_OBJ", recipe, 1 if sky_entries else 2,
             frames, "" if sky_entries else
             " (or IM_JITTER_SKY frames): the sky of each frame is the median of the others")
    for tag in ("NACO_IMG_DARK_AVG", "MASTER_IMG_FLAT", "MASTER_IMG_FLAT_BADPIX"):
        _at_most_one(selected[tag], tag, recipe)

    objects = [read_frame(entry, log) for entry in selected["IM_JITTER_OBJ"]]
    skies = [read_frame(entry, log) for entry in sky_entries]
    for frame in objects + skies:
        frame.number(DIT, "DIT")
    check_same(objects + skies, [DIT, NDIT, CAMERA, *FILTER_KEYS],
               "naco_img_jitter: the jitter frames differ")
    first = objects[0]
    dark = flat = bpm = None
    calibrations = []
    if selected["NACO_IMG_DARK_AVG"]:
        dark = read_frame(selected["NACO_IMG_DARK_AVG"][0], log)
        _check_calibration_shape(dark, first)
        _check_dit(dark, first, recipe)
        calibrations.append(dark)
    else:
        log.warning("no NACO_IMG_DARK_AVG: the frames are not dark-subtracted (the sky "
                    "subtraction removes the dark level)")
    if selected["MASTER_IMG_FLAT"]:
        flat = read_frame(selected["MASTER_IMG_FLAT"][0], log)
        _check_calibration_shape(flat, first)
        if _filter_name(flat) and _filter_name(flat) != _filter_name(first):
            log.warning("the flat %s is for filter %s but the frames are in %s", flat.name,
                        _filter_name(flat), _filter_name(first))
        calibrations.append(flat)
    else:
        log.warning("no MASTER_IMG_FLAT: the frames are not flat-fielded")
    if selected["MASTER_IMG_FLAT_BADPIX"]:
        bpm = read_frame(selected["MASTER_IMG_FLAT_BADPIX"][0], log)
        _check_calibration_shape(bpm, first)
        calibrations.append(bpm)

    shape = first.data.shape
    bad = np.zeros(shape, dtype=bool)
    if flat is not None:
        bad |= ~np.isfinite(flat.data) | (flat.data < DEAD_GAIN)
    if bpm is not None:
        bad |= np.nan_to_num(bpm.data) != 0
    gain = np.where(bad, 1.0, flat.data if flat is not None else 1.0).astype(np.float32)

    def calibrate(frame):
        data = frame.data.astype(np.float32)
        if dark is not None:
            data = data - dark.data
        data = (data / gain).astype(np.float32)
        data[bad | ~np.isfinite(data)] = np.nan
        return data

    calibrated = [calibrate(frame) for frame in objects]
    frame_bad = [~np.isfinite(frame) for frame in calibrated]  # bad pixels, non-finite values
    sky_frames = [calibrate(frame) for frame in skies]
    log.info("%d object and %d sky frames, %d bad pixels; DIT=%g s, filter %s", len(objects),
             len(skies), int(bad.sum()), first.number(DIT), _filter_name(first))

    shifts = _offsets(objects, params["off"], log)
    backgrounds = [float(np.nanmedian(frame)) for frame in calibrated]
    if not all(np.isfinite(backgrounds)):
        raise RecipeError(f"{recipe}: an object frame has no valid pixel after calibration")
    _, sky_noise = robust_stats(nanmedian_stack(sky_frames or calibrated))

    # pass 1: sky from the other frames, register, combine
    masks = [np.zeros(shape, dtype=bool) for _ in calibrated]
    reduced = _subtract_sky(calibrated, sky_frames, masks, backgrounds)
    search = params["xcorr"][:2]  # the measure sizes are not used: whole frames correlate
    if max(search) > 0 and len(objects) > 1:
        shifts = _refine(reduced, shifts, search, log)
    geometry = _geometry(shifts, shape, method)
    combined, contribution = _combine(reduced, shifts, geometry, nlow, nhigh, frame_bad)

    # pass 2: the sky again with the objects of the combined image masked
    object_mask = _object_mask(combined, contribution)
    if object_mask is not None:
        masks = [sample_mask(object_mask, shift, geometry[0], shape) for shift in shifts]
        backgrounds = [
            _masked_median(frame, mask, fallback)
            for frame, mask, fallback in zip(calibrated, masks, backgrounds, strict=True)
        ]
        reduced = _subtract_sky(calibrated, sky_frames, masks, backgrounds)
        combined, contribution = _combine(reduced, shifts, geometry, nlow, nhigh, frame_bad)
        log.info("sky re-estimated with %.1f %% of the combined image masked as objects",
                 100.0 * object_mask.mean())
    combined = np.nan_to_num(combined, nan=0.0).astype(np.float32)

    qc = _jitter_qc(first, combined, contribution, backgrounds, sky_noise, log)
    origin = geometry[0]
    extra = []
    for key in WCS_KEYS:
        value = first.get(key)
        if value is None:
            continue
        if key == "CRPIX1":
            value = float(value) - origin[0]
        elif key == "CRPIX2":
            value = float(value) - origin[1]
        extra.append((key, value, first.header.comments[key]))
    contribution_hdu = fits.ImageHDU(contribution.astype(np.int16))
    contribution_hdu.header["EXTNAME"] = "Contribution Map"  # ESO's spelling, not upper-cased
    product = Product("COADDED_IMG", combined, qc, [contribution_hdu], extra)
    paths = write_products(recipe, [product], objects + skies, calibrations, params, output_dir,
                           log, keep_wcs=True)
    log.info("%d frames combined (%s) into %d×%d pixels in %.2f s", len(objects),
             method, combined.shape[1], combined.shape[0], time.monotonic() - started)
    return paths


def _offsets(objects, off_file, log):
    """The shift (dx, dy) to apply to each object frame to register it on the first: from
    the --off file, else X_0 − X_i, Y_0 − Y_i of ESO SEQ CUMOFFSETX/Y (a frame with offset
    (x, y) shows the field moved by (+x, +y))."""
    if off_file:
        path = Path(off_file)
        try:
            lines = [line.split() for line in path.read_text().splitlines()
                     if line.strip() and not line.lstrip().startswith("#")]
            shifts = [(float(a), float(b)) for a, b, *_ in lines]
        except (OSError, ValueError) as exc:
            raise RecipeError(f"--off={off_file}: cannot read the offsets ({exc}); expected "
                              "one line 'dx dy' per object frame") from exc
        if len(shifts) != len(objects):
            raise RecipeError(f"--off={off_file} has {len(shifts)} offsets for "
                              f"{len(objects)} object frames")
        log.info("offsets from %s", path)
        return shifts
    x = [frame.number("ESO SEQ CUMOFFSETX", "jitter offset (SEQ.CUMOFFSETX)") for frame in objects]
    y = [frame.number("ESO SEQ CUMOFFSETY", "jitter offset (SEQ.CUMOFFSETY)") for frame in objects]
    return [(x[0] - xi, y[0] - yi) for xi, yi in zip(x, y, strict=True)]


def _masked_median(frame, mask, fallback):
    values = frame[~mask]
    values = values[np.isfinite(values)]
    return float(np.median(values)) if values.size > 100 else fallback


def _subtract_sky(calibrated, sky_frames, masks, backgrounds):
    """Each object frame minus its background level and minus the sky pattern: the median
    of the sky frames if any, else of the other object frames, each taken relative to its own
    background and with its masked (object) pixels left out (where every other frame is
    masked, without the masks). Bad pixels are then filled from their neighbours."""
    if sky_frames:
        sky = nanmedian_stack([frame - np.nanmedian(frame) for frame in sky_frames])
        skies = [sky] * len(calibrated)
    else:
        normalised = []
        for frame, mask, level in zip(calibrated, masks, backgrounds, strict=True):
            values = (frame - level).astype(np.float32)
            values[mask] = np.nan
            normalised.append(values)
        skies = medians_of_others(normalised)
        if any(not np.isfinite(sky).all() for sky in skies) and any(m.any() for m in masks):
            unmasked = medians_of_others(
                [frame - level for frame, level in zip(calibrated, backgrounds, strict=True)])
            for sky, fallback in zip(skies, unmasked, strict=True):
                holes = ~np.isfinite(sky)
                sky[holes] = fallback[holes]
    reduced = []
    for frame, level, sky in zip(calibrated, backgrounds, skies, strict=True):
        result = frame - level - sky
        reduced.append(fill_bad(result, ~np.isfinite(result)))
    return reduced


def _geometry(shifts, shape, method):
    """(origin (ox, oy) in pixels of the first frame, output shape) for the method."""
    ny, nx = shape
    dx = [s[0] for s in shifts]
    dy = [s[1] for s in shifts]
    if method == "first":
        return (0, 0), (ny, nx)
    if method == "union":
        ox, oy = math.floor(min(dx) + 1e-6), math.floor(min(dy) + 1e-6)
        x1, y1 = math.ceil(nx - 1 + max(dx) - 1e-6), math.ceil(ny - 1 + max(dy) - 1e-6)
    else:
        ox, oy = math.ceil(max(dx) - 1e-6), math.ceil(max(dy) - 1e-6)
        x1, y1 = math.floor(nx - 1 + min(dx) + 1e-6), math.floor(ny - 1 + min(dy) + 1e-6)
    if x1 < ox or y1 < oy:
        raise RecipeError("naco_img_jitter: the jittered frames have no pixel in common "
                          "(--combine_method=inter); use first or union")
    return (ox, oy), (y1 - oy + 1, x1 - ox + 1)


def _combine(reduced, shifts, geometry, nlow, nhigh, bad):
    """Register and combine the sky-subtracted frames; their bad pixels (`bad`, one mask per
    frame) do not contribute, except where no frame has a good pixel: there the filled values
    do. Returns the image (NaN where no frame reaches) and the contribution map."""
    origin, shape = geometry
    images, valids, covers = [], [], []
    for frame, shift, mask in zip(reduced, shifts, bad, strict=True):
        image, valid = shift_to_grid(frame, mask, shift, origin, shape)
        cover = coverage(frame.shape, shift, origin, shape)
        images.append(image)
        valids.append(valid)
        covers.append(cover)
    images = np.stack(images)
    combined, contribution = combine_rejecting(images, np.stack(valids), nlow, nhigh)
    holes = (contribution == 0) & np.any(covers, axis=0)
    if holes.any():
        filled, _ = combine_rejecting(images, np.stack(covers), nlow, nhigh)
        combined[holes] = filled[holes]
    return combined, contribution


def _refine(reduced, shifts, search, log):
    """Correct each frame's shift by cross-correlating it, registered with the header
    offsets, against the first frame (±search pixels); keep the header offset when the
    correlation finds no clear peak."""
    ny, nx = reduced[0].shape
    reference, _ = _clipped(reduced[0])
    if reference is None:
        log.warning("no sources above the noise in the first frame: header offsets kept")
        return shifts
    correlator = Correlator(reference, search)
    refined = [shifts[0]]
    for index, (frame, shift) in enumerate(zip(reduced[1:], shifts[1:], strict=True), start=2):
        registered, valid = shift_to_grid(frame, None, shift, (0, 0), (ny, nx))
        image, _ = _clipped(np.where(valid, registered, 0.0))
        found = None if image is None else correlator.shift(image)
        if found is None:
            log.warning("frame %d: no cross-correlation peak within ±%d×±%d pixels; header "
                        "offset kept", index, search[0], search[1])
            refined.append(shift)
            continue
        corrected = (shift[0] + found[0], shift[1] + found[1])
        log.info("frame %d: offset (%.2f, %.2f) from the header, (%.2f, %.2f) by "
                 "cross-correlation", index, shift[0], shift[1], corrected[0], corrected[1])
        refined.append(corrected)
    return refined


def _clipped(image):
    """The image with everything below 3σ of its background set to 0 (sources only)."""
    _, sigma = robust_stats(image)
    if not np.isfinite(sigma) or sigma <= 0:
        return None, sigma
    sources = np.where(np.nan_to_num(image) > 3.0 * sigma, np.nan_to_num(image), 0.0)
    if not sources.any():
        return None, sigma
    return sources, sigma


def _object_mask(combined, contribution):
    """Pixels of objects in the combined image: above MASK_SIGMA σ, grown by 2 pixels; None
    when nothing is detected. The threshold rises if it would mask more than 40 %."""
    full = contribution >= max(int(contribution.max()) // 2, 1)
    _, sigma = robust_stats(combined[full])
    if not np.isfinite(sigma) or sigma <= 0:
        return None
    data = np.nan_to_num(combined)
    for level in (MASK_SIGMA, 4.0, 8.0, 16.0):
        mask = dilate(data > level * sigma, 2)
        if mask.mean() <= 0.4:
            return mask if mask.any() else None
    return None


def _jitter_qc(first, combined, contribution, backgrounds, sky_noise, log):
    qc = [
        ("BACKGD", float(np.mean(backgrounds)), "Mean sky background [ADU]"),
        ("BACKGD STDEV", float(sky_noise), "Robust rms of the sky image [ADU]"),
    ]
    full = contribution >= max(int(contribution.max()) // 2, 1)
    _, sigma = robust_stats(combined[full])
    widths = []
    if np.isfinite(sigma) and sigma > 0:
        peaks = local_maxima(np.where(full, combined, np.nan), DETECT_SIGMA * sigma, 10)
        for row, col, _ in peaks[:50]:
            measured = fwhm_at(combined, row, col)
            if measured is None:
                continue
            fx, fy = measured
            mean = 0.5 * (fx + fy)
            if mean >= 1.0 and abs(fx - fy) < ROUNDNESS * mean:
                widths.append(mean)
    pixscale = first.get("ESO INS PIXSCALE")
    if widths:
        fwhm = float(np.median(widths))
        qc.append(("FWHM PIX", fwhm, "Median FWHM of the sources [pixel]"))
        if isinstance(pixscale, (int, float)) and pixscale > 0:
            qc.append(("FWHM ARCSEC", fwhm * float(pixscale), "Median FWHM [arcsec]"))
        log.info("FWHM %.3f pixels from %d sources", fwhm, len(widths))
    else:
        log.warning("no round source above %g σ: no QC.FWHM", DETECT_SIGMA)
    qc += [
        ("FILTER OBS", _filter_name(first) or "empty", "Filter"),
        ("FILTER NDENS", first.text("ESO INS OPTI3 NAME") or "empty", "Neutral density"),
        ("FILTER POL", first.text("ESO INS OPTI4 NAME") or "empty", "Polarizer"),
    ]
    return qc
