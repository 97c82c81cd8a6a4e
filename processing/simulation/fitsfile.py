"""Write FITS files byte by byte: card images, CHECKSUM/DATASUM, padding.

Why not astropy's writer: the simulator must produce byte-identical files for the same seed,
write cards astropy refuses on purpose (a NaN value, an over-long card in a .hdr dump), and
lay cards out the way ESO's archive does (`HIERARCH ESO DET DIT         =      10.0000 / …`).
astropy stamps the current date into its CHECKSUM comment; here the comment carries the
frame's own DATE, so the bytes depend on the inputs only. The tests open every file with
astropy (checksum verification on) to prove the output is standard FITS.
"""

import math

import numpy as np

BLOCK = 2880
CARD = 80
#: Where ESO puts the `=` of a HIERARCH card whose keyword is short enough (column 30).
HIERARCH_EQUALS_COLUMN = 29


class Raw:
    """A value written exactly as given (e.g. `NaN` for a deliberately broken card)."""

    def __init__(self, text):
        self.text = text


class Fixed:
    """A float written with a fixed number of decimals, as ESO writes e.g. DET.DIT."""

    def __init__(self, value, decimals):
        self.value = float(value)
        self.decimals = decimals


def fits_date(moment, millis=True):
    """A FITS date-time value: `2009-06-16T04:28:42.254` (or without milliseconds)."""
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{moment.microsecond // 1000:03d}" if millis else text


def format_value(value):
    """FITS text of a value: strings quoted, logicals T/F, numbers right-justifiable."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Fixed):
        return f"{value.value:.{value.decimals}f}"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot write {value!r} as a FITS value (use Raw for broken cards)")
        text = repr(value)
        if "e" in text:
            mantissa, exponent = text.split("e")
            if "." not in mantissa:
                mantissa += ".0"
            return f"{mantissa}E{int(exponent):+03d}"
        return text
    if isinstance(value, str):
        return "'" + value.replace("'", "''").ljust(8) + "'"
    raise TypeError(f"unsupported FITS value type {type(value).__name__}")


def card(keyword, value=None, comment="", allow_long=False):
    """One card image. `keyword` is a standard keyword (≤8 characters) or an ESO hierarchical
    name without the `HIERARCH ESO` prefix written with spaces (`DET DIT`).

    Long comments are cut; a value that does not fit raises unless `allow_long` (used only to
    write the deliberately over-long card of a broken .hdr dump).
    """
    if keyword in ("COMMENT", "HISTORY"):
        return f"{keyword:<8}{comment}"[:CARD].ljust(CARD)
    text = format_value(value)
    numeric = not text.startswith("'")
    if len(keyword) <= 8 and keyword == keyword.upper() and " " not in keyword:
        head = f"{keyword:<8}= "
        body = text.rjust(20) if numeric else text.ljust(20)
    else:
        head = f"HIERARCH ESO {keyword}".ljust(HIERARCH_EQUALS_COLUMN) + "= "
        body = text
        if numeric and len(head) + 12 <= CARD:
            body = text.rjust(12)
    image = head + body
    if comment and len(image) + 3 < CARD:
        image = f"{image} / {comment}"
    if len(image) > CARD:
        if len(head + body) > CARD and not allow_long:
            raise ValueError(f"card for {keyword} does not fit in 80 columns: {image!r}")
        if not allow_long:
            image = image[:CARD]
    return image.ljust(CARD)


def header_bytes(cards):
    """The header unit: the card images, END, blank-padded to whole 2880-byte blocks."""
    text = "".join(cards) + "END".ljust(CARD)
    text += " " * (-len(text) % BLOCK)
    return text.encode("ascii")


def data_bytes(data):
    """The data unit of an image: big-endian, zero-padded to whole blocks."""
    kind = {np.dtype("float32"): ">f4", np.dtype("int32"): ">i4", np.dtype("int16"): ">i2"}
    raw = np.ascontiguousarray(data).astype(kind[data.dtype], copy=False).tobytes()
    return raw + b"\0" * (-len(raw) % BLOCK)


def bitpix(data):
    return {np.dtype("float32"): -32, np.dtype("int32"): 32, np.dtype("int16"): 16}[data.dtype]


# --- CHECKSUM / DATASUM (FITS standard 4.0, appendix J) -----------------------------------


def _ones_complement_sum(raw, start=0):
    """32-bit ones' complement sum of big-endian words (the length is a multiple of 4)."""
    total = int(np.frombuffer(raw, dtype=">u4").astype(np.uint64).sum()) + start
    while total >> 32:
        total = (total & 0xFFFFFFFF) + (total >> 32)
    return total


_EXCLUDED = set(range(0x3A, 0x41)) | set(range(0x5B, 0x61))


def _encode_checksum(value):
    """The 16-character ASCII encoding of the complement of a checksum."""
    value = ~value & 0xFFFFFFFF
    characters = [0] * 16
    for byte_index in range(4):
        byte = (value >> (24 - 8 * byte_index)) & 0xFF
        quotient, remainder = divmod(byte, 4)
        chars = [quotient + 0x30] * 4
        chars[0] += remainder
        changed = True
        while changed:
            changed = False
            for j in (0, 2):
                if chars[j] in _EXCLUDED or chars[j + 1] in _EXCLUDED:
                    chars[j] += 1
                    chars[j + 1] -= 1
                    changed = True
        for j in range(4):
            characters[4 * j + byte_index] = chars[j]
    rotated = characters[15:] + characters[:15]
    return bytes(rotated).decode("ascii")


def fits_bytes(cards, data, checksum_date=None):
    """A complete single-HDU FITS file. With `checksum_date`, CHECKSUM and DATASUM are
    appended to `cards` and computed over the final bytes; their comments name that date
    (the frame's own DATE, never the wall clock, so that reruns give identical bytes)."""
    payload = data_bytes(data) if data is not None else b""
    if checksum_date is None:
        return header_bytes(cards) + payload
    datasum = _ones_complement_sum(payload)
    comment = f"HDU checksum updated {checksum_date}"
    cards = [
        *cards,
        card("CHECKSUM", "0" * 16, comment),
        card("DATASUM", str(datasum), f"data unit checksum updated {checksum_date}"),
    ]
    total = _ones_complement_sum(header_bytes(cards), datasum)
    cards[-2] = card("CHECKSUM", _encode_checksum(total), comment)
    return header_bytes(cards) + payload
