"""SCIENCE.SPECTRUM checks that need more than one keyword: the BINTABLE extension's
columns, its agreement with the primary header, and the spectrum's data (one row of arrays:
wavelength, flux, error …).

Each function takes the product and yields (hdu index or None, keyword, message). The
extension is HDU 1 (written `1:` in ESO's check list).
"""

import numpy as np

from processing.phase3.consistency import SECONDS_PER_DAY
from processing.phase3.kinds import show
from processing.phase3.product import SPECTRUM_TABLE

TABLE = 1
#: TUNIT1 of a WAVE column → nanometres (WAVELMIN, WAVELMAX and SPEC_BIN are in nm).
NM_PER_UNIT = {"angstrom": 0.1, "nm": 1.0, "um": 1000.0}


def table_present(product):
    if _has_table(product):
        return
    if len(product.hdul) > TABLE:
        yield TABLE, "XTENSION", (f"XTENSION = {show(product.values(TABLE).get('XTENSION'))}: "
                                  "HDU 1 must be the spectrum's BINTABLE extension")
    else:
        yield None, "XTENSION", "no HDU 1: the spectrum needs a BINTABLE extension (XTENSION)"


def _has_table(product):
    return bool(SPECTRUM_TABLE.select(product))


def _columns(product, keyword):
    """(`<keyword>n`, value) for every column n of the table."""
    header = product.values(TABLE)
    return [(f"{keyword}{number}", header.get(f"{keyword}{number}"))
            for number in range(1, header.get("TFIELDS", 0) + 1)]


def same_formats(product):
    if not _has_table(product):
        return
    formats = _columns(product, "TFORM")
    for keyword, value in formats[1:]:
        if value != formats[0][1]:
            yield TABLE, keyword, (f"{keyword} = {show(value)}: every column needs the same "
                                   f"format as TFORM1 = {formats[0][1]!r}")


def no_skyback(product):
    if not _has_table(product):
        return
    for keyword, value in _columns(product, "TTYPE"):
        if isinstance(value, str) and value.strip() == "SKYBACK":
            yield TABLE, keyword, f"{keyword} = 'SKYBACK' is not allowed: name it BGFLUX"


def flux_units_agree(product):
    flux, error = product.text("TUNIT2", TABLE), product.text("TUNIT3", TABLE)
    if _has_table(product) and flux is not None and error is not None and flux != error:
        yield TABLE, "TUNIT3", (f"TUNIT3 = {error!r}: the error needs the flux's unit, "
                                f"TUNIT2 = {flux!r}")


def _agree(keyword, expected, tolerance, wording):
    """Extension `keyword` equals `expected(product)` within `tolerance`."""
    def run(product):
        if not _has_table(product):
            return
        value, wanted = product.number(keyword, TABLE), expected(product)
        if value is not None and wanted is not None and abs(value - wanted) > tolerance:
            yield TABLE, keyword, (f"{keyword} = {value!r}: expected {wording} = {wanted!r} "
                                   f"(tolerance {tolerance:g})")
    return run


def _interval(combine):
    """combine(MJD-OBS, MJD-END), or None without both."""
    def value(product):
        start, end = product.number("MJD-OBS"), product.number("MJD-END")
        return None if start is None or end is None else combine(start, end)
    return value


def _wavelength_range(combine):
    """combine(WAVELMIN, WAVELMAX), or None without both."""
    def value(product):
        low, high = product.number("WAVELMIN"), product.number("WAVELMAX")
        return None if low is None or high is None else combine(low, high)
    return value


ra_matches = _agree("RA", lambda p: p.number("RA"), 1e-7, "the primary RA")
dec_matches = _agree("DEC", lambda p: p.number("DEC"), 1e-7, "the primary DEC")
telapse_is_interval = _agree(
    "TELAPSE", _interval(lambda start, end: (end - start) * SECONDS_PER_DAY), 0.1,
    "(MJD-END - MJD-OBS) in seconds")
tmid_is_middle = _agree(
    "TMID", _interval(lambda start, end: (start + end) / 2), 1e-4, "(MJD-OBS + MJD-END) / 2")
spec_val_is_centre = _agree(
    "SPEC_VAL", _wavelength_range(lambda low, high: (low + high) / 2), 1e-3,
    "(WAVELMIN + WAVELMAX) / 2")
spec_bw_is_width = _agree(
    "SPEC_BW", _wavelength_range(lambda low, high: high - low), 1e-3, "WAVELMAX - WAVELMIN")


