"""The observing plan of one simulated night: which frames are taken when, with what.

A NACO night as the archive shows it: twilight flats after sunset; through the night
observation blocks (OBs) ordered by when their targets cross the meridian, each an
acquisition followed by jitter templates, plus a standard star and OBs in modes Phoenix
does not reduce; twilight flats before sunrise; lamp flats and darks matching every science,
standard and flat setting in the morning. Times are UT for Paranal in the southern winter
(evening flats ~22:45, morning flats ~10:30, darks ~11:00) and stay inside one DFO night
(12:00 UT boundary) for any date. Frames follow each other by integration plus overhead.

The plan holds everything the pixels and headers need, so that those modules only render.
"""

import math
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone

from processing.conventions import make_arcfile, period_of
from processing.simulation import instrument as naco
from processing.simulation import programmes as progs
from processing.simulation.seeds import rng_for, seed_for
from processing.simulation.sky import hour_angle_deg, lst_for_ra

DARK = ("CALIB", "DARK", "IMAGE")
FLAT_SKY = ("CALIB", "FLAT,SKY", "IMAGE")
JITTER = ("SCIENCE", "OBJECT", "IMAGE,JITTER")
STANDARD = ("CALIB", "STD", "IMAGE,JITTER")
ACQUISITION = ("ACQUISITION", "OBJECT", "IMAGE")
LAMP_FLAT = ("CALIB", "FLAT,LAMP", "IMAGE")
SPECTRUM = ("SCIENCE", "OBJECT", "SPECTRUM")
POLARIMETRY = ("SCIENCE", "OBJECT", "POLARIMETRY")
CORONAGRAPHY = ("SCIENCE", "OBJECT", "CORONOGRAPHY")

#: Intended classification of the DPR triples the simulator writes.
RAW_TYPES = {DARK: "DARK", FLAT_SKY: "FLAT_SKY", JITTER: "SCIENCE_IMG", STANDARD: "STD_IMG"}
UNSUPPORTED_MODES = {
    ACQUISITION: "ACQUISITION",
    LAMP_FLAT: "LAMP_FLAT",
    SPECTRUM: "SPECTROSCOPY",
    POLARIMETRY: "POLARIMETRY",
    CORONAGRAPHY: "CORONAGRAPHY",
}

EVENING_FLATS = time(22, 45)
SCIENCE_START = time(23, 15)
SCIENCE_END = time(10, 15)
MORNING_FLATS = time(10, 30)
LAMP_FLATS = time(10, 55)
DARKS = time(11, 2)
#: Twilight sky e-folding time (s): evening flats get darker frame by frame, morning brighter.
TWILIGHT_TAU = 180.0


@dataclass(frozen=True)
class Setup:
    mode: naco.ReadoutMode
    dit: float
    ndit: int
    filter: str | None
    camera: str
    optics: tuple = ()  # (("OPTI1", "Slit_86mas"), …) overriding the imaging defaults

    @property
    def dark_key(self):
        return (self.mode.mode_name, self.dit, self.ndit)


@dataclass
class Block:
    """An observation block (OBS.*) and its position on the sky."""

    obs_id: int
    name: str
    run_id: str
    pi: str
    pi_id: int
    target: progs.Target | None
    ra: float
    dec: float
    start: datetime = None
    observer: str = "UNKNOWN"


@dataclass
class Template:
    tpl_id: str
    name: str
    number: int  # OBS.TPLNO
    nexp: int
    start: datetime = None
    jitter_width: float = 0.0  # arcsec (SEQ.JITTER.WIDTH), for jitter templates


