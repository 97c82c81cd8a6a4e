"""The primary header of an IDP: the SDP keywords first, then the WCS, then every card of the
pipeline header that the SDP block does not replace (HIERARCH ESO PRO/QC/INS/DET … stay).

Left out of the pipeline header: the structure cards astropy writes itself, CHECKSUM/DATASUM
(written last, over the final file), the keywords the Phase 3 system reserves for itself
(ARCFILE, ORIGFILE, P3ORIG — a product must not carry its first raw frame's ARCFILE), any WCS
form other than the one written, and DPR keywords (raw-frame classification, which the SDP
standard keeps out of products: OBSTECH carries DPR.TECH). String values too long for one
card are shortened, as the standard allows no CONTINUE cards, and listed.
"""

import re
import warnings

from astropy.io import fits
from astropy.io.fits.verify import VerifyWarning

from processing.idp.wcs import is_wcs_key

_STRUCTURAL = re.compile(r"^(SIMPLE|XTENSION|BITPIX|NAXIS\d*|EXTEND|PCOUNT|GCOUNT|BSCALE|BZERO|"
                         r"BLANK|CHECKSUM|DATASUM|EXTNAME|LONGSTRN|INHERIT)$")
#: reserved for the Phase 3 system; RADECSYS is the old name of RADESYS, which the IDP has
_LEFT_OUT = {"ARCFILE", "ORIGFILE", "P3ORIG", "RADECSYS"}
_DPR = re.compile(r"^ESO DPR ")


def build_header(base, sdp_cards, wcs_cards, pipeline_header):
    """`base`: the header astropy made for the data (SIMPLE … EXTEND); returns it completed
    and the keys whose values were shortened."""
    header = base.copy()
    own = set()
    for key, value, comment in [*sdp_cards, *wcs_cards]:
        _append(header, key, value, comment)
        own.add(key)
    shortened = []
    for card in pipeline_header.cards:
        key = card.keyword
        if key in ("COMMENT", "HISTORY"):
            header.append(card, end=True)
            continue
        if (not key or key in own or key in _LEFT_OUT or _STRUCTURAL.match(key)
                or _DPR.match(key) or is_wcs_key(key)):  # fmt: skip
            continue
        if _append(header, key, card.value, card.comment):
            shortened.append(key)
    return header, shortened


def _append(header, key, value, comment):
    """Append one card, its comment cut to fit and a string value cut to one card (True
    when the value had to be cut)."""
    name = key if len(key) <= 8 and " " not in key else f"HIERARCH {key}"
    cut = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VerifyWarning)
        card = fits.Card(name, value, comment)
        if len(card.image) > fits.Card.length:
            card = fits.Card(name, value)
            while isinstance(value, str) and len(card.image) > fits.Card.length:
                value, cut = value[:-1], True
                card = fits.Card(name, value)
            room = fits.Card.length - len(card.image.rstrip()) - 3
            if comment and not cut and room >= 4:
                card = fits.Card(name, value, comment[:room].rstrip())
    header.append(card, end=True)
    return cut
