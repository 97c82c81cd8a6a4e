"""Actions on the AB page (issue 6 points 3 and 7): certify, reject, re-run with dependants,
cancel, move, ingest — through the entry points, checked on the server per role, refusals as
the entry point's message (400/403, never 500), in place with htmx or on the page without."""

import pytest
from django.urls import reverse

from processing.choices import AbStatus, ProductState
from processing.models import AssociationBlock, AuditEvent, Certification, IngestRequest, Product
from tests.ab_pages import processed, processed_night
from tests.web import HTMX


@pytest.fixture(scope="module")
def night(django_db_setup, django_db_blocker, tmp_path_factory):
    yield from processed_night(django_db_blocker, tmp_path_factory, "ab_actions_night")


@pytest.fixture
def naco(night, db, settings):
    settings.PHOENIX_DATA_ROOT = night["root"]
    return night["instance"]


def act(client, ab, action, htmx=True, **data):
    return client.post(reverse("monitor:ab_action", args=[ab.pk, action]), data, **(HTMX if htmx else {}))


def snapshot(ab):
    row = AssociationBlock.objects.filter(pk=ab.pk).values().get()
    row.pop("updated_at")
    return row, list(Product.objects.filter(ab=ab).values_list("state", flat=True)), AuditEvent.objects.count()


def test_certify_in_place_with_htmx(naco, certifier_client, certifier):
    ab = processed("DARK").first()
    response = act(certifier_client, ab, "certify", comment="clean dark")
    body = response.content.decode()
    assert response.status_code == 200 and f"{ab.ab_name} certified by carl" in body
    assert 'id="ab-status" class="ab-status" hx-swap-oob="true"' in body and 'data-state="certified"' in body
    assert 'id="ab-certifications" hx-swap-oob="true"' in body and "clean dark" in body
    assert "action-certify" not in body and "action-move" in body  # the buttons follow the state
    row = Certification.objects.get(ab=ab)
    assert (row.decision, row.user, row.comment) == ("certified", certifier, "clean dark")
    assert AuditEvent.objects.filter(action="certify", actor=certifier, object_id=str(ab.pk)).exists()
    assert set(ab.products.values_list("state", flat=True)) == {ProductState.CERTIFIED}


def test_without_htmx_an_action_redirects_with_a_message(naco, certifier_client):
    ab = processed("DARK").first()
    response = act(certifier_client, ab, "certify", htmx=False)
    assert response.status_code == 302 and response["Location"] == reverse("monitor:ab", args=[ab.pk])
    page = certifier_client.get(response["Location"]).content.decode()
    assert f"{ab.ab_name} certified by carl" in page


@pytest.mark.parametrize("htmx", [True, False])
def test_a_rejection_without_a_comment_is_refused_and_changes_nothing(naco, certifier_client, htmx):
    ab = processed("SCIENCE_IMG").first()
    before = snapshot(ab)
    response = act(certifier_client, ab, "reject", htmx=htmx, comment="   ")
    assert response.status_code == 400 and "a rejection needs a comment saying why" in response.content.decode()
    assert snapshot(ab) == before and not Certification.objects.filter(ab=ab).exists()
    if not htmx:  # the whole page comes back, with the message in the actions block
        assert "<h1" in response.content.decode()


def test_a_hostile_comment_is_kept_but_never_executed(naco, certifier_client):
    ab = processed("SCIENCE_IMG").first()
    hostile = '<script>alert("x")</script> satellite trail'
    response = act(certifier_client, ab, "reject", comment=hostile)
    assert response.status_code == 200 and Certification.objects.get(ab=ab).comment == hostile
    body = response.content.decode()
    assert "<script>alert" not in body and "&lt;script&gt;alert" in body


def test_a_too_long_comment_is_refused(naco, certifier_client):
    ab = processed("SCIENCE_IMG").first()
    response = act(certifier_client, ab, "certify", comment="x" * 5000)
    assert response.status_code == 400 and "at most 2000" in response.content.decode()
    assert not Certification.objects.filter(ab=ab).exists()


def test_the_entry_points_refusal_is_shown(naco, certifier_client):
    created = AssociationBlock.objects.get(status=AbStatus.CREATED)
    response = act(certifier_client, created, "certify")
    assert response.status_code == 400
    assert "it is created, not processed successfully" in response.content.decode()
    response = act(certifier_client, created, "move")
    assert response.status_code == 400 and "not certified yet" in response.content.decode()
    response = act(certifier_client, created, "ingest")
    assert response.status_code == 400 and "not moved yet" in response.content.decode()


