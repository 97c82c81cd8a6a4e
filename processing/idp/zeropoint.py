"""PHOTZP: the zero point of a science image, from the night's standard stars or nominal.

A standard star (DPR.CATG = CALIB, DPR.TYPE = STD, DPR.TECH = IMAGE…) observed the same night
in the same filter is measured on its raw frames: each frame minus the median of the other
frames of its template (the star sits elsewhere in them: the sky, the dark and the hot pixels
go, the star stays), the star's flux in an aperture of APERTURE_ARCSEC radius, the magnitude
of the star in that filter from the instance's standard-star catalogue (the static calibration
IMG_STD_CATALOG, ESO's format, matched by position). The zero point per frame is
m_cat + 2.5·log10(flux per second); the night's value is the median over the frames.
Otherwise the instrument profile's nominal zero point is used and said to be nominal.

The zero point returned is that of a rate (1 ADU/s); the IDP's PHOTZP adds 2.5·log10(DIT)
because the coadds are in ADU per DIT. Neither atmospheric extinction nor the gain difference
between read-out modes is corrected (docs/IDP.md says why).
"""

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
from astropy.io import fits

from processing.choices import ProductKind, ProductState
from processing.idp.errors import ConversionError
from processing.idp.photometry import aperture, brightest_point, fits_inside
from processing.models import Product, RawFrame
from processing.qc.measure import robust_sigma

CATALOGUE_CATG = "IMG_STD_CATALOG"
#: Flux aperture radius and background annulus for stars (arcsec): they hold all but
#: ~1e-4 of an AO point source with a seeing halo of 0.5".
APERTURE_ARCSEC = 0.8
ANNULUS_ARCSEC = (1.0, 1.3)
#: A catalogue star is the standard when it is this close to the frame's pointing.
MATCH_ARCSEC = 60.0
#: Catalogue magnitudes of this value or above mean "unknown" (ESO's convention: 99).
UNKNOWN_MAGNITUDE = 90.0


@dataclass
class ZeroPoint:
    value: float  # Vega magnitude of 1 ADU/s
    source: str  # "standard" or "nominal"
    detail: dict = field(default_factory=dict)

    @property
    def nominal(self):
        return self.source == "nominal"

    @property
    def error(self):
        """Of a measured zero point: the scatter of the frames over √(number of frames)."""
        return self.detail["scatter"] / math.sqrt(len(self.detail["frames"]))


def zero_point(instance, night, filter_name, profile):
    """The ZeroPoint of `filter_name` on `night`; nominal (with the reason) when the night
    has no standard star that can be measured in it."""
    reason, detail = _measured(instance, night, filter_name, profile)
    if reason is None:
        return ZeroPoint(detail.pop("zp"), "standard", detail)
    nominal = profile.nominal_zp.get(filter_name)
    if nominal is None:
        raise ConversionError(f"{reason}, and the {profile.name} profile has no nominal zero "
                              f"point for filter {filter_name!r}: PHOTZP cannot be derived")
    return ZeroPoint(nominal, "nominal", {"reason": reason, **detail})


def _measured(instance, night, filter_name, profile):
    """(None, detail with "zp") or (why not, detail)."""
    frames = [frame for frame in standard_frames(instance, night)
              if profile.filter_of(frame.keywords.get) == filter_name]
    if not frames:
        return f"no standard star observed on {night} in {filter_name}", {}
    column = profile.catalogue_columns.get(filter_name)
    if column is None:
        return f"the standard-star catalogue has no magnitudes in {filter_name}", {}
    catalogue = _catalogue(instance)
    if catalogue is None:
        return (f"no standard-star catalogue: {instance.name} has no {CATALOGUE_CATG} static "
                "calibration"), {}
    try:
        stars = _read_catalogue(catalogue.path, column)
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        return f"the standard-star catalogue {catalogue.path} is not usable: {exc}", {}
    detail = {"catalogue": catalogue.name, "frames": [], "skipped": []}
    for template, group in _by_template(frames).items():
        star = _match(stars, group[0])
        if star is None:
            detail["skipped"].append(f"template {template}: no catalogue star with a known "
                                     f"{filter_name} magnitude within {MATCH_ARCSEC:g}\"")
            continue
        name, mag = star
        detail.setdefault("stars", {})[name] = mag
        _measure_template(group, name, mag, detail)
    zps = [entry["zp"] for entry in detail["frames"]]
    if not zps:
        return f"no standard star frame on {night} in {filter_name} could be measured", detail
    detail["zp"] = float(np.median(zps))
    detail["scatter"] = robust_sigma(zps) if len(zps) > 2 else float(np.std(zps))
    detail["airmass"] = _mean([entry["airmass"] for entry in detail["frames"]])
    return None, detail


