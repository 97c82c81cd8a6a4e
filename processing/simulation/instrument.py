"""What NACO (NAOS+CONICA on VLT UT4) is, as far as raw frames show it.

Numbers come from the NACO user manual's detector table (read noise, gain, full well and
minimum DIT per read-out mode of the Aladdin 3 array) and the CONICA optical layout: filters
sit in wheels OPTI5 (J, H, narrow bands) and OPTI6 (Ks, L', M'), the camera is OPTI7, OPTI3 is
the mask/ND wheel and OPTI4 holds the Wollaston prisms and grisms. The pipeline identifies a
filter by the OPTI4/5/6 *IDs*, so the IDs must be right; the NAMEs repeat them.
Dark levels and dark current are invented but of the right size; they are the simulation's
truth and are written to the manifest.
"""

from dataclasses import dataclass

INSTRUMENT = "NACO"  # ARCFILE prefix
INSTRUME = "NAOS+CONICA"
TELESCOP = "ESO-VLT-U4"

#: Paranal, as the VLT headers give it (TEL.GEOLAT/GEOLON/GEOELEV).
SITE_LATITUDE = -24.6270
SITE_LONGITUDE = -70.4040
SITE_ELEVATION = 2648.0

#: Full Aladdin 3 array and the window the simulation reads out (DET.WIN.*). A 256×256
#: window keeps files small; NACO offers windowed read-out for fast imaging.
CHIP_SIZE = 1024
WINDOW = 256
WINDOW_START = (CHIP_SIZE - WINDOW) // 2 + 1


@dataclass(frozen=True)
class ReadoutMode:
    """One CONICA read-out mode: DET.NCORRS.NAME with its DET.MODE.NAME (detector setting)."""

    ncorrs_name: str
    mode_name: str
    ncorrs: int
    ron_adu: float  # per DIT, ADU
    gain: float  # e-/ADU
    full_well: float  # ADU
    min_dit: float  # s
    bias: float  # dark level at DIT=0, ADU (simulation truth)
    dark_current: float  # ADU/s (simulation truth)

    @property
    def key(self):
        return f"{self.ncorrs_name}/{self.mode_name}"


READOUT_MODES = {
    "HighSensitivity": ReadoutMode(
        "FowlerNsamp", "HighSensitivity", 6, 1.3, 12.1, 9200, 1.7927, 18.0, 0.055
    ),
    "HighDynamic": ReadoutMode(
        "Double_RdRstRd", "HighDynamic", 4, 4.2, 11.0, 15000, 0.3454, 42.0, 0.08
    ),
    "HighWellDepth": ReadoutMode(
        "Uncorr", "HighWellDepth", 1, 4.4, 9.8, 22000, 0.1750, 1350.0, 0.12
    ),
}


@dataclass(frozen=True)
class Camera:
    name: str  # INS.OPTI7.NAME / ID
    pixscale: float  # arcsec/pixel (INS.PIXSCALE)
    number: int  # position in the camera wheel (INS.OPTI7.NO)


CAMERAS = {
    "S13": Camera("S13", 0.01326, 1),
    "S27": Camera("S27", 0.02715, 2),
    "S54": Camera("S54", 0.05425, 3),
    "L27": Camera("L27", 0.02719, 4),
}


@dataclass(frozen=True)
class Filter:
    name: str
    wheel: int  # 5 or 6: INS.OPTI5 or INS.OPTI6
    number: int  # position in its wheel
    cwlen: float  # µm (INS.CWLEN)
    sky_rate: float  # night-sky background with S27, ADU/s/pixel (simulation truth)
    twilight_rate: float  # sky at the start of an evening twilight series, ADU/s/pixel


FILTERS = {
    "J": Filter("J", 5, 4, 1.265, 1.6, 5200.0),
    "H": Filter("H", 5, 6, 1.66, 5.5, 6400.0),
    "Ks": Filter("Ks", 6, 4, 2.18, 16.0, 7200.0),
    "NB_2.17": Filter("NB_2.17", 5, 12, 2.166, 1.4, 900.0),
}

EMPTY = "empty"


def wheel_ids(filter_name, opti4=EMPTY):
    """(OPTI4, OPTI5, OPTI6) IDs for a filter: the filter in its wheel, the others empty."""
    flt = FILTERS[filter_name]
    return (
        opti4,
        flt.name if flt.wheel == 5 else EMPTY,
        flt.name if flt.wheel == 6 else EMPTY,
    )


def sky_rate(filter_name, camera_name):
    """Night-sky background per pixel: scales with the pixel's area on the sky."""
    scale = CAMERAS[camera_name].pixscale / CAMERAS["S27"].pixscale
    return FILTERS[filter_name].sky_rate * scale**2


def dark_level(mode, dit):
    """Median level of a dark of `dit` seconds in read-out `mode` (ADU): the truth the master
    dark's QC.DARKMED is checked against."""
    return mode.bias + mode.dark_current * dit


#: Seconds between frames besides the integration: read-out, storage, telescope offsets.
#: Twilight flats wait for the sky to change so that the series spans a wide range of
#: levels (naco_img_twflat warns below a factor 4 between the faintest and brightest).
OVERHEAD = {"dark": 4.0, "flat": 45.0, "jitter": 12.0, "std": 10.0, "other": 8.0}
