"""A FITS file as the rules see it: its headers, its category, the HDUs a rule looks at
(selectors) and the conditions under which a rule applies.

Selectors and conditions carry their wording, so that a finding and the generated rule list
say in plain words where and when a rule applies.
"""

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Callable

from astropy.io import fits

from processing.phase3.categories import scopes_of

MAGIC = ((b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"PK\x03\x04", "zip"))


class Product:
    def __init__(self, hdul, filename):
        self.hdul = hdul
        self.filename = filename
        self.headers = [hdu.header for hdu in hdul]
        self._values = {}
        self._memo = {}
        value = self.primary.get("PRODCATG")
        self.prodcatg = value.strip() if isinstance(value, str) else None
        self.scopes = scopes_of(self.prodcatg)

    def values(self, index):
        """Keyword → value of one HDU (the first card of each keyword), parsed once: an
        astropy Header look-up costs tens of microseconds and the rules make hundreds."""
        if index not in self._values:
            found = {}
            for keyword, value in self.headers[index].items() if index < len(self.headers) else ():
                found.setdefault(keyword, value)
            self._values[index] = found
        return self._values[index]

    def once(self, function):
        """`function(self)`, computed once: for results several rules share."""
        if function not in self._memo:
            self._memo[function] = function(self)
        return self._memo[function]

    @cached_property
    def compression(self):
        """gzip, bzip2 or zip compression of the whole file, by its first bytes (None for an
        HDUList in memory)."""
        path = self.hdul.filename()
        if not path:
            return None
        try:
            with open(path, "rb") as handle:
                start = handle.read(4)
        except OSError:
            return None
        return next((name for magic, name in MAGIC if start.startswith(magic)), None)

    @property
    def primary(self):
        return self.values(0)

    def extname(self, index):
        value = self.values(index).get("EXTNAME")
        return str(value).strip() if value is not None else ""

    def matching(self, index, spec):
        """Keywords of an HDU that `spec` names: `FPRA*` is FPRA followed by digits (or none)."""
        values = self.values(index)
        if not spec.endswith("*"):
            return [spec] if spec in values else []
        prefix = spec[:-1]
        return [key for key in values
                if key.startswith(prefix) and (key[len(prefix):].isdigit() or key == prefix)]

    def number(self, keyword, index=0):
        """The keyword's value if it is a finite number, else None (missing or wrong type:
        other rules report that, so consistency checks simply do not apply)."""
        value = self.values(index).get(keyword)
        return float(value) if is_number(value) and math.isfinite(value) else None

    def text(self, keyword, index=0):
        """The keyword's string value without FITS padding, or None."""
        value = self.values(index).get(keyword)
        return value.strip() if isinstance(value, str) else None

    def extensions_of_class(self, hduclas2):
        """Indices of the extensions whose HDUCLAS2 is `hduclas2` (ESO HDUCLASS scheme)."""
        return [index for index in range(1, len(self.headers))
                if self.text("HDUCLAS2", index) == hduclas2]

    @cached_property
    def uses_hduclass(self):
        """An image or cube using the ESO HDUCLASS scheme: some extension has HDUCLAS2."""
        return any("HDUCLAS2" in self.values(index) for index in range(1, len(self.headers)))


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class Selector:
    """The HDUs a keyword rule looks at; `where` names them in messages."""

    where: str
    select: Callable


@dataclass(frozen=True)
class Condition:
    """When a rule applies, beyond its category; `text` says it in messages."""

    text: str
    holds: Callable


def _image_data(product):
    if product.uses_hduclass:
        return product.extensions_of_class("DATA")
    return [0]


def _spectrum_table(product):
    if len(product.hdul) > 1 and isinstance(product.hdul[1], fits.BinTableHDU):
        return [1]
    return []


PRIMARY = Selector("the primary HDU", lambda product: [0])
EXTENSIONS = Selector("every extension", lambda product: range(1, len(product.headers)))
EVERY_HDU = Selector("every HDU", lambda product: range(len(product.headers)))
IMAGE_DATA = Selector("the image HDU (primary, or the extension with HDUCLAS2='DATA')",
                      _image_data)
SPECTRUM_TABLE = Selector("the spectrum's BINTABLE extension (HDU 1)", _spectrum_table)
DATA_EXTENSIONS = Selector("the extension with HDUCLAS2='DATA'",
                           lambda product: product.extensions_of_class("DATA"))


def _origin(product):
    return product.text("ORIGIN") or ""


ESO_ORIGIN = Condition("ORIGIN starts with 'ESO'", lambda p: _origin(p).startswith("ESO"))
NOT_NGTS = Condition("ORIGIN is not 'NGTS'", lambda p: _origin(p) != "NGTS")
NOT_APEX = Condition("ORIGIN is not 'APEX'", lambda p: _origin(p) != "APEX")
NOT_APEX_GTC = Condition("ORIGIN is neither 'APEX' nor 'GRANTECAN'",
                         lambda p: _origin(p) not in ("APEX", "GRANTECAN"))
NOT_APEX_KMOS = Condition("ORIGIN is not 'APEX' and INSTRUME is not 'KMOS'",
                          lambda p: _origin(p) != "APEX" and p.text("INSTRUME") != "KMOS")
#: The Phase 3 collections exempt from EXT_OBJ, by the instrument that names them.
EXT_OBJ_COLLECTIONS = ("XSHOOTER", "FORS2", "VIMOS", "ESPRESSO")
NEEDS_EXT_OBJ = Condition(
    "INSTRUME is not one of " + ", ".join(EXT_OBJ_COLLECTIONS),
    lambda p: p.text("INSTRUME") not in EXT_OBJ_COLLECTIONS,
)
HDUCLASS_SCHEME = Condition("the file uses the HDUCLASS scheme",
                            lambda p: p.uses_hduclass)
WAVE_AXIS = Condition("TTYPE1 is 'WAVE'", lambda p: p.text("TTYPE1", 1) == "WAVE")