def standard_frames(instance, night):
    """The night's standard-star imaging frames of the instance's instrument, with files."""
    frames = RawFrame.objects.filter(
        instrument=instance.instrument, night=night, dpr_catg="CALIB",
        dpr_type__startswith="STD", dpr_tech__startswith="IMAGE", hidden=False,
        path__isnull=False,
    ).order_by("mjd_obs")  # fmt: skip
    return list(frames)


def _catalogue(instance):
    return (Product.objects.filter(instance=instance, kind=ProductKind.STATIC,
                                   pro_catg=CATALOGUE_CATG)
            .exclude(state__in=(ProductState.REJECTED, ProductState.SUPERSEDED))
            .order_by("-created_at", "-pk").first())  # fmt: skip


def _read_catalogue(path, column):
    """[(name, ra, dec, magnitude)] of the catalogue stars with a known magnitude."""
    with fits.open(path, memmap=False) as hdul:
        table = hdul[1].data
        rows = zip(table["STARS"], table["RA"], table["DEC"], table[column], strict=True)
        return [(str(name).strip(), float(ra), float(dec), float(mag)) for name, ra, dec, mag
                in rows if math.isfinite(mag) and mag < UNKNOWN_MAGNITUDE]  # fmt: skip


def _match(stars, frame):
    ra, dec = frame.keywords.get("RA"), frame.keywords.get("DEC")
    if not isinstance(ra, (int, float)) or not isinstance(dec, (int, float)):
        return None
    best = None
    for name, sra, sdec, mag in stars:
        distance = _separation_arcsec(ra, dec, sra, sdec)
        if distance <= MATCH_ARCSEC and (best is None or distance < best[0]):
            best = (distance, name, mag)
    return best[1:] if best else None


def _separation_arcsec(ra1, dec1, ra2, dec2):
    ra1, dec1, ra2, dec2 = map(math.radians, (ra1, dec1, ra2, dec2))
    cosine = (math.sin(dec1) * math.sin(dec2)
              + math.cos(dec1) * math.cos(dec2) * math.cos(ra1 - ra2))  # fmt: skip
    return math.degrees(math.acos(max(-1.0, min(1.0, cosine)))) * 3600.0


def _by_template(frames):
    groups = {}
    for frame in frames:
        groups.setdefault(frame.tpl_start or frame.arcfile, []).append(frame)
    return groups


def _measure_template(group, star, mag, detail):
    """Append a {arcfile, zp, …} per measurable frame of one template to detail["frames"]."""
    if len(group) < 2:
        detail["skipped"].append(f"{group[0].arcfile}: a single frame, no sky to subtract")
        return
    images = []
    for frame in group:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                images.append(np.asarray(fits.getdata(frame.path), dtype=np.float64))
        except (OSError, ValueError, TypeError) as exc:
            detail["skipped"].append(f"{frame.arcfile}: not readable ({exc})")
            return
    for index, (frame, image) in enumerate(zip(group, images, strict=True)):
        others = [other for i, other in enumerate(images) if i != index]
        sky = np.median(others, axis=0) if len(others) > 1 else others[0]
        result = _measure_frame(frame, image, image - sky, mag)
        if isinstance(result, str):
            detail["skipped"].append(f"{frame.arcfile}: {result}")
        else:
            detail["frames"].append({"arcfile": frame.arcfile, "star": star, **result})


def _measure_frame(frame, image, difference, mag):
    """{zp, flux, airmass} of one sky-subtracted standard frame, or why not."""
    get = frame.keywords.get
    dit, pixscale, saturation = get("DET.DIT"), get("INS.PIXSCALE"), get("DET.SATLEVEL")
    if not (_positive(dit) and _positive(pixscale)):
        return "no DET.DIT or INS.PIXSCALE"
    radius = APERTURE_ARCSEC / pixscale
    annulus = (ANNULUS_ARCSEC[0] / pixscale, ANNULUS_ARCSEC[1] / pixscale)
    x, y = brightest_point(difference)
    if not fits_inside(difference.shape, x, y, annulus[1]):
        return f"the star at pixel ({x + 1:.0f}, {y + 1:.0f}) is too close to the edge"
    row, col = int(round(y)), int(round(x))
    if _positive(saturation) and image[row - 2 : row + 3, col - 2 : col + 3].max() >= saturation:
        return f"the star is saturated (DET.SATLEVEL {saturation})"
    measured = aperture(difference, x, y, radius, annulus)
    if measured is None or not measured.flux > 0:
        return "no positive flux in the aperture"
    rate = measured.flux / dit
    return {"zp": mag + 2.5 * math.log10(rate), "adu_per_s": rate,
            "airmass": get("AIRMASS") if isinstance(get("AIRMASS"), (int, float)) else None,
            "mode": get("DET.MODE.NAME"), "camera": get("INS.OPTI7.NAME")}


def _positive(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def _mean(values):
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None

