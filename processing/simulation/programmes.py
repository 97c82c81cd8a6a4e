"""Who observes what: the simulated programmes, their targets and the standard stars.

Run IDs are built for the ESO period of each night (`083.D-0123(A)` in June 2009, the
4-digit form from period 100 on), so every frame's OBS.PROG.ID is a run that could have been
scheduled then. Each programme has targets spread in right ascension so that, whatever the
date, one of them is up during the night. Names and coordinates are those of real fields.
"""

from dataclasses import dataclass

from processing.conventions import period_of


@dataclass(frozen=True)
class Target:
    name: str
    ra: float  # deg, J2000
    dec: float  # deg
    stars: int  # stars in the simulated field (crowding)


@dataclass(frozen=True)
class Programme:
    type_digit: str
    category: str
    number: str
    run: str
    pi: str
    pi_id: int
    targets: tuple
    filters: tuple
    camera: str
    readout: str  # key of instrument.READOUT_MODES
    dit: float
    ndit: int
    nexp: int
    jitter_box: float  # arcsec (SEQ.JITTER.WIDTH)

    def run_id(self, period):
        digits = f"{self.type_digit}{period:02d}" if period < 100 else f"{self.type_digit}{period}"
        return f"{digits}.{self.category}-{self.number}({self.run})"


PROGRAMMES = (
    Programme(
        "0", "D", "0123", "A", "Mueller/R.", 70231, (
            Target("NGC 6397 F1", 265.17542, -53.67417, 60),
            Target("Omega Cen F5", 201.69696, -47.47950, 60),
            Target("47 Tuc F3", 6.02362, -72.08128, 60),
            Target("NGC 3603 F2", 168.75833, -61.26028, 50),
        ),
        ("J", "Ks"), "S27", "HighSensitivity", 20.0, 3, 8, 2.0,
    ),
    Programme(
        "3", "C", "0456", "B", "Rossi/A.", 81544, (
            Target("GC IRS 13E", 266.41654, -29.00811, 50),
            Target("M 4 F1", 245.89675, -26.52575, 40),
            Target("Orion BN-KL", 83.81042, -5.37514, 25),
            Target("NGC 6611 F1", 274.70000, -13.80694, 35),
        ),
        ("Ks",), "S13", "HighDynamic", 5.0, 8, 6, 1.0,
    ),
    Programme(
        "0", "C", "0789", "A", "Nakamura/K.", 90317, (
            Target("IRAS 17150-3224", 259.58250, -32.45583, 20),
            Target("IRAS 08544-4431", 134.08958, -44.72033, 20),
            Target("NGC 6334 I", 260.22250, -35.78361, 30),
            Target("IRAS 16594-4656", 255.79167, -47.00750, 15),
        ),
        ("H", "Ks"), "S27", "HighDynamic", 10.0, 4, 7, 2.0,
    ),
    Programme(
        "0", "B", "0312", "C", "Dubois/C.", 66102, (
            Target("M 83 nucleus", 204.25383, -29.86583, 25),
            Target("NGC 253 nucleus", 11.88800, -25.28822, 25),
            Target("NGC 7793 F1", 359.45763, -32.59103, 20),
            Target("NGC 2070 R136", 84.67667, -69.10094, 60),
        ),
        ("H",), "S27", "HighSensitivity", 30.0, 2, 6, 2.0,
    ),
)

#: Persson et al. (1998) near-infrared standards, spread in right ascension.
STANDARDS = (
    Target("S294-D", 15.22458, -47.08639, 1),
    Target("S055-D", 88.82250, -52.39528, 1),
    Target("S426-D", 153.11250, -34.22583, 1),
    Target("S875-C", 227.69792, -35.91944, 1),
    Target("S234-E", 282.58625, -39.39917, 1),
    Target("S813-D", 340.47583, -48.70722, 1),
)

#: OBS.PROG.ID of calibration OBs (darks, flats, standards): the calibration plan's programme.
CALIBRATION_RUN = "60.A-9800(D)"
OBSERVERS = ("UNKNOWN", "Lopez/M.", "Silva/J.", "Fischer/T.", "Okafor/E.")


@dataclass(frozen=True)
class SideProgramme:
    """A programme in a mode Phoenix does not reduce (its frames must be recognised and left)."""

    mode: str  # the UNSUPPORTED mode name in the manifest
    type_digit: str
    category: str
    number: str
    run: str
    pi: str
    pi_id: int
    targets: tuple

    def run_id(self, period):
        return Programme.run_id(self, period)


SIDE_PROGRAMMES = (
    SideProgramme("SPECTROSCOPY", "0", "C", "0602", "A", "Jensen/L.", 71820, (
        Target("HD 100546", 165.00583, -70.19483, 3),
        Target("IRAS 16342-3814", 249.43583, -38.33889, 3),
        Target("TW Hya", 165.46583, -34.70472, 3),
        Target("HD 181327", 290.74583, -54.53861, 3),
    )),
    SideProgramme("POLARIMETRY", "0", "D", "0891", "B", "Moreau/P.", 84410, (
        Target("IRAS 17150-3224", 259.58250, -32.45583, 3),
        Target("OH 231.8+4.2", 116.15417, -14.72611, 3),
        Target("IRAS 08544-4431", 134.08958, -44.72033, 3),
        Target("AU Mic", 311.28971, -31.34089, 3),
    )),
    SideProgramme("CORONAGRAPHY", "0", "C", "0234", "A", "Kowalski/B.", 69937, (
        Target("HR 4796 A", 189.00417, -39.86972, 3),
        Target("beta Pic", 86.82121, -51.06651, 3),
        Target("HD 181327", 290.74583, -54.53861, 3),
        Target("AU Mic", 311.28971, -31.34089, 3),
    )),
)


def run_id(programme, night):
    return programme.run_id(period_of(night))


def programmes_for_night(index):
    """Three of the four programmes each night, a different one resting each night."""
    resting = index % len(PROGRAMMES)
    return [p for i, p in enumerate(PROGRAMMES) if i != resting]


def side_programmes_for_night(index):
    """Two of the three unsupported-mode programmes each night."""
    resting = (index + 2) % len(SIDE_PROGRAMMES)
    return [p for i, p in enumerate(SIDE_PROGRAMMES) if i != resting]
