"""PSF_FWHM, ABMAGLIM and ABMAGSAT of a science image, measured on its pixels.

Only the deep part of a coadd is measured (pixels with at least half the maximum number of
frames; its edges, reached by fewer frames, are noisier). processing.qc.measure.image_stats
finds the point sources, fits their FWHM and gives the background noise σ per pixel.
The brightest isolated stars give the PSF's shape as two ratios: the fraction of the flux
(within APERTURE_ARCSEC) inside a radius of one FWHM, and the peak pixel over that flux.

- ABMAGLIM: the point source whose flux inside one FWHM is 5σ of the background summed over
  that aperture: flux = 5·σ·√(π·FWHM²) / fraction.
- ABMAGSAT: the point source whose peak pixel plus the sky reaches the detector's
  saturation level in one DIT: flux = (DET.SATLEVEL − sky) / (peak / flux).
Both in AB: PHOTZP (Vega) − 2.5·log10(flux) + the filter's Vega→AB offset.
"""

import math
from dataclasses import dataclass

import numpy as np

from processing.idp.errors import ConversionError
from processing.idp.photometry import aperture, fits_inside
from processing.idp.zeropoint import ANNULUS_ARCSEC, APERTURE_ARCSEC
from processing.qc.measure import SIGMA_TO_FWHM, image_stats

#: Stars whose PSF ratios are measured (the brightest that fit with their annulus).
PSF_STARS = 5
LIMIT_SIGMA = 5.0


@dataclass
class Depth:
    fwhm_px: float
    noise: float  # background σ per pixel, image units
    fraction: float  # flux inside r = FWHM over the flux inside APERTURE_ARCSEC
    peak_fraction: float  # peak pixel over the flux inside APERTURE_ARCSEC
    detail: dict

    def limit_flux(self):
        """Image units of the 5σ point source."""
        area = math.pi * self.fwhm_px**2
        return LIMIT_SIGMA * self.noise * math.sqrt(area) / self.fraction

    def saturation_flux(self, satlevel, sky):
        return (satlevel - sky) / self.peak_fraction


def measure_depth(data, weights, pixscale):
    """Depth of an image (ConversionError when no point source can be fitted)."""
    data = np.asarray(data, dtype=np.float64)
    deep = np.isfinite(data)
    if weights is not None:
        deep &= weights >= max(int(np.max(weights)) // 2, 1)
    stats = image_stats(np.where(deep, data, np.nan))
    if stats.fwhm is None or not stats.noise > 0:
        raise ConversionError(f"no point source could be fitted ({stats.star_count} found): "
                              "PSF_FWHM, ABMAGLIM and ABMAGSAT cannot be measured")
    radius = APERTURE_ARCSEC / pixscale
    annulus = (ANNULUS_ARCSEC[0] / pixscale, ANNULUS_ARCSEC[1] / pixscale)
    ratios = []
    masked = np.where(deep, data, np.nan)
    for star in stats.stars:
        if len(ratios) == PSF_STARS:
            break
        if star.fwhm is None or not fits_inside(data.shape, star.x, star.y, annulus[1]):
            continue
        total = aperture(masked, star.x, star.y, radius, annulus)
        core = aperture(masked, star.x, star.y, stats.fwhm, annulus)
        if total is None or core is None or not total.flux > 0:
            continue
        row, col = int(round(star.y)), int(round(star.x))
        peak = float(np.nanmax(masked[row - 1 : row + 2, col - 1 : col + 2])) - total.background
        ratios.append((core.flux / total.flux, peak / total.flux))
    detail = {"stars_found": stats.star_count, "fwhm_px": round(stats.fwhm, 4),
              "noise": stats.noise, "background": stats.background,
              "psf_stars": len(ratios)}  # fmt: skip
    if ratios:
        fraction = float(np.median([r[0] for r in ratios]))
        peak_fraction = float(np.median([r[1] for r in ratios]))
        detail["psf_shape"] = f"measured on {len(ratios)} stars"
    else:  # a Gaussian of the fitted FWHM
        sigma = stats.fwhm / SIGMA_TO_FWHM
        fraction = 1.0 - math.exp(-(stats.fwhm**2) / (2.0 * sigma**2))
        peak_fraction = 1.0 / (2.0 * math.pi * sigma**2)
        detail["psf_shape"] = "Gaussian of the fitted FWHM (no star fits its annulus)"
    detail.update(fraction=round(fraction, 4), peak_fraction=round(peak_fraction, 5))
    return Depth(stats.fwhm, stats.noise, fraction, peak_fraction, detail)
