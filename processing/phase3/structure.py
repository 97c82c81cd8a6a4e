"""Checks on the file as a whole and on its HDU structure: file name, compression, checksums,
long strings, value types, data presence, the reserved extension names.

Each function takes the product and yields (hdu index or None, keyword, message).
"""

import re

from astropy.io import fits

from processing.phase3.categories import RECOGNISED_SCIENCE, is_supported, supported_text
from processing.phase3.checksums import stored_sums
from processing.phase3.kinds import show
from processing.phase3.product import is_number

MAX_NAME = 68
COMMENTARY = ("COMMENT", "HISTORY", "")


def filename_length(product):
    if len(product.filename) > MAX_NAME:
        yield None, "", (f"file name {product.filename!r} has {len(product.filename)} "
                         f"characters; at most {MAX_NAME} are allowed")


def fz_compression(product):
    tiled = any(isinstance(hdu, fits.CompImageHDU) for hdu in product.hdul)
    whole = product.compression
    named_fz = product.filename.endswith(".fz")
    if named_fz and not tiled:
        yield None, "", (f"file name {product.filename!r} ends with '.fz' but the file is "
                         "not tile-compressed")
    if (tiled or whole) and not named_fz:
        how = "tile-compressed" if tiled else f"{whole}-compressed"
        yield None, "", (f"the file is {how} but its name {product.filename!r} does not end "
                         "with '.fz'")


def checksum(keyword):
    """CHECKSUM or DATASUM present and matching the HDU (checksums.py says how)."""
    def run(product):
        for index, sums in enumerate(product.once(stored_sums)):
            value, matches = sums[keyword]
            if value is None:
                yield index, keyword, f"{keyword} is missing: mandatory in every HDU"
            elif not matches:
                yield index, keyword, f"{keyword} = {show(value)} does not match the HDU's bytes"
    return run


def long_strings(product):
    """String values written over CONTINUE cards (astropy joins them into one long card; a
    value of up to 68 characters always fits one card)."""
    for index, header in enumerate(product.headers):
        for keyword, value in product.values(index).items():
            if isinstance(value, str) and len(value) > 60 and keyword not in COMMENTARY \
                    and len(header.cards[keyword].image) > 80:
                yield index, keyword, (f"{keyword} has a {len(value)}-character value written "
                                       "with CONTINUE cards, which are not allowed")


def value_types(numbers, logicals):
    """Keywords the standard defines as numbers (a regular expression) or logicals (names)."""
    numeric = re.compile(numbers)

    def run(product):
        for index in range(len(product.headers)):
            for keyword, value in product.values(index).items():
                if keyword in logicals:
                    if not isinstance(value, bool):
                        yield index, keyword, f"{keyword} = {show(value)}: expected T or F"
                elif numeric.fullmatch(keyword) and not is_number(value):
                    yield index, keyword, f"{keyword} = {show(value)}: expected a number"
    return run


def data_present(product):
    if all(product.values(index).get("NAXIS", 0) == 0 for index in range(len(product.headers))):
        yield None, "NAXIS", "no HDU contains data: NAXIS is 0 in every HDU"


def unique_extnames(names):
    def run(product):
        for name in names:
            found = [index for index in range(1, len(product.headers))
                     if product.extname(index) == name]
            for index in found[1:]:
                yield index, "EXTNAME", (f"EXTNAME = {name!r} is given in HDUs "
                                         f"{', '.join(map(str, found))}; it must be unique")
    return run


def provenance_extension(product):
    found = [index for index in range(1, len(product.headers))
             if product.extname(index) == "PHASE3PROVENANCE"]
    if found and product.primary.get("PROVXTN") is not True:
        yield 0, "PROVXTN", (f"PROVXTN = {show(product.primary.get('PROVXTN'))}: must be T "
                             f"because HDU {found[0]} is a PHASE3PROVENANCE extension")


def supported_category(product):
    value = product.primary.get("PRODCATG")
    if value is None or product.prodcatg and is_supported(product.prodcatg):
        return
    if product.prodcatg in RECOGNISED_SCIENCE:
        known = "recognised by ESO's Phase 3 but not checked by this validator"
    else:
        known = "not a category of ESO's Phase 3"
    yield 0, "PRODCATG", f"PRODCATG = {show(value)}: {known}; supported: {supported_text()}"
