"""The product page (monitor:product) on a real processed NACO night: -M certified, moved and
converted it (IDPs validated), and ingestion archived it; plus "validate now".

The night is processed once for the module inside a transaction rolled back at its end; each
test runs in a savepoint of it."""

import shutil
from pathlib import Path

import pytest
from astropy.io import fits
from django.db import transaction
from django.test import override_settings
from django.urls import reverse
from django.utils.html import escape

from processing.abs.scope import Scope
from processing.archive.ingest import ingest_scope
from processing.choices import ArchiveStatus, ProductKind
from processing.finishing import certify_and_move
from processing.models import ArchiveRecord, AuditEvent, IngestRequest, Product, RawFrame
from tests.processed import process_month, simulate
from tests.web import HTMX, at_most_queries


@pytest.fixture(scope="module")
def night(django_db_setup, django_db_blocker, tmp_path_factory):
    root = tmp_path_factory.mktemp("product_page")
    simulated = simulate(root / "simulated")
    data = root / "data"
    data.mkdir()
    with django_db_blocker.unblock(), override_settings(PHOENIX_DATA_ROOT=data):
        with transaction.atomic():
            instance = process_month(simulated, root)
            certify_and_move(instance, Scope.for_month("2009-06"), actor_name="test")
            ingest_scope(instance, actor_name="test")
            yield {"instance": instance, "data": data}
            transaction.set_rollback(True)


@pytest.fixture
def naco(night, db, settings):
    settings.PHOENIX_DATA_ROOT = night["data"]
    return night


def page(client, product, **extra):
    return client.get(reverse("monitor:product", args=[product.pk]), **extra)


def first(**filters):
    return Product.objects.filter(**filters).order_by("pk").first()


def test_a_science_product_page_shows_facts_headers_conversion_provenance(naco, viewer_client):
    science = first(kind=ProductKind.SCIENCE)
    response = page(viewer_client, science)
    assert response.status_code == 200
    text = response.content.decode()
    assert science.name in text and science.pro_catg in text
    assert reverse("monitor:ab", args=[science.ab_id]) in text
    assert science.md5 in text and science.night.isoformat() in text
    if science.original_name and science.original_name != science.name:
        assert f"{science.original_name}" in text
    # the headers of every HDU, read from the file
    with fits.open(science.path) as hdul:
        assert text.count('<details') >= len(hdul)
        assert "HIERARCH ESO PRO CATG" in text
    # the IDP made from it, and its conversion record
    idp = Product.objects.get(source=science, kind=ProductKind.IDP)
    assert reverse("monitor:product", args=[idp.pk]) in text
    conversion = science.conversions.get()
    assert escape(conversion.message) in text
    # provenance: the raw frames, linked to the data pool
    raws = science.provenance["raw"]
    assert raws and all(entry["name"] in text for entry in raws)
    frame = RawFrame.objects.get(arcfile=raws[0]["name"])
    assert f'<a href="{reverse("monitor:frame", args=[frame.pk])}">{frame.arcfile}</a>' in text
    # preview and download
    assert reverse("monitor:product_preview", args=[science.pk]) in text
    assert reverse("monitor:product_download", args=[science.pk]) in text
    assert "?stretch=asinh" in text


def test_an_idp_page_shows_its_validation_and_archive_record(naco, viewer_client):
    idp = first(kind=ProductKind.IDP)
    record = ArchiveRecord.objects.get(product=idp)
    request = IngestRequest.objects.get(product=idp)
    text = page(viewer_client, idp).content.decode()
    assert "Phase 3 validation" in text and "No error" in text
    assert f"PRODCATG <code>{idp.validation['prodcatg']}</code>" in text
    assert record.adp_id in text and 'data-state="current"' in text
    assert 'data-state="done"' in text or f'data-state="{request.status}"' in text
    assert "Never queued for ingestion" not in text
    assert "Validate again" not in text  # a viewer gets no button
    assert "this product" in text  # the conversion that made it


def test_a_master_page_says_the_validator_is_for_idps(naco, certifier_client):
    master = first(kind=ProductKind.MASTER)
    text = page(certifier_client, master).content.decode()
    assert ("The Phase 3 validator judges IDPs and their ancillaries; "
            "this is a master calibration") in text
    assert "Validate now" not in text


def test_archive_versions_are_all_listed(naco, viewer_client):
    idp = first(kind=ProductKind.IDP)
    current = ArchiveRecord.objects.get(product=idp)
    older = ArchiveRecord.objects.create(
        instance=current.instance, product=None, adp_id="ADP.2001-01-01T00:00:00.000",
        origfile=current.origfile, kind=current.kind, path=current.path, md5="0" * 32,
        size=1, version=current.version + 1, status=ArchiveStatus.HIDDEN,
        status_reason="hidden by request 7",
    )  # fmt: skip
    text = page(viewer_client, idp).content.decode()
    assert older.adp_id in text and "hidden by request 7" in text and current.adp_id in text
    assert text.index(older.adp_id) < text.index(current.adp_id)  # newest version first


def test_a_product_whose_file_is_gone_shows_the_recorded_keywords(naco, viewer_client, tmp_path):
    science = first(kind=ProductKind.SCIENCE)
    keep = tmp_path / "kept.fits"
    shutil.move(science.path, keep)
    try:
        text = page(viewer_client, science).content.decode()
    finally:
        shutil.move(keep, science.path)
    assert "The file cannot be read (the file " in text and "is missing)" in text
    assert "keywords recorded in the database" in text
    key, value = next(iter(science.keywords.items()))
    assert f"<th>{key}</th>" in text
    assert str(naco["data"]) not in text  # the page shows paths relative to the data root


