"""Bulk actions of the AB monitor on a really processed NACO night (real recipes and QC):
the confirmation's counts are what the entry points then change — certify → move → ingest,
the ingestion queue filling, an AuditEvent per action — and a second ingest finds nothing
left to queue."""

import pytest
from django.urls import reverse

from processing.choices import AbStatus, ProductState
from processing.models import AssociationBlock, AuditEvent, IdpConversion, IngestRequest, Product
from tests.processed import process_month, simulate
from tests.web import HTMX


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    return simulate(tmp_path_factory.mktemp("naco_raw"))


@pytest.fixture
def processed(db, simulated, data_root, tmp_path):
    """The processed NACO instance and the night with most of its ABs."""
    instance = process_month(simulated, tmp_path)
    nights = list(AssociationBlock.objects.values_list("night", flat=True))
    return instance, max(set(nights), key=nights.count).isoformat()


def post(client, night, data):
    return client.post(reverse("monitor:date_actions", args=["NACO", night]), data, **HTMX)


def test_certify_move_ingest_from_the_ab_monitor(processed, certifier_client):
    instance, night = processed
    abs_ = AssociationBlock.objects.filter(instance=instance, night=night)
    done = abs_.filter(status=AbStatus.SUCCESS)
    assert done.count() >= 2 and not abs_.exclude(certification="").exists()
    first, *others = done.order_by("mjd_obs")
    judged = Product.objects.filter(ab__in=done, kind__in=("master", "science", "plot"))

    # move before certifying: nothing qualifies, and the confirmation says why
    html = post(certifier_client, night, {"action": "move", "select": "all"}).content.decode()
    assert "Nothing to move the products of" in html and "not certified yet" in html

    # certify one AB by its id, then all the rest of the date through "all matching"
    html = post(certifier_client, night, {"action": "certify", "ids": [first.pk]}).content.decode()
    assert f"Certify 1 AB</strong> ({judged.filter(ab=first).count()} products)?" in html
    post(certifier_client, night, {"action": "certify", "ids": [first.pk], "confirm": "1"})
    html = post(certifier_client, night, {"action": "certify", "select": "all"}).content.decode()
    assert f"Certify {len(others)} AB" in html
    assert f"{abs_.count() - len(others)} of the {abs_.count()} selected cannot" in html
    assert "certified already" in html
    response = post(certifier_client, night, {"action": "certify", "select": "all", "confirm": "1",
                                               "comment": "QC fine"})  # fmt: skip
    assert f"{len(others)} ABs certified" in response.content.decode()
    assert done.filter(certification="certified").count() == done.count()
    assert AuditEvent.objects.filter(action="certify", actor_name="carl").count() == 2

    # move: the confirmation counts the certified products; all of them move
    certified = Product.objects.filter(ab__in=done, state=ProductState.CERTIFIED).count()
    html = post(certifier_client, night, {"action": "move", "select": "all"}).content.decode()
    assert f"Move the products of {done.count()} AB{'s' if done.count() > 1 else ''}</strong> ({certified} products)?" in html
    html = post(certifier_client, night, {"action": "move", "select": "all", "confirm": "1"}).content.decode()
    assert f"{done.count()} ABs moved ({certified} products)" in html
    assert not done.filter(moved_at__isnull=True).exists()
    assert AuditEvent.objects.filter(action="move", actor_name="carl").exists()

    # ingest: science products are converted to IDPs first, then the queue fills
    science = Product.objects.filter(ab__in=done, kind="science", state=ProductState.MOVED).count()
    assert science > 0
    html = post(certifier_client, night, {"action": "ingest", "select": "all"}).content.decode()
    assert f"{science} science product{'s' if science != 1 else ''} converted to IDPs first" in html
    assert IngestRequest.objects.count() == 0
    html = post(certifier_client, night, {"action": "ingest", "select": "all", "confirm": "1"}).content.decode()
    queued = IngestRequest.objects.filter(product__ab__in=done).count()
    assert queued > 0 and f"{queued} products queued for ingestion" in html
    assert IdpConversion.objects.filter(status="ok").count() == science
    assert AuditEvent.objects.filter(action="queue_ingestion", actor_name="carl").exists()
    assert f"0/{queued} products" in html  # the refreshed header: nothing ingested yet
    assert 'hx-swap-oob="outerHTML"' in html

    # a second ingest has nothing left to queue and queues nothing twice
    html = post(certifier_client, night, {"action": "ingest", "select": "all"}).content.decode()
    assert "Nothing to queue for ingestion" in html and "nothing left to queue" in html
    assert IngestRequest.objects.count() == queued

    # the table shows each AB's ingestion
    page = certifier_client.get(reverse("monitor:date", args=["NACO", night])).content.decode()
    assert "0/" in page and " open" in page


