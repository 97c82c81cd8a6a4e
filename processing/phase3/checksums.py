"""CHECKSUM and DATASUM of every HDU, verified against the bytes of the file.

FITS checksum convention: DATASUM is the 32-bit ones'-complement sum of the HDU's data
blocks; CHECKSUM makes the sum of header and data blocks come out as -0 (all bits set).
astropy's `verify_checksum` sums the header as astropy would write it, not as it is in the
file: where astropy adds a card on reading (EXTEND) or normalises one, it reports a correct
checksum as wrong and hides the missing card. So a file's own bytes are summed here; an HDUList
held in memory (nothing written yet), or a gzip-compressed file, is left to astropy.
"""

import re

import numpy as np

CARD = 80
_VALUE = {
    "CHECKSUM": re.compile(rb"^CHECKSUM= *'([^']*)'"),
    "DATASUM": re.compile(rb"^DATASUM = *'? *([^' /]*)"),
}


def ones_complement_sum(data, total=0):
    """The 32-bit ones'-complement sum of big-endian words (bytes or a uint8 array)."""
    data = np.frombuffer(data, dtype=np.uint8) if isinstance(data, bytes) else data
    whole = data.size - data.size % 4
    total += int(data[:whole].view(">u4").sum(dtype=np.uint64))
    if data.size % 4:
        total += int.from_bytes(bytes(data[whole:]) + b"\0" * (4 - data.size % 4), "big")
    while total >> 32:
        total = (total & 0xFFFFFFFF) + (total >> 32)
    return total


def _card_value(header, keyword):
    for start in range(0, len(header), CARD):
        found = _VALUE[keyword].match(header[start:start + CARD])
        if found:
            return found.group(1).decode("ascii", "replace").strip()
    return None


def stored_sums(product):
    """Per HDU: {keyword: (value in the header or None, matches)} for CHECKSUM and DATASUM."""
    path = product.hdul.filename()
    if not path or product.compression:
        return [_astropy_sums(hdu) for hdu in product.hdul]
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    sums = []
    for index in range(len(product.hdul)):
        info = product.hdul.fileinfo(index)
        header = bytes(raw[info["hdrLoc"]:info["datLoc"]])
        datasum = ones_complement_sum(raw[info["datLoc"]:info["datLoc"] + info["datSpan"]])
        checksum, stored = _card_value(header, "CHECKSUM"), _card_value(header, "DATASUM")
        sums.append({
            "CHECKSUM": (checksum, ones_complement_sum(header, datasum) == 0xFFFFFFFF),
            "DATASUM": (stored, stored is not None and stored.isdigit() and int(stored) == datasum),
        })
    return sums


def _astropy_sums(hdu):
    """astropy's verification; a tile-compressed image keeps its sums on the stored table."""
    stored = getattr(hdu, "_bintable", None) or hdu
    header = stored.header
    try:
        datasum_ok = stored.verify_datasum() == 1
    except ValueError:  # a DATASUM that is not a number
        datasum_ok = False
    return {"CHECKSUM": (header.get("CHECKSUM"), stored.verify_checksum() == 1),
            "DATASUM": (header.get("DATASUM"), datasum_ok)}
