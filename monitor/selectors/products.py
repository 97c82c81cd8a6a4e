"""Read queries of the product page: the product and everything the archive side recorded
about it, each in one query whatever the number of rows, and its FITS headers from the file."""

import warnings
from dataclasses import dataclass, field

from astropy.io import fits
from django.db.models import Q
from django.shortcuts import get_object_or_404

from monitor import files
from monitor.selectors.audit import trail
from processing.models import (
    ArchiveRecord,
    IdpConversion,
    IngestRequest,
    Product,
    RawFrame,
)

#: HDUs whose header is shown in full; a file with more lists the rest by name only
MAX_HEADERS = 20


def product(pk):
    return get_object_or_404(Product.objects.select_related("instance", "ab", "source"), pk=pk)


def page(product):
    """Everything the product page shows besides the headers: a dict for the template."""
    names = {product.name} | ({product.original_name} if product.original_name else set())
    return {
        "derived": list(Product.objects.filter(source=product).order_by("kind", "name")
                        .only("pk", "name", "kind", "state", "pro_catg")),  # fmt: skip
        "conversions": list(IdpConversion.objects.filter(Q(product=product) | Q(idp=product))
                            .select_related("product", "idp")
                            .order_by("-created_at", "-id")),  # fmt: skip
        "records": list(ArchiveRecord.objects.filter(
            Q(product=product) | Q(instance_id=product.instance_id, origfile__in=names))
            .select_related("replaced_by").order_by("-version", "-id")),  # fmt: skip
        "requests": list(IngestRequest.objects.filter(product=product)
                         .select_related("record").order_by("-created_at", "-id")),  # fmt: skip
        "provenance": provenance(product),
        "events": trail(product),
    }


def provenance(product):
    """PRO.REC1.RAW*/CAL* with links: raw frames by ARCFILE, calibrations by product name."""
    raw = list(product.provenance.get("raw") or [])
    cal = list(product.provenance.get("cal") or [])
    frames = dict(RawFrame.objects.filter(arcfile__in=[e.get("name") for e in raw])
                  .values_list("arcfile", "pk")) if raw else {}  # fmt: skip
    masters = dict(Product.objects.filter(instance_id=product.instance_id,
                                          name__in=[e.get("name") for e in cal])
                   .values_list("name", "pk")) if cal else {}  # fmt: skip
    return {
        "raw": [{**entry, "frame": frames.get(entry.get("name"))} for entry in raw],
        "cal": [{**entry, "product": masters.get(entry.get("name"))} for entry in cal],
    }


@dataclass
class Hdu:
    index: int
    extname: str
    kind: str
    shape: str
    cards: list = field(default_factory=list)


@dataclass
class Headers:
    """The headers of the product's file, or why they come from the database instead."""

    hdus: list = field(default_factory=list)
    more: list = field(default_factory=list)  # HDUs beyond MAX_HEADERS: (index, extname)
    fallback: str = ""  # why Product.keywords is shown instead


def headers(product):
    """Every HDU's header read from the file (data not loaded); if the file cannot be read,
    Headers.fallback says why and the page shows Product.keywords."""
    try:
        path = files.resolve(product.path)
    except files.Unavailable as refusal:
        return Headers(fallback=f"{refusal}")
    if not files.CONTENT_TYPES.get(path.suffix.lower(), "").endswith("fits"):
        return Headers(fallback=f"{product.name} is not a FITS file")
    result = Headers()
    try:
        with warnings.catch_warnings(), fits.open(path, lazy_load_hdus=True) as hdul:
            warnings.simplefilter("ignore")
            for index, hdu in enumerate(hdul):
                extname = str(hdu.header.get("EXTNAME", "")).strip()
                if index >= MAX_HEADERS:
                    result.more.append((index, extname))
                    continue
                axes = range(1, hdu.header.get("NAXIS", 0) + 1)
                naxes = [hdu.header.get(f"NAXIS{i}", 0) for i in axes]
                result.hdus.append(Hdu(index, extname, type(hdu).__name__,
                                       " × ".join(str(n) for n in naxes),
                                       [str(card) for card in hdu.header.cards]))  # fmt: skip
    except (OSError, ValueError, TypeError, KeyError, IndexError) as exc:
        return Headers(fallback=f"{product.name} cannot be read as FITS "
                                f"({type(exc).__name__}: {str(exc)[:120]})")  # fmt: skip
    return result
