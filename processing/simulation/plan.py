"""The observing plan of one simulated night: which frames are taken when.

A NACO night as the archive shows it: twilight flats after sunset; through the night
observation blocks ordered by when their targets cross the meridian (jitter science of
three programmes, a standard star, two OBs in modes Phoenix does not reduce); twilight
flats before sunrise; lamp flats and darks in the morning. Times are UT for Paranal in the
southern winter (evening flats ~22:45, morning flats ~10:30, darks ~11:00) and stay inside
one DFO night (12:00 UT boundary) for any date. Frames follow each other by integration
plus overhead; the same seed gives the same plan.
"""

from datetime import time, timedelta

from processing.simulation import calibrations, instrument as naco
from processing.simulation import programmes as progs
from processing.simulation.blocks import (
    ObsIds,
    add_broken_frames,
    jitter_block,
    side_block,
    standard_block,
    target_near,
)
from processing.simulation.seeds import rng_for
from processing.simulation.sky import lst_for_ra
from processing.simulation.timeline import moment, schedule

EVENING_FLATS = time(22, 45)
SCIENCE_START = time(23, 15)
SCIENCE_END = time(10, 15)
MORNING_FLATS = time(10, 30)
LAMP_FLATS = time(10, 55)
DARKS = time(11, 2)


def plan_night(night, index, seed, broken=False):
    """Every exposure of `night` (a date; `index` counts the nights of the run), with start
    times, setups, offsets and the sky behind them, in time order."""
    rng = rng_for(seed, "plan", night.isoformat())
    ids = ObsIds(seed, night)
    start = moment(night, SCIENCE_START, False)
    end = moment(night, SCIENCE_END, True)
    span = (end - start).total_seconds()

    programmes = progs.programmes_for_night(index)
    science = []
    for slot, programme in enumerate(programmes):
        aim = span * (slot + 0.5) / len(programmes) + rng.uniform(-1800, 1800)
        target = target_near(programme.targets, start, aim)
        science.append(jitter_block(programme, target, night, ids, rng))
    filters = sorted(
        {e.setup.filter for s in science for e in s.exposures if e.kind == "jitter"},
        key=list(naco.FILTERS).index,
    )
    star = target_near(progs.STANDARDS, start, span * rng.uniform(0.3, 0.6))
    standard = standard_block(star, filters[:2], ids, rng)
    side = [
        side_block(p, target_near(p.targets, start, span * rng.uniform(0.1, 0.9)), night,
                   ids, rng)
        for p in progs.side_programmes_for_night(index)
    ]
    blocks = [*science, standard, *side]
    for scheduled in blocks:
        duration = sum(e.duration for e in scheduled.exposures)
        transit = lst_for_ra(start, end, scheduled.exposures[0].block.ra)
        scheduled.aim = transit - duration / 2
    if broken:
        add_broken_frames(science)

    exposures = []
    half = (len(filters) + 1) // 2
    evening, morning = filters[:half], filters[half:] or filters[:1]
    clock = moment(night, EVENING_FLATS, False) + timedelta(seconds=float(rng.uniform(0, 90)))
    for name in evening:
        clock = calibrations.twilight_flats(exposures, name, clock, ids, rng, rising=False)
    schedule(blocks, start, end, rng)
    for scheduled in blocks:
        exposures.extend(scheduled.exposures)
    clock = moment(night, MORNING_FLATS, True) + timedelta(seconds=float(rng.uniform(0, 60)))
    for name in morning:
        clock = calibrations.twilight_flats(exposures, name, clock, ids, rng, rising=True)
    clock = max(clock, moment(night, LAMP_FLATS, True))
    clock = calibrations.lamp_flats(exposures, filters[0], clock, ids, rng)
    clock = max(clock, moment(night, DARKS, True))
    calibrations.darks(exposures, clock, ids, rng, broken)
    for exposure in exposures:
        exposure.night = night
    exposures.sort(key=lambda e: e.start)
    return exposures