@pytest.mark.parametrize("action", ["certify", "reject", "rerun", "cancel", "move", "ingest"])
def test_a_viewers_forged_post_is_refused_and_changes_nothing(naco, viewer_client, action):
    ab = processed("DARK").first()
    before = snapshot(ab)
    response = act(viewer_client, ab, action, comment="forged")
    assert response.status_code == 403 and "viewer may not" in response.content.decode()
    assert snapshot(ab) == before


@pytest.mark.parametrize("who, action, role", [
    ("operator", "certify", "certifier"), ("operator", "move", "certifier"),
    ("operator", "ingest", "certifier"), ("certifier", "rerun", "operator"),
    ("certifier", "cancel", "operator"),
])  # fmt: skip
def test_each_action_needs_its_role(naco, request, who, action, role):
    client = request.getfixturevalue(f"{who}_client")
    ab = processed("DARK").first()
    before = snapshot(ab)
    response = act(client, ab, action, comment="why not")
    assert response.status_code == 403 and f"({role} role needed)" in response.content.decode()
    assert snapshot(ab) == before


def test_bad_urls_and_methods(naco, certifier_client):
    ab = processed("DARK").first()
    assert act(certifier_client, ab, "explode").status_code == 404
    assert act(certifier_client, ab, "<script>").status_code == 404
    assert certifier_client.get(reverse("monitor:ab_action", args=[ab.pk, "certify"])).status_code == 405
    assert certifier_client.post(reverse("monitor:ab_action", args=[999999, "certify"])).status_code == 404
    assert not Certification.objects.exists()


def test_rerun_with_dependants_then_cancel(naco, operator_client):
    dark = processed("DARK").filter(dependants__isnull=False).distinct().first()
    dependants = set(AssociationBlock.objects.filter(depends_on=dark).values_list("pk", flat=True))
    response = act(operator_client, dark, "rerun")
    body = response.content.decode()
    assert response.status_code == 200 and f"{dark.ab_name} re-runs with" in body, body
    dark.refresh_from_db()
    assert dark.status in (AbStatus.QUEUED, AbStatus.PENDING) and dark.batch_id
    assert dependants and all(
        s in (AbStatus.PENDING, AbStatus.QUEUED)
        for s in AssociationBlock.objects.filter(pk__in=dependants).values_list("status", flat=True))
    assert 'hx-get="' + reverse("monitor:ab_status", args=[dark.pk]) in body  # polling again
    assert "action-cancel" in body
    # a second re-run while it is queued: the entry point refuses
    again = act(operator_client, dark, "rerun")
    assert again.status_code == 400 and "still pending, queued or running" in again.content.decode()
    # cancel it: its pending dependants become upstream failed
    response = act(operator_client, dark, "cancel")
    assert response.status_code == 200 and "cancelled" in response.content.decode()
    dark.refresh_from_db()
    assert dark.status == AbStatus.CANCELLED
    # nothing left to cancel
    response = act(operator_client, dark, "cancel")
    assert response.status_code == 400 and "only pending, queued or running" in response.content.decode()


def test_certify_move_and_ingest(naco, certifier_client):
    dark = processed("DARK").last()
    response = act(certifier_client, dark, "move")
    assert response.status_code == 400 and "not certified yet" in response.content.decode()
    assert act(certifier_client, dark, "certify").status_code == 200
    response = act(certifier_client, dark, "move")
    assert response.status_code == 200 and "products moved" in response.content.decode()
    dark.refresh_from_db()
    assert dark.moved_at and set(dark.products.values_list("state", flat=True)) == {ProductState.MOVED}
    assert "action-ingest" in response.content.decode()
    again = act(certifier_client, dark, "move")
    assert again.status_code == 400 and "moved already" in again.content.decode()
    response = act(certifier_client, dark, "ingest")
    body = response.content.decode()
    assert response.status_code == 200 and "ingestion requests queued" in body, body
    masters = dark.products.filter(kind="master")
    assert IngestRequest.objects.filter(product__in=masters).count() == masters.count() > 0
    response = act(certifier_client, dark, "ingest")
    assert response.status_code == 200 and "has an ingestion request already" in response.content.decode()
    assert IngestRequest.objects.filter(product__in=masters).count() == masters.count()
