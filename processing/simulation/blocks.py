"""What the night-time OBs contain: jitter science, a standard star, unsupported modes.

Each builder returns the OB's exposures in order (acquisition first, as NACO OBs start),
without times; timeline.py places them. Setups follow the programmes (programmes.py);
jitter offsets are random within the programme's jitter box, the first at (0, 0) as
NACO_img_obs_AutoJitter starts on the target.
"""

from datetime import timedelta

from processing.conventions import period_of
from processing.simulation import instrument as naco
from processing.simulation import programmes as progs
from processing.simulation.exposures import (
    ACQUISITION,
    CORONAGRAPHY,
    JITTER,
    POLARIMETRY,
    SPECTRUM,
    STANDARD,
    Block,
    Exposure,
    Scheduled,
    Setup,
    Template,
)
from processing.simulation.seeds import seed_for
from processing.simulation.sky import hour_angle_deg

ACQUISITION_TEMPLATE = ("NACO_img_acq_MoveToPixel", "Acquisition")
#: Offsets of NACO_img_cal_StandardStar: the star in the centre, then in each quadrant.
STANDARD_STEP_ARCSEC = 1.5


class ObsIds:
    """OBS.IDs: unique within a night, stable for a seed."""

    def __init__(self, seed, night):
        self.next = 200000000 + seed_for(seed, "obs", night.isoformat()) % 90000000

    def __call__(self):
        self.next += 17
        return self.next


def target_near(targets, start, aim):
    """The target closest to the meridian `aim` seconds after `start`."""
    when = start + timedelta(seconds=aim)
    return min(targets, key=lambda t: abs(hour_angle_deg(when, t.ra)))


def _acquisition(block, setup, field):
    template = Template(*ACQUISITION_TEMPLATE, 1, 1)
    return Exposure("acquisition", ACQUISITION, setup, block, template, 1, field=field)


def _block(ids, run_id, pi, pi_id, target, name, observer="UNKNOWN"):
    return Block(ids(), name[:32], run_id, pi, pi_id, target, target.ra, target.dec,
                 observer=observer)


def jitter_block(programme, target, night, ids, rng):
    """Acquisition, then one NACO_img_obs_AutoJitter template per filter of the programme."""
    observer = progs.OBSERVERS[int(rng.integers(len(progs.OBSERVERS)))]
    name = f"{target.name.replace(' ', '_')}_{'+'.join(programme.filters)}"
    block = _block(ids, progs.run_id(programme, night), programme.pi, programme.pi_id, target,
                   name, observer)
    camera = naco.CAMERAS[programme.camera]
    acquisition_setup = Setup(naco.READOUT_MODES["HighDynamic"], 2.0, 5, programme.filters[0],
                              programme.camera)
    exposures = [_acquisition(block, acquisition_setup, target.name)]
    for number, filter_name in enumerate(programme.filters, start=2):
        template = Template("NACO_img_obs_AutoJitter", "AutoJitter", number, programme.nexp,
                            jitter_width=programme.jitter_box)
        setup = Setup(naco.READOUT_MODES[programme.readout], programme.dit, programme.ndit,
                      filter_name, programme.camera)
        half_box = programme.jitter_box / 2 / camera.pixscale
        sky = naco.sky_rate(filter_name, programme.camera) * float(rng.uniform(0.85, 1.25))
        for expno in range(1, programme.nexp + 1):
            offset = (0.0, 0.0)
            if expno > 1:
                offset = tuple(round(float(v), 2) for v in rng.uniform(-half_box, half_box, 2))
            exposures.append(Exposure("jitter", JITTER, setup, block, template, expno,
                                      offset=offset, sky=sky, field=target.name))
    return Scheduled(exposures)


