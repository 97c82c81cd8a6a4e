"""The vocabulary of a simulated night: DPR triples, setups, OBs, templates, exposures.

Everything the pixel and header writers need is on an Exposure, so that they only render;
the plan (plan.py) decides the values. DPR triples are those real NACO frames carry; the
intended classification (RAW_TYPES) is what Phoenix's rules should give them.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from processing.conventions import make_arcfile
from processing.simulation import instrument as naco
from processing.simulation.programmes import Target

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
    target: Target | None
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
    """An OB's exposures and when, in seconds after the start of the science window, it
    should start (half its duration before its target crosses the meridian)."""

    exposures: list
    aim: float = 0.0


def sequence_id(template):
    """The template a frame belongs to, as the manifest names sequences."""
    return f"{template.tpl_id}@{template.start:%Y-%m-%dT%H:%M:%S}"
