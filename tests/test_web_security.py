"""Cross-cutting rules of the pages, checked on every route of monitor/urls.py: a login is
needed everywhere, actions are POST only and CSRF-protected, and nonsense in a URL is a 404,
never a 500."""

import pytest
from django.test import Client
from django.urls import URLPattern, reverse

from monitor import urls as monitor_urls

#: sample values for the URL converters
SAMPLE = {"instance": "NACO", "month": "2009-06", "pseudo_date": "2009-06-15", "pk": 1,
          "instrument": "NACO", "night": "2009-06-15", "action": "certify"}  # fmt: skip
#: routes that change something: POST only
ACTIONS = {"date_comment", "date_actions", "ab_action", "batch_cancel"}


def routes():
    for pattern in monitor_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        kwargs = {name: SAMPLE[name] for name in pattern.pattern.converters}
        yield pattern.name, reverse(f"monitor:{pattern.name}", kwargs=kwargs)


@pytest.mark.parametrize("name, url", list(routes()))
def test_every_page_needs_a_login(client, db, name, url):
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login")), name


@pytest.mark.parametrize("name, url", [(n, u) for n, u in routes() if n in ACTIONS])
def test_actions_are_post_only(viewer_client, name, url):
    assert viewer_client.get(url).status_code == 405, f"{name}: a GET must not act"


@pytest.mark.parametrize("name, url", [(n, u) for n, u in routes() if n in ACTIONS])
def test_actions_refuse_a_post_without_csrf_token(viewer, name, url):
    client = Client(enforce_csrf_checks=True)
    client.force_login(viewer)
    response = client.post(url, {"action": "certify"})
    assert response.status_code == 403 and b"CSRF" in response.content, name


@pytest.mark.parametrize("url", [
    "/i/NACO/2009-13/", "/i/NACO/d/2009-02-30/", "/i/naco/", "/i/NACO/d/../../etc/passwd/",
    "/abs/999999/", "/abs/abc/", "/products/999999/", "/products/999999/download/",
    "/products/999999/preview.png", "/batches/999999/", "/i/NOSUCH/", "/i/NOSUCH/2009-06/",
    "/i/NOSUCH/d/2009-06-15/", "/abs/999999/log/", "/abs/999999/nonsense/",
])  # fmt: skip
def test_nonsense_in_the_url_is_a_404(viewer_client, url):
    assert viewer_client.get(url).status_code == 404, url
