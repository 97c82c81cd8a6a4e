"""The audit page: every AuditEvent newest first, filters kept in the URL, pages, links to the
object's page, bad filter values answered with a message, bounded queries."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from processing import audit
from processing.models import AuditEvent, Batch
from tests.archive_factories import naco as load_naco
from tests.web import at_most_queries

URL = reverse("monitor:audit")


@pytest.fixture
def naco(db):
    instance = load_naco()
    AuditEvent.objects.all().delete()  # loading the instance is an event too: start clean
    return instance


def event(action, actor="olga", result="ok", days_ago=0, **fields):
    row = audit.record(action, actor_name=actor, result=result, **fields)
    AuditEvent.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
    return row


def test_newest_first_with_links_to_the_objects(viewer_client, naco):
    batch = Batch.objects.create(instance=naco, scope_kind="date", scope="2009-06-15", actor_name="olga")
    event("launch", obj=batch, message="phoenix -CP 2009-06-15", days_ago=1)
    event("certify", actor="carl", object_type="processing.AssociationBlock", object_id="77",
          object_repr="NACO.2009-06-15T01:00:00.000", message="certified")  # fmt: skip
    event("move", object_type="processing.AssociationBlock", object_repr="3 ABs")  # no single object
    page = viewer_client.get(URL).content.decode()
    assert page.index("certified") < page.index("phoenix -CP 2009-06-15")
    assert f'href="{reverse("monitor:batch", args=[batch.pk])}"' in page
    assert f'href="{reverse("monitor:ab", args=[77])}">NACO.2009-06-15T01:00:00.000</a>' in page
    assert "3 ABs" in page and "3 events." in page


def test_filters_are_kept_in_the_url_and_in_the_pages(viewer_client, naco):
    for i in range(120):
        event("certify", actor="carl", days_ago=i % 3)
    event("launch", actor="olga", result="refused", message="olga may not")
    event("certify", actor="carl", result="failed", days_ago=10, message="too old")
    page = viewer_client.get(URL + "?actor=car&action=certify").content.decode()
    assert "121 events match" in page and "olga may not" not in page
    assert 'href="?actor=car&amp;action=certify&amp;page=2"' in page
    second = viewer_client.get(URL + "?actor=car&action=certify&page=2").content.decode()
    assert "page 2 of 2" in second
    refused = viewer_client.get(URL + "?result=refused").content.decode()
    assert "1 events match" in refused and "olga may not" in refused
    today = timezone.now().date()
    ranged = viewer_client.get(URL + f"?since={today - timedelta(days=12)}&until={today - timedelta(days=5)}")
    assert "1 events match" in ranged.content.decode() and "too old" in ranged.content.decode()


@pytest.mark.parametrize(("query", "message"), [
    ("?since=2009-13-45", "From (UT): Enter a valid date."),
    ("?since=2010-01-02&until=2010-01-01", "The end date lies before the start date."),
    ("?action=%3Cscript%3E", "Select a valid choice. &lt;script&gt; is not one of the available choices."),
    ("?page=banana", "1 events."),
])  # fmt: skip
def test_bad_filters_are_named_never_a_500(viewer_client, naco, query, message):
    event("certify")
    response = viewer_client.get(URL + query)
    assert response.status_code == 200
    assert message in response.content.decode() and "<script>" not in response.content.decode()


def test_empty_log_says_so(viewer_client, naco):
    assert "Nobody acted yet" in viewer_client.get(URL).content.decode()


@pytest.mark.parametrize("events", [5, 500])
def test_queries_do_not_grow_with_events(viewer_client, naco, events):
    AuditEvent.objects.bulk_create([AuditEvent(actor_name="olga", action=f"a{i % 7}", object_type="processing.Batch",
                                               object_id=str(i), message="m") for i in range(events)])  # fmt: skip
    with at_most_queries(7):
        assert viewer_client.get(URL + "?object_type=processing.Batch").status_code == 200