def test_a_certified_ab_cannot_be_rejected_after_its_move_and_nothing_changes(processed, certifier_client):
    instance, night = processed
    ab = AssociationBlock.objects.filter(night=night, status=AbStatus.SUCCESS).first()
    post(certifier_client, night, {"action": "certify", "ids": [ab.pk], "confirm": "1"})
    post(certifier_client, night, {"action": "move", "ids": [ab.pk], "confirm": "1"})
    html = post(certifier_client, night, {"action": "reject", "ids": [ab.pk], "comment": "late doubt"}
                ).content.decode()  # fmt: skip
    assert "Nothing to reject" in html and "products moved already" in html
    ab.refresh_from_db()
    assert ab.certification == "certified" and ab.moved_at


def test_a_large_ingest_converts_in_the_background_and_a_second_delivery_does_nothing_twice(
        processed, certifier_client, monkeypatch):  # fmt: skip
    from django_q.models import OrmQ

    from processing import finishing, tasks
    from processing.archive.access import ArchiveAccessError

    instance, night = processed
    done = AssociationBlock.objects.filter(instance=instance, night=night, status=AbStatus.SUCCESS)
    post(certifier_client, night, {"action": "certify", "select": "all", "confirm": "1"})
    post(certifier_client, night, {"action": "move", "select": "all", "confirm": "1"})
    science = Product.objects.filter(ab__in=done, kind="science", state=ProductState.MOVED).count()
    assert science > 0
    monkeypatch.setattr(finishing, "INLINE_CONVERSIONS", science - 1)  # one too many inline
    OrmQ.objects.all().delete()
    html = post(certifier_client, night, {"action": "ingest", "select": "all"}).content.decode()
    assert "converted to IDPs first (in the background" in html
    html = post(certifier_client, night, {"action": "ingest", "select": "all", "confirm": "1"}
                ).content.decode()  # fmt: skip
    assert f"{science} science products of {done.count()} ABs are being converted" in html
    assert not IdpConversion.objects.exists() and not IngestRequest.objects.exists()
    sent = [q.task for q in OrmQ.objects.all()]
    assert [t["func"] for t in sent] == [finishing.CONVERT_AND_QUEUE_TASK]
    event = AuditEvent.objects.get(action="convert_and_queue", actor_name="carl")
    assert sorted(event.detail["abs"]) == sorted(done.values_list("ab_name", flat=True))

    instance_id, ab_ids, user_id, actor = sent[0]["args"]
    with pytest.raises(ArchiveAccessError, match="no longer exists: nothing converted"):
        tasks.convert_and_queue(instance_id, ab_ids, user_id + 1000, actor)  # a deleted sender
    assert not IdpConversion.objects.exists() and not IngestRequest.objects.exists()
    answer = tasks.convert_and_queue(*sent[0]["args"])  # as the worker runs it
    queued = IngestRequest.objects.count()
    assert answer == {"converted": science, "failed": [], "queued": queued} and queued >= science
    assert IdpConversion.objects.filter(status="ok").count() == science
    assert AuditEvent.objects.filter(action="queue_ingestion", actor_name="carl").exists()
    again = tasks.convert_and_queue(*sent[0]["args"])  # the same task delivered twice
    assert (again["converted"], again["queued"]) == (0, 0)
    assert IngestRequest.objects.count() == queued
    assert IdpConversion.objects.count() == science, "nothing converted twice"
    # two deliveries at once: the second waits for the product's lock, then finds its IDP
    from processing.idp import convert_product

    product = Product.objects.filter(ab__in=done, kind="science").first()
    first = IdpConversion.objects.get(product=product)
    assert convert_product(product, actor_name="task", unless_converted=True) == first
    assert IdpConversion.objects.count() == science
