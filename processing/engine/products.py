"""Products of a recipe run, found by their HIERARCH ESO PRO CATG, with provenance and QC."""

import re
from dataclasses import dataclass, field
from pathlib import Path

from processing.headers import FITS_SUFFIXES, HeaderError, read_fits

_PROVENANCE = re.compile(r"^PRO\.REC1\.(RAW|CAL)(\d+)\.(NAME|CATG)$")


@dataclass
class ProductFile:
    """A FITS file a recipe wrote. `keywords` are its header keywords by OCA name (what rules
    match on when the product is associated as a master); `qc` the QC.* ones."""

    path: Path
    pro_catg: str
    keywords: dict
    provenance: dict = field(default_factory=dict)  # {"raw": [{name, catg}], "cal": [...]}

    @property
    def qc(self):
        return {k: v for k, v in self.keywords.items() if k.startswith("QC.")}


def provenance_of(keywords):
    """PRO.REC1.RAWi/CALi NAME and CATG → {"raw": [...], "cal": [...]} in index order."""
    found = {"raw": {}, "cal": {}}
    for key, value in keywords.items():
        match = _PROVENANCE.match(key)
        if match:
            kind, index, what = match.groups()
            found[kind.lower()].setdefault(int(index), {})[what.lower()] = value
    return {kind: [entry for _, entry in sorted(items.items())] for kind, items in found.items()}


def collect_products(directory):
    """(ProductFile per FITS file in `directory` with a PRO.CATG, warnings about the others).

    Files without PRO.CATG are not products (e.g. a recipe's scratch files); a file whose
    header cannot be read is reported, not silently dropped.
    """
    products, warnings = [], []
    for path in sorted(Path(directory).iterdir()):
        if not path.is_file() or not path.name.lower().endswith(FITS_SUFFIXES):
            continue
        try:
            read = read_fits(path)
        except HeaderError as exc:
            warnings.append(f"{path.name}: not a readable FITS file ({exc})")
            continue
        catg = read.keywords.get("PRO.CATG")
        if not catg:
            warnings.append(f"{path.name}: no HIERARCH ESO PRO CATG, not taken as a product")
            continue
        products.append(ProductFile(path, str(catg), read.keywords, provenance_of(read.keywords)))
    return products, warnings
