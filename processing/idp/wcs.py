"""The 2-D celestial WCS of an IDP, in the form the SDP standard asks for: CRPIXi, CRVALi,
CTYPEi, CUNITi = 'deg' and the CD matrix (CDELTi are not allowed).

The pipeline header may express scale and rotation as a CD matrix, as CDELT with a PC matrix
or as CDELT with CROTA2; astropy reads all three, and the CD matrix written is the pixel scale
and rotation they describe, in degrees. The pixel scale is compared with INS.PIXSCALE, which
catches a header whose WCS belongs to another camera.
"""

import warnings
from dataclasses import dataclass

import numpy as np
from astropy.wcs import WCS, FITSFixedWarning

from processing.idp.errors import ConversionError

#: Keywords of any WCS form in the pipeline header; the IDP gets its own set instead.
WCS_KEYS = ("WCSAXES", "CTYPE", "CRVAL", "CRPIX", "CDELT", "CUNIT", "CROTA", "CD", "PC", "PV",
            "LONPOLE", "LATPOLE", "WCSNAME", "CRDER", "CSYER")
#: Tolerated difference between the WCS pixel scale and INS.PIXSCALE.
SCALE_TOLERANCE = 0.02


@dataclass
class Wcs:
    cards: list  # (key, value, comment)
    ra: float  # image centre, degrees
    dec: float
    pixscale: float  # arcsec per pixel, from the CD matrix
    detail: dict


def is_wcs_key(key):
    base = key.rstrip("0123456789_")
    return key in WCS_KEYS or base in WCS_KEYS


def celestial_wcs(header, shape, pixscale_header=None):
    """Wcs of a 2-D image header; ConversionError when it has no celestial WCS."""
    if not all(key in header for key in ("CTYPE1", "CTYPE2", "CRVAL1", "CRVAL2")):
        raise ConversionError("no WCS information: the header lacks CTYPE1/2 and CRVAL1/2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        try:
            wcs = WCS(header, naxis=2)
            wcs.wcs.set()
        except (ValueError, KeyError, MemoryError) as exc:
            raise ConversionError(f"no usable WCS in the header: {exc}") from None
    if not wcs.has_celestial or not wcs.wcs.ctype[0].startswith("RA"):
        raise ConversionError(f"no celestial WCS: CTYPE1/2 are {list(wcs.wcs.ctype)}, not RA/DEC")
    scale = wcs.pixel_scale_matrix  # degrees: wcslib converts celestial CUNITs
    pixscale = float(np.sqrt(abs(np.linalg.det(scale))) * 3600.0)
    if not pixscale > 0:
        raise ConversionError("the WCS has a singular scale matrix (pixel scale 0)")
    ny, nx = shape
    centre = wcs.all_pix2world([[(nx + 1) / 2.0, (ny + 1) / 2.0]], 1)[0]
    crval = wcs.wcs.crval
    cards = [
        ("CTYPE1", wcs.wcs.ctype[0], "pixel coordinate system"),
        ("CTYPE2", wcs.wcs.ctype[1], "pixel coordinate system"),
        ("CRVAL1", float(crval[0]), "[deg] RA at reference pixel"),
        ("CRVAL2", float(crval[1]), "[deg] DEC at reference pixel"),
        ("CRPIX1", float(wcs.wcs.crpix[0]), "reference pixel in X"),
        ("CRPIX2", float(wcs.wcs.crpix[1]), "reference pixel in Y"),
        ("CUNIT1", "deg", "unit of CRVAL1 and CD1_j"),
        ("CUNIT2", "deg", "unit of CRVAL2 and CD2_j"),
        ("CD1_1", float(scale[0, 0]), "[deg/pixel] transformation matrix"),
        ("CD1_2", float(scale[0, 1]), "[deg/pixel] transformation matrix"),
        ("CD2_1", float(scale[1, 0]), "[deg/pixel] transformation matrix"),
        ("CD2_2", float(scale[1, 1]), "[deg/pixel] transformation matrix"),
    ]
    rotation = float(np.degrees(np.arctan2(-scale[1, 0], scale[1, 1])))  # as CROTA2
    detail = {"pixscale_arcsec": round(pixscale, 6), "rotation_deg": round(rotation, 4)}
    if pixscale_header:
        detail["ins_pixscale_arcsec"] = float(pixscale_header)
        if abs(pixscale / float(pixscale_header) - 1.0) > SCALE_TOLERANCE:
            raise ConversionError(
                f"the WCS pixel scale {pixscale:.5f}\" differs from INS.PIXSCALE "
                f"{float(pixscale_header):.5f}\" by more than {SCALE_TOLERANCE:.0%}"
            )
    return Wcs(cards, float(centre[0]), float(centre[1]), pixscale, detail)