@dataclass
class Exposure:
    kind: str  # dark flat jitter std acquisition lampflat spectrum polarimetry coronagraphy
    dpr: tuple
    setup: Setup
    block: Block
    template: Template
    expno: int
    night: object = None
    start: datetime = None
    offset: tuple = (0.0, 0.0)  # SEQ.CUMOFFSETX/Y, pixels
    sky: float = 0.0  # background rate, ADU/s/pixel (twilight sky for flats)
    lamp: bool = False
    sequence: str = ""
    field: str | None = None  # key of the star field rendered (target name)
    broken: str | None = None  # what the writer must break (see broken.py)

    @property
    def exptime(self):
        return self.setup.dit * self.setup.ndit

    @property
    def duration(self):
        kind = self.kind if self.kind in naco.OVERHEAD else "other"
        return self.exptime + naco.OVERHEAD[kind]

    @property
    def end(self):
        return self.start + timedelta(seconds=self.exptime)

    @property
    def arcfile(self):
        return make_arcfile(naco.INSTRUMENT, self.start)

    @property
    def raw_type(self):
        return RAW_TYPES.get(self.dpr, "UNSUPPORTED")

    @property
    def unsupported_mode(self):
        return None if self.dpr in RAW_TYPES else UNSUPPORTED_MODES[self.dpr]


@dataclass
class Scheduled:
    """An OB's exposures and when, in seconds after SCIENCE_START, it should start."""

    exposures: list
    aim: float = 0.0


def moment(night, clock, next_day):
    day = night + timedelta(days=1 if next_day else 0)
    return datetime.combine(day, clock, tzinfo=timezone.utc)


class _Ids:
    """OBS.IDs: unique per run, stable for a seed."""

    def __init__(self, seed, night):
        self.next = 200000000 + seed_for(seed, "obs", night) % 90000000

    def __call__(self):
        self.next += 17
        return self.next


