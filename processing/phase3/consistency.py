"""Cross-keyword consistency checks on the primary header (exposure, time, coordinates,
MULTI and indexed keywords, photometry, flux calibration).

Each function takes the product and yields (hdu index, keyword, message). A check whose
inputs are missing or not numbers does not apply: the mandatory and type rules report that.
"""

import re
import time

from processing.phase3.kinds import show
from processing.phase3.product import IMAGE_DATA

SECONDS_PER_DAY = 86400.0
MJD_OF_UNIX_EPOCH = 40587.0


def equinox(product):
    system = product.text("RADESYS") or product.text("RADECSYS")
    value = product.primary.get("EQUINOX")
    if system == "FK5" and product.number("EQUINOX") != 2000.0:
        yield 0, "EQUINOX", f"EQUINOX = {show(value)}: RADESYS = 'FK5' needs EQUINOX = 2000.0"
    if system == "ICRS" and value is not None and product.number("EQUINOX") != 2000.0:
        yield 0, "EQUINOX", (f"EQUINOX = {show(value)}: with RADESYS = 'ICRS' EQUINOX may be "
                             "given only as 2000.0")


def mjd_order(product):
    start, end = product.number("MJD-OBS"), product.number("MJD-END")
    if start is not None and end is not None and end < start:
        yield 0, "MJD-END", f"MJD-END = {end!r} is before MJD-OBS = {start!r}"


def mjd_end_not_future(product):
    end = product.number("MJD-END")
    now = time.time() / SECONDS_PER_DAY + MJD_OF_UNIX_EPOCH
    if end is not None and end > now:
        yield 0, "MJD-END", f"MJD-END = {end!r} is in the future (now is MJD {now:.5f})"


def exptime_within_texptime(product):
    exptime, total = product.number("EXPTIME"), product.number("TEXPTIME")
    if exptime is not None and total is not None and not exptime < total + 0.01:
        yield 0, "EXPTIME", (f"EXPTIME = {exptime!r}: expected EXPTIME < TEXPTIME + 0.01 s "
                             f"(TEXPTIME = {total!r})")


def texptime_within_interval(product):
    """TEXPTIME fits between MJD-OBS and MJD-END (0.01 s tolerance); not checked when the
    interval itself is reversed (SCI-MJD-ORDER reports that)."""
    total = product.number("TEXPTIME")
    start, end = product.number("MJD-OBS"), product.number("MJD-END")
    if None in (total, start, end) or end < start:
        return
    span = (end - start) * SECONDS_PER_DAY
    if total > span + 0.01:
        yield 0, "TEXPTIME", (f"TEXPTIME = {total!r} s is longer than MJD-END - MJD-OBS = "
                              f"{span:.3f} s (tolerance 0.01 s)")


def _indexed(product, prefix):
    pattern = re.compile(re.escape(prefix) + r"[1-9]\d*")
    return [key for key in product.primary if pattern.fullmatch(key)]


def multi(keyword, prefix):
    """`keyword` = 'MULTI' exactly when the indexed `<prefix>i` keywords list the values."""
    def run(product):
        value = product.text(keyword)
        if value is None:
            return
        if value != "MULTI" and f"{prefix}1" in product.primary:
            yield 0, keyword, f"{keyword} = {value!r}: must be 'MULTI' when {prefix}1 is given"
        if value == "MULTI":
            for needed in (f"{prefix}1", f"{prefix}2"):
                if needed not in product.primary:
                    yield 0, needed, (f"{needed} is missing: {keyword} = 'MULTI' needs "
                                      f"{prefix}1 and {prefix}2")
    return run


def indexed_unique(prefixes):
    def run(product):
        for prefix in prefixes:
            seen = {}
            for key in _indexed(product, prefix):
                value = product.primary[key]
                value = value.strip() if isinstance(value, str) else value
                if value in seen:
                    yield 0, key, f"{key} = {show(value)} repeats {seen[value]}"
                else:
                    seen[value] = key
    return run


def noesodat(product):
    origin = product.text("ORIGIN")
    if origin is None or origin.startswith("ESO") or origin in ("APEX", "ALMA"):
        return
    if product.primary.get("NOESODAT") is not True:
        yield 0, "NOESODAT", (f"NOESODAT = {show(product.primary.get('NOESODAT'))}: must be T "
                              f"for data of ORIGIN = {origin!r}")


def wavelength_order(product):
    low, high = product.number("WAVELMIN"), product.number("WAVELMAX")
    if low is not None and high is not None and low > high:
        yield 0, "WAVELMIN", f"WAVELMIN = {low!r} is greater than WAVELMAX = {high!r}"


def magnitude_limits(product):
    for index in IMAGE_DATA.select(product):
        limit, saturation = product.number("ABMAGLIM", index), product.number("ABMAGSAT", index)
        if limit is not None and saturation is not None and not limit > saturation:
            yield index, "ABMAGLIM", (f"ABMAGLIM = {limit!r}: must be fainter (greater) than "
                                      f"ABMAGSAT = {saturation!r}")


def image_naxis(product):
    """A single image has its 2-D array in the primary HDU; with the HDUCLASS scheme the
    primary HDU is empty and the image lives in extensions."""
    naxis = product.primary.get("NAXIS")
    wanted = 0 if product.uses_hduclass else 2
    if naxis != wanted:
        why = "the HDUCLASS scheme keeps the image in extensions" if wanted == 0 else \
            "a single image is a 2-D array in the primary HDU"
        yield 0, "NAXIS", f"NAXIS = {show(naxis)}: expected {wanted} ({why})"


def flux_error(product):
    """FLUXERR by FLUXCAL: ABSOLUTE → -2 or 0..100 (per cent); UNCALIBRATED → -1."""
    calibration, error = product.text("FLUXCAL"), product.number("FLUXERR")
    if error is None:
        return
    if calibration == "ABSOLUTE" and not (error == -2 or 0 <= error <= 100):
        yield 0, "FLUXERR", f"FLUXERR = {error!r}: with FLUXCAL = 'ABSOLUTE' expected -2 or 0..100"
    if calibration == "UNCALIBRATED" and error != -1:
        yield 0, "FLUXERR", f"FLUXERR = {error!r}: with FLUXCAL = 'UNCALIBRATED' expected -1"


def total_flux(product):
    calibration = product.text("FLUXCAL")
    if product.primary.get("TOT_FLUX") is True and calibration not in (None, "ABSOLUTE"):
        yield 0, "TOT_FLUX", f"TOT_FLUX = T needs FLUXCAL = 'ABSOLUTE', not {calibration!r}"
