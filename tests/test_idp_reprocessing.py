"""A re-processed science product replaces its IDP: the AB is re-run, its new coadd certified
and moved over the old one (which the move supersedes), and the conversion of the new coadd
takes over the IDP's path, superseding the old IDP rows and refusing their pending ingestion."""

from pathlib import Path

from astropy.io import fits

from processing.certification import certify
from processing.choices import AbCategory, AbStatus, IngestStatus, ProductKind, ProductState
from processing.idp import convert_product
from processing.models import AssociationBlock, IdpConversion, IngestRequest, Product
from processing.moving import move
from processing.queue import actions
from processing.queue.qc_job import process_qc
from tests.processed import drive, process_month, simulate


def finish(ab):
    """QC, certify and move one AB, as -M does."""
    process_qc(ab.pk)
    assert certify([ab], actor_name="test").done == [ab.ab_name]
    assert move([ab], actor_name="test").moved == [ab.ab_name]
    return ab.products.get(kind=ProductKind.SCIENCE, state=ProductState.MOVED)


def test_the_idp_of_a_reprocessed_product_replaces_the_old_one(db, data_root, tmp_path):
    process_month(simulate(tmp_path / "simulated"), tmp_path, qc=False)
    ab = AssociationBlock.objects.filter(category=AbCategory.SCIENCE,
                                         status=AbStatus.SUCCESS).order_by("mjd_obs").first()
    old = finish(ab)
    first = convert_product(old, actor_name="test")
    assert first.status == "ok", first.message
    old_rows = list(Product.objects.filter(source=old))
    pending = IngestRequest.objects.create(
        instance=old.instance, product=first.idp, key=f"{first.idp.name}:{first.idp.md5}",
        night=old.night, actor_name="test")  # fmt: skip

    actions.rerun_with_dependants(ab, actor_name="test")
    drive(qc=False)
    new = finish(AssociationBlock.objects.get(pk=ab.pk))
    assert new.pk != old.pk and new.path == old.path
    assert Product.objects.get(pk=old.pk).state == ProductState.SUPERSEDED

    second = convert_product(new, actor_name="test")
    assert second.status == "ok", second.message
    assert second.idp.path == first.idp.path and second.idp.pk != first.idp.pk
    assert fits.getheader(second.idp.path)["PROV1"] == new.provenance["raw"][0]["name"]
    # the old IDP and its ancillaries: superseded, their pending ingestion refused
    assert {p.state for p in Product.objects.filter(pk__in=[r.pk for r in old_rows])} == {
        ProductState.SUPERSEDED}
    pending.refresh_from_db()
    assert pending.status == IngestStatus.REFUSED and "superseded" in pending.error
    # one live IDP per path, the files those of the new rows
    live = Product.objects.filter(kind__in=("idp", "ancillary")).exclude(state=ProductState.SUPERSEDED)
    assert sorted(p.source_id for p in live) == [new.pk] * 3
    assert sorted(p.name for p in Path(second.idp.path).parent.iterdir()) == sorted(p.name for p in live)
    assert IdpConversion.objects.filter(status="ok").count() == 2
