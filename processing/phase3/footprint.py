"""RA/DEC of the primary header inside the footprint of the image (or of the cube's spatial
plane), through the HDU's WCS.

wcslib through astropy's `Wcsprm` directly: `astropy.wcs.WCS` copies and re-parses the header
several times, which made it half the validation time of an image.
"""

import math

from astropy.wcs import Wcsprm

from processing.phase3.product import is_number

#: Without these the WCS is incomplete; the mandatory rules report which is missing.
WCS_KEYWORDS = ("CTYPE1", "CTYPE2", "CRVAL1", "CRVAL2", "CRPIX1", "CRPIX2",
                "CD1_1", "CD1_2", "CD2_1", "CD2_2")


def in_footprint(selector):
    def run(product):
        ra, dec = product.number("RA"), product.number("DEC")
        if ra is None or dec is None or not (0 <= ra <= 360 and -90 <= dec <= 90):
            return  # the mandatory and range rules say what is wrong
        for index in selector.select(product):
            header = product.values(index)
            width, height = header.get("NAXIS1"), header.get("NAXIS2")
            if not (is_number(width) and is_number(height)):
                continue
            if any(not is_number(header.get(keyword)) for keyword in WCS_KEYWORDS[2:]) or \
                    any(keyword not in header for keyword in WCS_KEYWORDS[:2]):
                continue
            world = Wcsprm(product.headers[index].tostring(endcard=False, padding=False).encode())
            world.unitfix()  # 'DEG' → 'deg', as astropy.wcs.WCS does; CUNIT rules judge units
            spatial = world.sub([1, 2])  # axes 1 and 2 are RA and DEC (CTYPE1/2)
            x, y = spatial.s2p([[ra, dec]], 1)["pixcrd"][0]
            inside = all(math.isfinite(value) for value in (x, y)) and \
                0.5 <= x <= width + 0.5 and 0.5 <= y <= height + 0.5
            if not inside:
                yield index, "RA", (f"RA = {ra!r}, DEC = {dec!r} lie outside the footprint of "
                                    f"HDU {index} (at pixel {x:.1f}, {y:.1f} of "
                                    f"{width} x {height})")
    return run