def object_matches(product):
    if not _has_table(product):
        return
    primary, table = product.text("OBJECT"), product.text("OBJECT", TABLE)
    if primary is not None and table is not None and primary != table:
        yield TABLE, "OBJECT", f"OBJECT = {table!r}: expected the primary OBJECT = {primary!r}"


def telapse_covers_texptime(product):
    elapsed, total = product.number("TELAPSE", TABLE), product.number("TEXPTIME")
    if _has_table(product) and None not in (elapsed, total) and elapsed < total - 0.1:
        yield TABLE, "TELAPSE", (f"TELAPSE = {elapsed!r}: expected at least TEXPTIME = "
                                 f"{total!r} (tolerance 0.1 s)")


def _table_data(product):
    """The table's rows, or None when there are none or astropy cannot build them (it needs
    every column named: SPECTRUM-EXT-TTYPEn-MANDATORY reports a missing TTYPEn)."""
    try:
        data = product.hdul[TABLE].data
    except ValueError:
        return None
    return data if data is not None and len(data) else None


def _wavelengths(product):
    """The WAVE array of the single row in its own unit, and the factor to nm; None when the
    data checks do not apply (no table, no row, not WAVE, unit unsupported)."""
    if not _has_table(product) or product.text("TTYPE1", TABLE) != "WAVE":
        return None
    factor = NM_PER_UNIT.get((product.text("TUNIT1", TABLE) or "").lower())
    data = _table_data(product)
    if factor is None or data is None:
        return None
    wave = np.asarray(data[0][0], dtype=float).ravel()
    return (wave, factor) if wave.size >= 2 else None


def wave_increasing(product):
    found = _wavelengths(product)
    if found is None:
        return
    steps = np.diff(found[0])
    bad = np.flatnonzero(~(steps > 0))
    if bad.size:
        first = int(bad[0])
        yield TABLE, "WAVE", (f"WAVE is not strictly increasing: element {first + 1} "
                              f"({found[0][first + 1]!r}) follows {found[0][first]!r}")


def spec_bin_matches(product):
    found, spec_bin = _wavelengths(product), product.number("SPEC_BIN")
    if found is None or spec_bin is None:
        return
    median = float(np.median(np.diff(found[0]))) * found[1]
    if not median / 2 <= spec_bin <= median * 1.5:
        yield 0, "SPEC_BIN", (f"SPEC_BIN = {spec_bin!r} nm: expected between half and 1.5 "
                              f"times the median bin of the data ({median:.6g} nm)")


def _against_data(keyword, index, in_nm, wrong, wording):
    """`keyword` (WAVELMIN/WAVELMAX in nm in the primary HDU, TDMIN1/TDMAX1 in TUNIT1 in the
    table) against the first and last wavelength: `wrong(value, first, last, tolerance)`, the
    tolerance being half the largest bin."""
    def run(product):
        found, value = _wavelengths(product), product.number(keyword, index)
        if found is None or value is None:
            return
        wave, factor = found
        scale = factor if in_nm else 1.0
        first, last = wave[0] * scale, wave[-1] * scale
        tolerance = float(np.max(np.diff(wave))) * scale / 2
        if wrong(value, first, last, tolerance):
            unit = "nm" if in_nm else product.text("TUNIT1", TABLE)
            yield index, keyword, (f"{keyword} = {value!r} {unit}: "
                                   f"{wording.format(first=first, last=last)} (tolerance "
                                   f"{tolerance:.6g} {unit}, half the largest bin)")
    return run


wavelmin_in_data = _against_data(
    "WAVELMIN", 0, True, lambda value, first, last, tolerance: value < first - tolerance,
    "below the first wavelength, {first:.6g}")
wavelmax_in_data = _against_data(
    "WAVELMAX", 0, True, lambda value, first, last, tolerance: value > last + tolerance,
    "beyond the last wavelength, {last:.6g}")
tdmin_is_first = _against_data(
    "TDMIN1", TABLE, False, lambda value, first, last, tolerance: abs(value - first) > tolerance,
    "expected the first wavelength, {first:.6g}")
tdmax_is_last = _against_data(
    "TDMAX1", TABLE, False, lambda value, first, last, tolerance: abs(value - last) > tolerance,
    "expected the last wavelength, {last:.6g}")


def no_infinities(product):
    data = _table_data(product) if _has_table(product) else None
    if data is None:
        return
    for number, name in enumerate(data.columns.names, start=1):
        values = np.asarray(data[0][number - 1])
        if values.dtype.kind in "fc" and np.isinf(values).any():
            count = int(np.isinf(values).sum())
            yield TABLE, f"TTYPE{number}", (f"TTYPE{number} = {name!r}: the column holds "
                                            f"{count} infinite value(s); Inf is not allowed")
