"""The daytime calibration plan: twilight flats, lamp flats and darks.

Twilight flats keep DIT constant while the sky fades (evening) or brightens (morning), so
that naco_img_twflat can fit each pixel's response against the level; darks come in threes
for every (read-out mode, DIT, NDIT) that the night's science, standards and flats used, as
the calibration plan requests them. Each function places its frames from `clock` on and
returns the clock after them.
"""

import math
from datetime import timedelta

from processing.simulation import instrument as naco
from processing.simulation import programmes as progs
from processing.simulation.exposures import (
    DARK,
    FLAT_SKY,
    LAMP_FLAT,
    Block,
    Exposure,
    Setup,
    Template,
)
from processing.simulation.timeline import run_block

#: Twilight sky e-folding time (s) and frames per twilight-flat template.
TWILIGHT_TAU = 180.0
TWILIGHT_FRAMES = 7
DARKS_PER_SETTING = 3


def calibration_block(ids, name):
    """Darks and flats: no target; the telescope points near the zenith (RA = LST)."""
    return Block(ids(), name, progs.CALIBRATION_RUN, "UNKNOWN", 0, None, None,
                 naco.SITE_LATITUDE)


def twilight_flats(exposures, filter_name, clock, ids, rng, rising):
    """One NACO_img_cal_SkyFlats template; the sky rate of each frame is its truth."""
    block = calibration_block(ids, f"CAL_TwFlat_{filter_name}")
    template = Template("NACO_img_cal_SkyFlats", "SkyFlats", 1, TWILIGHT_FRAMES)
    setup = Setup(naco.READOUT_MODES["HighDynamic"], 1.0, 15, filter_name, "S27")
    peak = naco.FILTERS[filter_name].twilight_rate * float(rng.uniform(0.9, 1.1))
    frames = [Exposure("flat", FLAT_SKY, setup, block, template, n)
              for n in range(1, TWILIGHT_FRAMES + 1)]
    clock = run_block(frames, clock, rng)
    for frame in frames:
        elapsed = (frame.start - frames[0].start).total_seconds()
        if rising:
            rate = peak / 7.0 * math.exp(elapsed / TWILIGHT_TAU)
        else:
            rate = peak * math.exp(-elapsed / TWILIGHT_TAU)
        frame.sky = round(rate, 3)
    exposures.extend(frames)
    return clock


def lamp_flats(exposures, filter_name, clock, ids, rng):
    """NACO_img_cal_LampFlats: the halogen lamp on and off in turn (INS.LAMP2.SET)."""
    block = calibration_block(ids, f"CAL_LampFlat_{filter_name}")
    template = Template("NACO_img_cal_LampFlats", "LampFlats", 1, 4)
    setup = Setup(naco.READOUT_MODES["HighDynamic"], 0.5, 10, filter_name, "S27")
    frames = [Exposure("lampflat", LAMP_FLAT, setup, block, template, n, lamp=n % 2 == 1)
              for n in range(1, 5)]
    clock = run_block(frames, clock, rng)
    exposures.extend(frames)
    return clock


def darks(exposures, clock, ids, rng, broken):
    """Darks for every setting of the night's science, standards and flats; with `broken`, a
    fourth dark in the first group carries a NaN card (see broken.py)."""
    settings = {}
    for exposure in exposures:
        if exposure.kind in ("jitter", "std", "flat"):
            settings.setdefault(exposure.setup.dark_key, exposure.setup)
    ordered = sorted(settings.items(), key=lambda item: item[0][1:])  # by DIT, NDIT
    for number, (_, setup) in enumerate(ordered):
        block = calibration_block(ids, "CAL_Darks")
        dark_setup = Setup(setup.mode, setup.dit, setup.ndit, None, setup.camera,
                           (("OPTI6", "Dark"),))
        count = DARKS_PER_SETTING + (1 if broken and number == 0 else 0)
        template = Template("NACO_img_cal_Darks", "Darks", 1, count)
        frames = [Exposure("dark", DARK, dark_setup, block, template, n)
                  for n in range(1, count + 1)]
        if count > DARKS_PER_SETTING:
            frames[-1].broken = "nan_card"
        clock = run_block(frames, clock, rng) + timedelta(seconds=15)
        exposures.extend(frames)
    return clock
