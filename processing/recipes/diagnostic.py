"""Diagnostic recipes: predictable behaviour for fault tests and benchmarks.

`phoenix_wait` runs for a given time, optionally writes one tiny product, optionally fails —
so the queue can be driven through slow, productive and failing ABs without real data
(tests/test_fault.py, benchmarks/fault_run.py). Options, esorex style:

    --seconds=S     sleep S seconds (default 0)
    --write=CATG    write one product, HIERARCH ESO PRO CATG = CATG, with MJD-OBS
    --mjd-obs=MJD   the product's MJD-OBS (default: now)
    --fail=TRUE     end with a RecipeError (after the sleep, before any write)

The product is written atomically (temporary file in the output directory, then rename), so
a recipe killed mid-write leaves no half product that could be collected.
"""

import math
import os
import time
from datetime import UTC, datetime

from processing.recipes.errors import RecipeError

PIPE_ID = "phoenix/diagnostic"
MJD_UNIX_EPOCH = 40587.0  # MJD of 1970-01-01T00:00:00 UT
TRUE = {"TRUE", "T", "YES", "Y", "1"}
FALSE = {"FALSE", "F", "NO", "N", "0", ""}


def _flag(options, name):
    value = str(options.get(name, "FALSE")).strip().upper()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise RecipeError(f"--{name}={options[name]!r}: expected TRUE or FALSE")


def _number(options, name, default):
    text = options.get(name)
    if text is None or str(text).strip() == "":
        return default
    try:
        value = float(text)
    except ValueError:
        raise RecipeError(f"--{name}={text!r} is not a number") from None
    if not math.isfinite(value):
        raise RecipeError(f"--{name}={text!r} is not a finite number")
    return value


def _catg(options):
    catg = str(options.get("write", "")).strip()
    if catg and (len(catg) > 60 or not all(c.isalnum() or c in "_-" for c in catg)):
        raise RecipeError(
            f"--write={catg!r}: a PRO.CATG is letters, digits, _ and - (≤ 60)"
        )
    return catg


def mjd_now():
    return MJD_UNIX_EPOCH + time.time() / 86400.0


def write_product(output_dir, catg, mjd_obs, recipe="phoenix_wait"):
    """Write `<catg lower case>.fits` (header only) atomically; return its path."""
    from astropy.io import fits

    header = fits.Header()
    header["MJD-OBS"] = (float(mjd_obs), "Observation start (diagnostic)")
    header["DATE"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    header["PIPEFILE"] = f"{catg.lower()}.fits"
    header["HIERARCH ESO PRO CATG"] = catg
    header["HIERARCH ESO PRO TYPE"] = "REDUCED"
    header["HIERARCH ESO PRO REC1 ID"] = recipe
    header["HIERARCH ESO PRO REC1 PIPE ID"] = PIPE_ID
    path = output_dir / f"{catg.lower()}.fits"
    temporary = output_dir / f".{path.name}.{os.getpid()}.tmp"
    try:
        fits.PrimaryHDU(header=header).writeto(temporary, overwrite=True)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def phoenix_wait(frames, options, output_dir, log):
    """Sleep --seconds, then fail (--fail=TRUE) or write one --write=CATG product."""
    seconds = _number(options, "seconds", 0.0)
    if seconds < 0:
        raise RecipeError(f"--seconds={options['seconds']!r} must not be negative")
    fail = _flag(options, "fail")
    catg = _catg(options)
    mjd_obs = _number(options, "mjd-obs", None)
    log.info("phoenix_wait: %d frames, sleeping %g s", len(frames), seconds)
    if seconds:
        time.sleep(seconds)
    if fail:
        raise RecipeError(f"failing on purpose (--fail=TRUE) after {seconds:g} s")
    if not catg:
        return []
    path = write_product(output_dir, catg, mjd_now() if mjd_obs is None else mjd_obs)
    log.info("phoenix_wait: wrote %s (PRO.CATG %s)", path.name, catg)
    return [path]