@pytest.fixture
def idp_file(naco, tmp_path):
    """An IDP whose file the test may change: restored afterwards (files are not rolled back)."""
    idp = first(kind=ProductKind.IDP)
    shutil.copy2(idp.path, tmp_path / "original.fits")
    yield idp
    shutil.copy2(tmp_path / "original.fits", idp.path)


def test_validate_now_runs_the_validator_and_records_it(idp_file, certifier_client):
    idp = idp_file
    Product.objects.filter(pk=idp.pk).update(validation={})
    text = page(certifier_client, idp).content.decode()
    assert "Never validated" in text and "Validate now" in text
    # break a mandatory keyword in the file, so that the report has findings to show
    with fits.open(idp.path, mode="update") as hdul:
        del hdul[0].header["OBJECT"]
    response = certifier_client.post(reverse("monitor:product_validate", args=[idp.pk]), **HTMX)
    assert response.status_code == 200
    text = response.content.decode()
    idp.refresh_from_db()
    assert idp.validation["errors"] >= 1 and idp.validation["at"]
    finding = next(f for f in idp.validation["findings"] if f["keyword"] == "OBJECT")
    assert f"<code>{finding['rule']}</code>" in text and "<code>OBJECT</code>" in text
    assert "Validate again" in text
    event = AuditEvent.objects.get(action="validate_idp", object_id=str(idp.pk))
    assert event.actor_name == "carl"
    assert "validate_idp" in page(certifier_client, idp).content.decode()  # on the trail


def test_validate_now_without_htmx_redirects_with_a_message(naco, certifier_client):
    idp = first(kind=ProductKind.IDP)
    response = certifier_client.post(reverse("monitor:product_validate", args=[idp.pk]),
                                     follow=True)  # fmt: skip
    assert response.redirect_chain[-1][0] == reverse("monitor:product", args=[idp.pk])
    assert f"{idp.name} validated: 0 error(s)" in response.content.decode()


def test_validate_refuses_a_viewer_a_master_and_nonsense(naco, client, viewer, certifier):
    idp = first(kind=ProductKind.IDP)
    before = idp.validation
    client.force_login(viewer)
    response = client.post(reverse("monitor:product_validate", args=[idp.pk]), **HTMX)
    assert response.status_code == 403
    assert "viewer may not validate products (certifier role needed)" in response.content.decode()
    idp.refresh_from_db()
    assert idp.validation == before
    client.force_login(certifier)
    master = first(kind=ProductKind.MASTER)
    response = client.post(reverse("monitor:product_validate", args=[master.pk]), **HTMX)
    assert response.status_code == 422
    assert f"{master.name} is a master calibration" in response.content.decode()
    assert client.get(reverse("monitor:product_validate", args=[idp.pk])).status_code == 405
    assert client.post("/products/999999999/validate/", **HTMX).status_code == 404
    assert client.post("/products/abc/validate/").status_code == 404
    assert not AuditEvent.objects.filter(action="validate_idp").exists()


def test_the_validate_post_needs_csrf(naco, certifier):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(certifier)
    idp = first(kind=ProductKind.IDP)
    assert client.post(reverse("monitor:product_validate", args=[idp.pk])).status_code == 403


def test_a_real_product_previews_and_its_qc_plot_is_served(naco, viewer_client):
    science = first(kind=ProductKind.SCIENCE)
    response = viewer_client.get(reverse("monitor:product_preview", args=[science.pk]),
                                 {"size": "thumb"})  # fmt: skip
    assert response.status_code == 200 and response.content[:8] == b"\x89PNG\r\n\x1a\n"
    plot = first(pro_catg="QC_PLOT_PNG")
    response = viewer_client.get(reverse("monitor:product_preview", args=[plot.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == Path(plot.path).read_bytes()


def test_an_unknown_product_is_404(naco, viewer_client):
    assert viewer_client.get("/products/999999999/").status_code == 404


def test_the_page_needs_a_login(naco, client):
    response = page(client, first(kind=ProductKind.SCIENCE))
    assert response.status_code == 302 and "login" in response["Location"]


def grow(idp, n):
    """n more archive versions, ingestion requests and audit events of `idp`."""
    current = ArchiveRecord.objects.get(product=idp)
    for i in range(n):
        ArchiveRecord.objects.create(
            instance=current.instance, adp_id=f"ADP.2001-01-01T00:00:{i:02d}.000",
            origfile=current.origfile, kind=current.kind, path=current.path, md5="0" * 32,
            size=1, version=current.version + 1 + i, status=ArchiveStatus.HIDDEN,
        )  # fmt: skip
        IngestRequest.objects.create(instance=idp.instance, product=idp, key=f"{idp.name}:{i}",
                                     actor_name="test", duplicates=i)  # fmt: skip
        AuditEvent.objects.create(actor_name="test", action="ingest", message=f"event {i}",
                                  object_type="processing.Product", object_id=str(idp.pk))


def test_the_page_uses_a_bounded_number_of_queries(naco, viewer_client):
    idp = first(kind=ProductKind.IDP)
    with at_most_queries(12) as small:
        assert page(viewer_client, idp).status_code == 200
    grow(idp, 25)
    with at_most_queries(12) as large:
        text = page(viewer_client, idp).content.decode()
    assert "ADP.2001-01-01T00:00:24.000" in text and "event 24" in text
    assert len(large) == len(small), (len(small), len(large))