def plan_night(night, index, seed, broken=False):
    """Every exposure of `night` (a date), with start times and the truth behind them."""
    rng = rng_for(seed, "plan", night.isoformat())
    ids = _Ids(seed, night.isoformat())
    programmes = progs.programmes_for_night(index)
    start = moment(night, SCIENCE_START, False)
    end = moment(night, SCIENCE_END, True)
    span = (end - start).total_seconds()

    science = []
    for slot, programme in enumerate(programmes):
        aim = span * (slot + 0.5) / len(programmes) + rng.uniform(-1800, 1800)
        target = _target_near(programme.targets, start, end, aim)
        science.append(_jitter_block(programme, target, night, ids, rng))
    filters = sorted({e.setup.filter for b in science for e in b.exposures if e.kind == "jitter"},
                     key=list(naco.FILTERS).index)
    standard_aim = span * rng.uniform(0.3, 0.6)
    standard = _standard_block(
        _target_near(progs.STANDARDS, start, end, standard_aim), filters[:2], ids, rng
    )
    side = [
        _side_block(p, _target_near(p.targets, start, end, span * rng.uniform(0.1, 0.9)), night,
                    ids, rng)
        for p in progs.side_programmes_for_night(index)
    ]
    blocks = [*science, standard, *side]
    for block in blocks:
        block.aim = _transit_offset(block, start, end)
    if broken:
        _add_broken_frames(science)

    exposures = []
    evening, morning = filters[: (len(filters) + 1) // 2], filters[(len(filters) + 1) // 2 :]
    clock = moment(night, EVENING_FLATS, False) + timedelta(seconds=float(rng.uniform(0, 90)))
    for name in evening:
        clock = _run_flats(exposures, name, clock, ids, rng, rising=False)
    _schedule(blocks, start, end, rng)
    for block in blocks:
        exposures.extend(block.exposures)
    clock = moment(night, MORNING_FLATS, True) + timedelta(seconds=float(rng.uniform(0, 60)))
    for name in morning or filters[:1]:
        clock = _run_flats(exposures, name, clock, ids, rng, rising=True)
    clock = max(clock, moment(night, LAMP_FLATS, True))
    clock = _run_lamp_flats(exposures, filters[0], clock, ids, rng)
    clock = max(clock, moment(night, DARKS, True))
    _run_darks(exposures, clock, ids, rng, broken)
    for exposure in exposures:
        exposure.night = night
    exposures.sort(key=lambda e: e.start)
    return exposures


# --- blocks ------------------------------------------------------------------------------


def _target_near(targets, start, end, aim):
    """The target closest to the meridian `aim` seconds into the night."""
    when = start + timedelta(seconds=aim)
    return min(targets, key=lambda t: abs(hour_angle_deg(when, t.ra)))


def _transit_offset(scheduled, start, end):
    duration = sum(e.duration for e in scheduled.exposures)
    return lst_for_ra(start, end, scheduled.exposures[0].block.ra) - duration / 2


def _new_block(ids, run_id, pi, pi_id, target, name, observer):
    return Block(ids(), name, run_id, pi, pi_id, target, target.ra, target.dec, observer=observer)


def _jitter_block(programme, target, night, ids, rng):
    observer = progs.OBSERVERS[int(rng.integers(len(progs.OBSERVERS)))]
    name = f"{target.name.replace(' ', '_')}_{'+'.join(programme.filters)}"
    block = _new_block(ids, progs.run_id(programme, night), programme.pi, programme.pi_id, target,
                       name[:32], observer)
    mode = naco.READOUT_MODES[programme.readout]
    camera = naco.CAMERAS[programme.camera]
    acquisition = Template("NACO_img_acq_MoveToPixel", "Acquisition", 1, 1)
    exposures = [
        Exposure("acquisition", ACQUISITION,
                 Setup(naco.READOUT_MODES["HighDynamic"], 2.0, 5, programme.filters[0],
                       programme.camera), block, acquisition, 1, field=target.name)
    ]
    for number, filter_name in enumerate(programme.filters, start=2):
        template = Template("NACO_img_obs_AutoJitter", "AutoJitter", number, programme.nexp,
                            jitter_width=programme.jitter_box)
        setup = Setup(mode, programme.dit, programme.ndit, filter_name, programme.camera)
        half_box = programme.jitter_box / 2 / camera.pixscale
        sky = naco.sky_rate(filter_name, programme.camera) * float(rng.uniform(0.85, 1.25))
        for expno in range(1, programme.nexp + 1):
            offset = (0.0, 0.0) if expno == 1 else tuple(
                round(float(v), 2) for v in rng.uniform(-half_box, half_box, 2)
            )
            exposures.append(Exposure("jitter", JITTER, setup, block, template, expno,
                                      offset=offset, sky=sky, field=target.name))
    return Scheduled(exposures)


def _standard_block(star, filters, ids, rng):
    block = _new_block(ids, progs.CALIBRATION_RUN, "UNKNOWN", 0, star, "STD_" + star.name,
                       "UNKNOWN")
    mode = naco.READOUT_MODES["HighDynamic"]
    step = 1.5 / naco.CAMERAS["S27"].pixscale
    pattern = [(0.0, 0.0), (step, step), (-step, step), (-step, -step), (step, -step)]
    exposures = [
        Exposure("acquisition", ACQUISITION, Setup(mode, 0.5, 10, filters[0], "S27"), block,
                 Template("NACO_img_acq_MoveToPixel", "Acquisition", 1, 1), 1, field=star.name)
    ]
    for number, filter_name in enumerate(filters, start=2):
        template = Template("NACO_img_cal_StandardStar", "StandardStar", number, len(pattern),
                            jitter_width=3.0)
        setup = Setup(mode, 0.5, 20, filter_name, "S27")
        sky = naco.sky_rate(filter_name, "S27") * float(rng.uniform(0.85, 1.25))
        for expno, (dx, dy) in enumerate(pattern, start=1):
            exposures.append(Exposure("std", STANDARD, setup, block, template, expno,
                                      offset=(round(dx, 2), round(dy, 2)), sky=sky,
                                      field=star.name))
    return Scheduled(exposures)


_SIDE = {
    "SPECTROSCOPY": (SPECTRUM, "spectrum", "NACO_spec_obs_AutoNodOnSlit", "AutoNodOnSlit", 4,
                     "HighSensitivity", 30.0, 2, "Ks", "S54",
                     (("OPTI1", "Slit_86mas"), ("OPTI4", "Grism_SK"))),
    "POLARIMETRY": (POLARIMETRY, "polarimetry", "NACO_pol_obs_GenericOffset", "GenericOffset", 4,
                    "HighDynamic", 10.0, 3, "H", "S27",
                    (("OPTI3", "Wollaston_00"), ("OPTI4", "Wollaston_45"))),
    "CORONAGRAPHY": (CORONAGRAPHY, "coronagraphy", "NACO_coro_obs_Stare", "CoroStare", 3,
                     "HighDynamic", 20.0, 3, "Ks", "S13", (("OPTI1", "C_0.7_sep_10"),)),
}


def _side_block(programme, target, night, ids, rng):
    dpr, kind, tpl_id, tpl_name, nexp, readout, dit, ndit, filter_name, camera, optics = _SIDE[
        programme.mode
    ]
    block = _new_block(ids, programme.run_id(period_of(night)), programme.pi, programme.pi_id,
                       target, f"{target.name.replace(' ', '_')}_{kind}"[:32], "UNKNOWN")
    setup = Setup(naco.READOUT_MODES[readout], dit, ndit, filter_name, camera, optics)
    acquisition = Template("NACO_img_acq_MoveToPixel", "Acquisition", 1, 1)
    exposures = [
        Exposure("acquisition", ACQUISITION,
                 Setup(naco.READOUT_MODES["HighDynamic"], 1.0, 10, filter_name, camera),
                 block, acquisition, 1, field=target.name)
    ]
    template = Template(tpl_id, tpl_name, 2, nexp)
    sky = naco.sky_rate(filter_name, camera) * float(rng.uniform(0.85, 1.25))
    nod = 6.0 / naco.CAMERAS[camera].pixscale / 4
    for expno in range(1, nexp + 1):
        offset = (0.0, (nod if expno % 4 in (1, 0) else -nod) if kind == "spectrum" else 0.0)
        exposures.append(Exposure(kind, dpr, setup, block, template, expno,
                                  offset=(0.0, round(offset[1], 2)), sky=sky, field=target.name))
    return Scheduled(exposures)


def _add_broken_frames(science):
    """Extra acquisition frames and a dark that the writer breaks on purpose (see broken.py).

    Real archives hold such files: a transfer cut short, an error page saved under a FITS
    name, a header with a NaN, a frame whose ARCFILE card was lost, a header dump with an
    over-long card. They are extra frames, so every normal sequence stays complete.
    """
    wanted = [["truncated", "not_fits"], ["no_arcfile"], ["long_card_hdr"]]
    for block, kinds in zip(science, wanted, strict=False):
        acquisition = block.exposures[0]
        template = acquisition.template
        for kind in kinds:
            template.nexp += 1
            block.exposures.insert(
                template.nexp - 1,
                Exposure(acquisition.kind, acquisition.dpr, acquisition.setup, acquisition.block,
                         template, template.nexp, field=acquisition.field, broken=kind),
            )


def _schedule(blocks, start, end, rng):
    """Start each OB near its targets' meridian passage, in order, never overlapping; if the
    last would end after `end`, pack the OBs backwards from `end` instead."""
    blocks.sort(key=lambda b: b.aim)
    clock = start
    for block in blocks:
        aim = start + timedelta(seconds=max(0.0, block.aim))
        clock = max(clock, aim) + timedelta(seconds=float(rng.uniform(60, 240)))
        clock = _run_block(block.exposures, clock, rng)
    if clock <= end:
        return
    latest = end
    for block in reversed(blocks):
        finish = block.exposures[-1].start + timedelta(seconds=block.exposures[-1].duration)
        if finish > latest:
            _shift(block.exposures, latest - finish)
        latest = block.exposures[0].block.start - timedelta(seconds=120)
    if blocks[0].exposures[0].block.start < start:
        raise ValueError("the simulated night holds more observations than fit into it")


def _shift(exposures, delta):
    moved = set()
    for exposure in exposures:
        exposure.start = _ms(exposure.start + delta)
        for thing in (exposure.template, exposure.block):
            if id(thing) not in moved:
                thing.start += delta
                moved.add(id(thing))
        exposure.sequence = (
            f"{exposure.template.tpl_id}@{exposure.template.start:%Y-%m-%dT%H:%M:%S}"
        )


def _run_block(exposures, clock, rng):
    """Give the OB's exposures start times, one after the other; return the clock after them."""
    block = exposures[0].block
    block.start = clock
    template = None
    for exposure in exposures:
        if exposure.template is not template:
            template = exposure.template
            clock += timedelta(seconds=float(rng.uniform(20, 90)))  # preset, AO loop closing
            template.start = clock
        exposure.start = _ms(clock)
        exposure.sequence = f"{template.tpl_id}@{template.start:%Y-%m-%dT%H:%M:%S}"
        clock += timedelta(seconds=exposure.duration + float(rng.uniform(0.0, 2.0)))
    return clock


def _ms(moment_):
    return moment_.replace(microsecond=(moment_.microsecond // 1000) * 1000)


def _calibration_block(ids, name):
    """Darks and flats: no target; the telescope points near the zenith (RA = LST)."""
    return Block(ids(), name, progs.CALIBRATION_RUN, "UNKNOWN", 0, None, None,
                 naco.SITE_LATITUDE)


def _run_flats(exposures, filter_name, clock, ids, rng, rising):
    """One twilight-flat template: constant DIT, the sky fading (evening) or rising (morning)."""
    block = _calibration_block(ids, f"CAL_TwFlat_{filter_name}")
    template = Template("NACO_img_cal_SkyFlats", "SkyFlats", 1, 7)
    setup = Setup(naco.READOUT_MODES["HighDynamic"], 1.0, 15, filter_name, "S27")
    peak = naco.FILTERS[filter_name].twilight_rate * float(rng.uniform(0.9, 1.1))
    frames = [Exposure("flat", FLAT_SKY, setup, block, template, n) for n in range(1, 8)]
    clock = _run_block(frames, clock, rng)
    first = frames[0].start
    for frame in frames:
        elapsed = (frame.start - first).total_seconds()
        rate = peak / 7.0 * math.exp(elapsed / TWILIGHT_TAU) if rising else peak * math.exp(
            -elapsed / TWILIGHT_TAU)
        frame.sky = round(rate, 3)
    exposures.extend(frames)
    return clock


def _run_lamp_flats(exposures, filter_name, clock, ids, rng):
    block = _calibration_block(ids, f"CAL_LampFlat_{filter_name}")
    template = Template("NACO_img_cal_LampFlats", "LampFlats", 1, 4)
    setup = Setup(naco.READOUT_MODES["HighDynamic"], 0.5, 10, filter_name, "S27")
    frames = [Exposure("lampflat", LAMP_FLAT, setup, block, template, n, lamp=n % 2 == 1)
              for n in range(1, 5)]
    clock = _run_block(frames, clock, rng)
    exposures.extend(frames)
    return clock


def _run_darks(exposures, clock, ids, rng, broken):
    """Three darks for every (read-out mode, DIT, NDIT) of the night's science, standards and
    flats, as the calibration plan asks; with `broken`, a fourth in the first group."""
    settings = {}
    for exposure in exposures:
        if exposure.kind in ("jitter", "std", "flat"):
            settings.setdefault(exposure.setup.dark_key, exposure.setup)
    for number, (_, setup) in enumerate(sorted(settings.items(), key=lambda kv: kv[0][1:])):
        block = _calibration_block(ids, "CAL_Darks")
        dark_setup = Setup(setup.mode, setup.dit, setup.ndit, None, setup.camera,
                           (("OPTI6", "Dark"),))
        count = 4 if broken and number == 0 else 3
        template = Template("NACO_img_cal_Darks", "Darks", 1, count)
        frames = [Exposure("dark", DARK, dark_setup, block, template, n) for n in range(1, count + 1)]
        if count == 4:
            frames[-1].broken = "nan_card"
        clock = _run_block(frames, clock, rng) + timedelta(seconds=15)
        exposures.extend(frames)