def standard_block(star, filters, ids, rng):
    """A photometric standard in (up to two of) the night's filters, five positions each."""
    block = _block(ids, progs.CALIBRATION_RUN, "UNKNOWN", 0, star, "STD_" + star.name)
    mode = naco.READOUT_MODES["HighDynamic"]
    step = round(STANDARD_STEP_ARCSEC / naco.CAMERAS["S27"].pixscale, 2)
    pattern = [(0.0, 0.0), (step, step), (-step, step), (-step, -step), (step, -step)]
    exposures = [_acquisition(block, Setup(mode, 0.5, 10, filters[0], "S27"), star.name)]
    for number, filter_name in enumerate(filters, start=2):
        template = Template("NACO_img_cal_StandardStar", "StandardStar", number, len(pattern),
                            jitter_width=2 * STANDARD_STEP_ARCSEC)
        setup = Setup(mode, 0.5, 20, filter_name, "S27")
        sky = naco.sky_rate(filter_name, "S27") * float(rng.uniform(0.85, 1.25))
        for expno, offset in enumerate(pattern, start=1):
            exposures.append(Exposure("std", STANDARD, setup, block, template, expno,
                                      offset=offset, sky=sky, field=star.name))
    return Scheduled(exposures)


#: mode → (DPR, kind, TPL.ID, TPL.NAME, NEXP, read-out, DIT, NDIT, filter, camera, optics)
SIDE_SETUPS = {
    "SPECTROSCOPY": (SPECTRUM, "spectrum", "NACO_spec_obs_AutoNodOnSlit", "AutoNodOnSlit", 4,
                     "HighSensitivity", 30.0, 2, "Ks", "S54",
                     (("OPTI1", "Slit_86mas"), ("OPTI4", "Grism_SK"))),
    "POLARIMETRY": (POLARIMETRY, "polarimetry", "NACO_pol_obs_GenericOffset", "GenericOffset",
                    4, "HighDynamic", 10.0, 3, "H", "S27",
                    (("OPTI3", "Wollaston_00"), ("OPTI4", "Wollaston_45"))),
    "CORONAGRAPHY": (CORONAGRAPHY, "coronagraphy", "NACO_coro_obs_Stare", "CoroStare", 3,
                     "HighDynamic", 20.0, 3, "Ks", "S13", (("OPTI1", "C_0.7_sep_10"),)),
}
#: Nod throw along the slit of NACO_spec_obs_AutoNodOnSlit (arcsec), ABBA.
NOD_THROW = 1.5


def side_block(programme, target, night, ids, rng):
    """An OB in a mode Phoenix does not reduce: acquisition plus one template."""
    (dpr, kind, tpl_id, tpl_name, nexp, readout, dit, ndit, filter_name, camera,
     optics) = SIDE_SETUPS[programme.mode]
    block = _block(ids, programme.run_id(period_of(night)), programme.pi, programme.pi_id,
                   target, f"{target.name.replace(' ', '_')}_{kind}")
    acquisition_setup = Setup(naco.READOUT_MODES["HighDynamic"], 1.0, 10, filter_name, camera)
    exposures = [_acquisition(block, acquisition_setup, target.name)]
    template = Template(tpl_id, tpl_name, 2, nexp)
    setup = Setup(naco.READOUT_MODES[readout], dit, ndit, filter_name, camera, optics)
    sky = naco.sky_rate(filter_name, camera) * float(rng.uniform(0.85, 1.25))
    nod = round(NOD_THROW / naco.CAMERAS[camera].pixscale, 2)
    for expno in range(1, nexp + 1):
        along_slit = (nod if expno % 4 in (0, 1) else -nod) if kind == "spectrum" else 0.0
        exposures.append(Exposure(kind, dpr, setup, block, template, expno,
                                  offset=(0.0, along_slit), sky=sky, field=target.name))
    return Scheduled(exposures)


def add_broken_frames(science):
    """Extra acquisition frames that the writer breaks on purpose (see broken.py).

    Real archives hold such files: a transfer cut short, an error page saved under a FITS
    name, a frame whose ARCFILE card was lost, a header dump with an over-long card. They
    are extra frames, so every normal sequence stays complete. (The NaN card goes into an
    extra dark, see calibrations.darks.)
    """
    wanted = [["truncated", "not_fits"], ["no_arcfile"], ["long_card_hdr"]]
    for scheduled, kinds in zip(science, wanted, strict=False):
        acquisition = scheduled.exposures[0]
        template = acquisition.template
        for kind in kinds:
            template.nexp += 1
            scheduled.exposures.insert(
                template.nexp - 1,
                Exposure(acquisition.kind, acquisition.dpr, acquisition.setup, acquisition.block,
                         template, template.nexp, field=acquisition.field, broken=kind),
            )
