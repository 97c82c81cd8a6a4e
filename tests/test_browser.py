"""The dashboard in a real browser: Debian's chromium (Playwright) on `manage.py runserver`
with a real q2 cluster behind it, on the test database (SQLite file or PostgreSQL).

One story, as the operational page tells it: an operator previews and launches a night and
watches its batch end without reloading the page; a certifier drills down from the
phoenixMonitor to an AB, sees its previews and certifies it with a click, then certifies the
rest of the night in bulk after a confirmation that says how many; a viewer sees no action
and a forged POST is refused; live partials stop polling while the tab is hidden. The run
saves screenshots of the main pages (SCREENSHOTS).
"""

import os
import re
from datetime import date
from pathlib import Path

import pytest
from django.contrib.auth.models import Group

from processing.choices import AbStatus, CertificationDecision, QcStatus
from processing.data_pool import import_headers
from processing.models import AssociationBlock
from processing.simulation import simulate_nights
from tests.browser import WebServer, chromium, log_in  # noqa: F401 - chromium is a fixture
from tests.cluster import ROOT, Cluster, cluster_env, wait_until
from tests.processed import load_instance

pytestmark = pytest.mark.browser
NIGHT = "2009-06-15"
#: where the run saves its screenshots; the README's come from
#: `PHOENIX_SCREENSHOTS=docs/screenshots pytest tests/test_browser.py`
SCREENSHOTS = Path(os.environ.get("PHOENIX_SCREENSHOTS", ROOT / "var" / "screenshots"))


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    out = tmp_path_factory.mktemp("naco_raw")
    simulate_nights(date(2009, 6, 15), 1, out, seed=1, broken=False)
    return out


@pytest.fixture
def site(transactional_db, django_user_model, simulated, data_root, tmp_path):
    """NACO with one simulated night in the pool, three accounts, a cluster and a server."""
    load_instance("NACO", engine="python")
    assert not import_headers([simulated]).failed
    for name, roles in (("olga", ["viewer", "operator"]), ("carl", ["viewer", "certifier"]),
                        ("vera", ["viewer"])):  # fmt: skip
        user = django_user_model.objects.create_user(name, password="a-long-password-1")
        user.groups.set(Group.objects.filter(name__in=roles))
    env = cluster_env(data_root, workers=2)
    cluster = Cluster(env, tmp_path / "qcluster.log")
    server = WebServer(env, tmp_path / "web.log")
    try:
        yield server
    finally:
        server.stop()
        cluster.stop()


