"""Builders for the phoenixMonitor page tests: AB, product, conversion, ingestion and raw-frame
rows written straight into the database (the pages only read them)."""

import itertools

from processing.choices import AbCategory, Completeness, ProductKind, ProductState
from processing.conventions import night_bounds_mjd
from processing.models import (
    AssociationBlock,
    IdpConversion,
    IngestRequest,
    Product,
    RawFrame,
)

_serial = itertools.count(1)


def ab(instance, night=None, status="created", *, run_id="", **fields):
    """One AB of `night` (or of the DEEP run `run_id`) in `status`."""
    number = next(_serial)
    mjd = night_bounds_mjd(night)[0] + 0.1 if night else 55000.0
    return AssociationBlock.objects.create(
        instance=instance, ab_name=f"NACO.{night or run_id}.{number:05d}.ab",
        batch_label=f"SCIENCE_{night or run_id}", category=fields.pop("category", AbCategory.SCIENCE),
        night=night, run_id=run_id, raw_type="SCIENCE_IMG", action="coadd", mjd_obs=mjd,
        mjd_obs_mod=mjd, prod_root_name=f"r.NACO.{number}", status=status,
        completeness=fields.pop("completeness", Completeness.COMPLETE), **fields,
    )  # fmt: skip


def product(of_ab, kind=ProductKind.SCIENCE, *, pro_catg="COADDED_IMG", state=ProductState.MOVED,
            **fields):
    """A product row of an AB (the night is its AB's, as the worker registers it)."""
    number = next(_serial)
    return Product.objects.create(
        instance=of_ab.instance, ab=of_ab, name=f"NA_{number:05d}.fits", path=f"/x/{number}.fits",
        pro_catg=pro_catg, kind=kind, state=state, night=of_ab.night, **fields,
    )  # fmt: skip


def conversion(science, status="ok"):
    return IdpConversion.objects.create(product=science, status=status, actor_name="test")


def ingest(of_product, status="done"):
    number = next(_serial)
    return IngestRequest.objects.create(
        instance=of_product.instance, product=of_product, key=f"{of_product.name}:{number}",
        night=of_product.night, run_id=of_product.ab.run_id if of_product.ab else "",
        status=status, actor_name="test",
    )  # fmt: skip


def frames(instrument, night, count, *, run_id="", catg="SCIENCE"):
    """`count` raw frames of `night` in the data pool (headers only)."""
    rows = []
    for _ in range(count):
        number = next(_serial)
        rows.append(RawFrame(
            arcfile=f"{instrument}.{night}T00:00:{number:05d}.fits", instrument=instrument,
            night=night, mjd_obs=night_bounds_mjd(night)[0] + 0.2, dpr_catg=catg, run_id=run_id,
            keywords={}, header=b"", header_digest=f"{number:040d}",
        ))  # fmt: skip
    RawFrame.objects.bulk_create(rows)
