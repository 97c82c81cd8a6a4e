"""What a file must pass before the archive takes it (DFOS: dpIngest's fitsverify and the
Phase 3 validator).

IDPs and FITS ancillary files go through the Phase 3 validator (processing.phase3); any
finding of severity error refuses them. A non-FITS ancillary (a PNG preview) is taken when an
IDP of the same science product associates it (ASSONi) with its md5 (ASSOMi), as Phase 3
requires of non-FITS files. Master calibrations and other products are checked for what
applies to them: a readable FITS file, complete (not truncated), with CHECKSUM and DATASUM
matching where the header has them. The checks run on the staged copy, so what passed is
exactly what is archived.
"""

import os
import warnings
from dataclasses import dataclass, field

from astropy.io import fits
from django.utils import timezone

from processing.choices import ProductKind

#: kinds the Phase 3 validator judges
VALIDATED_KINDS = (ProductKind.IDP, ProductKind.ANCILLARY)
#: findings named in a refusal (all of them are kept in Product.validation)
SHOWN_FINDINGS = 3


@dataclass
class Verdict:
    refusal: str = ""  # why the archive refuses the file; empty: accepted
    prodcatg: str = ""
    validation: dict = field(default_factory=dict)  # the validator's report (IDPs)

    @property
    def ok(self):
        return not self.refusal


def check_file(product, path, md5):
    """Judge the file at `path` (the staged copy, or the product's file in a dry run), with
    content `md5`, as the product `product` would be archived."""
    if product.kind == ProductKind.ANCILLARY and not _is_fits(path):
        return _check_associated(product, md5)
    if product.kind in VALIDATED_KINDS:
        return _validate(product, path)
    return _check_fits(path)


def _validate(product, path):
    from processing.phase3 import validate_file

    report = validate_file(path)
    validation = {**report.as_dict(), "file": product.path, "at": timezone.now().isoformat()}
    for finding in validation["findings"]:  # the staged copy's path means the product's
        finding["message"] = finding["message"].replace(str(path), product.path)
    verdict = Verdict(prodcatg=report.prodcatg or "", validation=validation)
    if not report.ok:
        errors = list(report.errors)
        shown = "; ".join(_finding(f) for f in errors[:SHOWN_FINDINGS])
        more = f" (and {len(errors) - SHOWN_FINDINGS} more)" if len(errors) > SHOWN_FINDINGS else ""
        verdict.refusal = (f"Phase 3 validator: {len(errors)} error(s): {shown}{more}"
                           .replace(str(path), product.path))  # fmt: skip
    return verdict


def _is_fits(path):
    with open(path, "rb") as stream:
        return stream.read(9) == b"SIMPLE  ="


def _check_associated(product, md5):
    """A non-FITS ancillary: an IDP made of the same science product names it in ASSONi,
    with ASSOMi its md5 (ASSOCi its category)."""
    from processing.models import Product

    idps = Product.objects.filter(source_id=product.source_id, kind=ProductKind.IDP)
    for idp in idps if product.source_id else []:
        try:
            header = fits.getheader(idp.path)
        except (OSError, ValueError) as exc:
            return Verdict(refusal=f"{product.name} is not FITS, and the header of {idp.name}, "
                                   f"which could associate it, cannot be read: {exc}")  # fmt: skip
        for key, value in header.items():
            if key.startswith("ASSON") and value == product.name:
                number = key[len("ASSON"):]
                listed = header.get(f"ASSOM{number}", "")
                if listed != md5:
                    return Verdict(refusal=(
                        f"{idp.name} associates {product.name} (ASSON{number}) with md5 "
                        f"{listed or '(no ASSOM' + number + ')'}, but the file's md5 is {md5}"))
                return Verdict(prodcatg=str(header.get(f"ASSOC{number}", "")))
    return Verdict(refusal=(f"{product.name} is not a FITS file and no IDP of the same science "
                            "product associates it (ASSONi/ASSOMi): Phase 3 takes non-FITS "
                            "files only as associated ancillaries"))  # fmt: skip


def _finding(finding):
    keyword = f"{finding.keyword} " if finding.keyword else ""
    return f"[{finding.rule}] {keyword}({finding.where()}): {finding.message}"


def _check_fits(path):
    """A whole, intact FITS file: not truncated, CHECKSUM and DATASUM right where present."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # truncation is checked below, by size
            with fits.open(path, memmap=False, lazy_load_hdus=False) as hdus:
                return Verdict(refusal=_damage(path, hdus),
                               prodcatg=str(hdus[0].header.get("PRODCATG", "")))  # fmt: skip
    except (OSError, ValueError, TypeError) as exc:
        return Verdict(refusal=f"not a readable FITS file: {exc}")


def _damage(path, hdus):
    last = hdus.fileinfo(len(hdus) - 1)
    expected, actual = last["datLoc"] + last["datSpan"], os.path.getsize(path)
    if actual < expected:
        return f"truncated FITS file: {actual} bytes, its headers announce {expected}"
    for index, hdu in enumerate(hdus):
        if "DATASUM" in hdu.header and hdu.verify_datasum() != 1:
            return f"DATASUM of HDU {index} does not match its data"
        if "CHECKSUM" in hdu.header and hdu.verify_checksum() != 1:
            return f"CHECKSUM of HDU {index} does not match its header and data"
    return ""