def shoot(page, name):
    """Save a screenshot of the page as the run sees it (the README shows them)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(300)  # plots and thumbnails settle
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def test_launch_watch_drill_down_certify_and_refuse(site, chromium):
    # An operator previews the night, launches it, and watches the batch reach its end.
    page = log_in(chromium, site, "olga")
    page.goto(f"{site.url}/launch/?instance=NACO&date={NIGHT}")
    page.get_by_role("button", name="Preview (dry run)").click()
    preview = page.locator("#preview")
    preview.wait_for()
    assert "ABs per category and RAW_TYPE" in preview.inner_text()
    assert not AssociationBlock.objects.exists(), "a preview creates nothing"
    shoot(page, "launch-preview")
    preview.get_by_role("button", name=re.compile("^Launch")).click()
    page.wait_for_url(re.compile(r"/batches/\d+/$"))
    page.evaluate("window.stillTheSamePage = true")
    page.locator('#batch-progress [data-state="finished"]').wait_for(timeout=240_000)
    assert page.evaluate("window.stillTheSamePage === true"), "the progress came without a reload"
    shoot(page, "batch")
    batch_abs = AssociationBlock.objects.exclude(status=AbStatus.CREATED)
    assert set(batch_abs.values_list("status", flat=True)) == {AbStatus.SUCCESS}
    wait_until(lambda: not AssociationBlock.objects.filter(
        qc_status__in=(QcStatus.QUEUED, QcStatus.RUNNING)).exists(), 120, what="the QC jobs")  # fmt: skip

    # A certifier opens the phoenixMonitor and drills down: instance, month, date, AB.
    certifier = log_in(chromium, site, "carl")
    certifier.goto(site.url + "/")
    shoot(certifier, "phoenixmonitor")
    certifier.get_by_role("link", name="NACO", exact=True).first.click()
    certifier.wait_for_url(re.compile(r"/i/NACO/$"))
    shoot(certifier, "instance")
    certifier.locator("a[href='/i/NACO/2009-06/']").first.click()
    certifier.wait_for_url(re.compile(r"/i/NACO/2009-06/$"))
    shoot(certifier, "month")
    certifier.get_by_role("link", name=NIGHT).first.click()
    certifier.wait_for_url(re.compile(rf"/i/NACO/d/{NIGHT}/$"))
    certifier.locator("#ab-table").wait_for()
    shoot(certifier, "ab-monitor")
    science = AssociationBlock.objects.filter(status=AbStatus.SUCCESS, products__kind="science").first()
    certifier.get_by_role("link", name=science.ab_name).first.click()
    certifier.wait_for_url(re.compile(rf"/abs/{science.pk}/$"))

    # … sees the product previews, rendered from the FITS files …
    thumb = certifier.locator("img.thumb[src*='preview.png']").first
    thumb.wait_for(state="attached")
    thumb.scroll_into_view_if_needed()  # the thumbnails load lazily
    certifier.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    shoot(certifier, "ab")

    # … and certifies the AB with a click: the state changes without a reload.
    certifier.evaluate("window.stillTheSamePage = true")
    certifier.locator("#ab-actions form.action-certify button").click()
    certifier.locator('#ab-status [data-state="certified"]').wait_for()
    assert certifier.evaluate("window.stillTheSamePage === true"), "no full-page reload for actions"
    science.refresh_from_db()
    assert science.certification == CertificationDecision.CERTIFIED
    certifier.locator("img.thumb").first.click()  # the product page, with its header and preview
    certifier.wait_for_url(re.compile(r"/products/\d+/$"))
    certifier.locator("main img").first.wait_for()
    shoot(certifier, "product")

    # The rest of the night in bulk on the AB monitor, after a confirmation with the count.
    others = batch_abs.exclude(pk=science.pk).count()
    certifier.goto(f"{site.url}/i/NACO/d/{NIGHT}/?status=success&certification=none")
    certifier.locator("#abm-select-matching").check()
    certifier.locator("#ab-actions").get_by_role("button", name="Certify").click()
    question = certifier.locator("#abm-confirm .abm-question")
    question.wait_for()
    assert f"Certify {others} AB" in question.inner_text()
    assert AssociationBlock.objects.filter(certification=CertificationDecision.CERTIFIED).count() == 1
    certifier.evaluate("window.stillTheSamePage = true")
    certifier.get_by_role("button", name=re.compile(f"^Yes, certify {others} AB")).click()
    certifier.locator("#bulk-answer .abm-result").wait_for()
    assert certifier.evaluate("window.stillTheSamePage === true"), "no full-page reload for actions"
    assert AssociationBlock.objects.filter(
        certification=CertificationDecision.CERTIFIED).count() == others + 1  # fmt: skip

    # A viewer sees no action, and a forged POST (with a valid CSRF token) is refused.
    viewer = log_in(chromium, site, "vera")
    viewer.goto(f"{site.url}/i/NACO/d/{NIGHT}/")
    viewer.locator("#ab-table").wait_for()
    assert viewer.locator("#ab-actions").count() == 0
    viewer.goto(f"{site.url}/abs/{science.pk}/")
    assert viewer.locator("#ab-actions form").count() == 0
    token = next(c["value"] for c in viewer.context.cookies() if c["name"] == "csrftoken")
    forged = viewer.request.post(f"{site.url}/abs/{science.pk}/reject/",
                                 form={"comment": "forged"},
                                 headers={"X-CSRFToken": token, "Referer": site.url + "/"})  # fmt: skip
    assert forged.status == 403 and "vera may not" in forged.text()
    science.refresh_from_db()
    assert science.certification == CertificationDecision.CERTIFIED

    # The queues page, for the README.
    page.goto(f"{site.url}/queues/")
    page.locator("#queues-live").wait_for()
    shoot(page, "queues")


def page_wait_until(page, predicate, timeout, what):
    """wait_until for browser events: Playwright delivers them only while it is called, so
    the waiting is done in the page (a time.sleep would hold them back)."""
    for _ in range(int(timeout * 5)):
        if predicate():
            return
        page.wait_for_timeout(200)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_live_partials_pause_while_the_tab_is_hidden(site, chromium):
    page = log_in(chromium, site, "olga")
    polls = []
    page.on("request", lambda request: polls.append(request.url) if "/queues/live/" in request.url else None)
    page.goto(f"{site.url}/queues/")
    page_wait_until(page, lambda: len(polls) >= 1, 15, what="the first poll of the queues page")
    # hide the tab: the browser says so through document.visibilityState
    page.evaluate("""() => {
        Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'hidden'});
        document.dispatchEvent(new Event('visibilitychange'));
    }""")
    page.wait_for_timeout(500)
    hidden_from = len(polls)
    page.wait_for_timeout(11_000)  # two polling periods (5 s)
    assert len(polls) == hidden_from, "polled while the tab was hidden"
    page.evaluate("""() => {
        Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'visible'});
        document.dispatchEvent(new Event('visibilitychange'));
    }""")
    page_wait_until(page, lambda: len(polls) > hidden_from, 2,
                    what="a poll as soon as the tab is visible again")
