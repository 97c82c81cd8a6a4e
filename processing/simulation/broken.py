"""Files that are broken on purpose, the way real archive deliveries are broken.

The data pool import must survive them and say what is wrong, so each kind is written
exactly: a FITS file cut inside its data (an interrupted transfer), an HTML error page saved
under a .fits name, a header with a NaN card (astropy refuses to write one, so the card bytes
are written here), a frame whose ARCFILE card is missing, and a DFOS `.hdr` header dump with
one card longer than 80 characters and no CONTINUE. Each returns the file written and the
description the manifest records under `broken`.
"""

from processing.simulation.fitsfile import BLOCK, CARD, Raw, card, fits_bytes

NAN_KEYWORD = "DET CHIP TEMP"
LONG_KEYWORD = "OBS NAME"

ERROR_PAGE = """<!DOCTYPE html>
<html><head><title>502 Bad Gateway</title></head>
<body><h1>Bad Gateway</h1>
<p>The proxy server received an invalid response from an upstream server while
requesting {name}.</p>
<hr><address>Apache Server at dataportal.eso.org Port 443</address>
</body></html>
"""


def write_broken(kind, directory, arcfile, cards, data, checksum_date):
    """Write the broken variant `kind` of a frame; return (path, description)."""
    return _WRITERS[kind](directory, arcfile, cards, data, checksum_date)


def _truncated(directory, arcfile, cards, data, checksum_date):
    content = fits_bytes(cards, data, checksum_date)
    header_size = len(content) - (-(-data.nbytes // BLOCK) * BLOCK)
    cut = header_size + data.nbytes // 2 + 1234
    path = directory / arcfile
    path.write_bytes(content[:cut])
    return path, (
        f"truncated: the file stops after {cut} of {len(content)} bytes, inside the data unit"
    )


def _not_fits(directory, arcfile, cards, data, checksum_date):
    path = directory / arcfile
    path.write_text(ERROR_PAGE.format(name=arcfile), encoding="ascii")
    return path, "not FITS: an HTML error page (502 Bad Gateway) saved under a .fits name"


def _nan_card(directory, arcfile, cards, data, checksum_date):
    prefix = f"HIERARCH ESO {NAN_KEYWORD} "
    index = next(i for i, image in enumerate(cards) if image.startswith(prefix))
    cards = list(cards)
    cards[index] = card(NAN_KEYWORD, Raw("NaN"), "Chip temperature (K)")
    path = directory / arcfile
    path.write_bytes(fits_bytes(cards, data, checksum_date))
    return path, f"NaN value: card {cards[index].rstrip()!r}"


def _no_arcfile(directory, arcfile, cards, data, checksum_date):
    cards = [image for image in cards if not image.startswith("ARCFILE ")]
    path = directory / arcfile
    path.write_bytes(fits_bytes(cards, data, checksum_date))
    return path, "no ARCFILE card (the file name is the only trace of the archive name)"


def _long_card_hdr(directory, arcfile, cards, data, checksum_date):
    prefix = f"HIERARCH ESO {LONG_KEYWORD} "
    index = next(i for i, image in enumerate(cards) if image.startswith(prefix))
    value = cards[index].split("'")[1].strip() + "_reacquired_after_AO_loop_opened_by_wind"
    cards = list(cards)
    cards[index] = card(LONG_KEYWORD, value, "OB name", allow_long=True)
    lines = [image if len(image) > CARD else image.rstrip().ljust(CARD) for image in cards]
    path = directory / (arcfile[: -len(".fits")] + ".hdr")
    path.write_text("\n".join([*lines, "END"]) + "\n", encoding="ascii")
    return path, (
        f".hdr header dump whose {LONG_KEYWORD} card is {len(cards[index])} characters long "
        "(more than 80, no CONTINUE)"
    )


_WRITERS = {
    "truncated": _truncated,
    "not_fits": _not_fits,
    "nan_card": _nan_card,
    "no_arcfile": _no_arcfile,
    "long_card_hdr": _long_card_hdr,
}
