"""The dashboard in a real browser: Debian's chromium (Playwright) on `manage.py runserver`
with a real q2 cluster behind it, on the test database (SQLite file or PostgreSQL).

One story, as the operational page tells it: an operator previews and launches a night and
watches its batch end without reloading the page; a certifier certifies the night's ABs in
bulk on the AB monitor after a confirmation that says how many; the AB page shows product
previews; a viewer sees no action; live partials stop polling while the tab is hidden.
"""

import re
from datetime import date

import pytest
from django.contrib.auth.models import Group

from processing.choices import AbStatus, CertificationDecision, QcStatus
from processing.data_pool import import_headers
from processing.models import AssociationBlock
from processing.simulation import simulate_nights
from tests.browser import WebServer, chromium, log_in  # noqa: F401 - chromium is a fixture
from tests.cluster import Cluster, cluster_env, wait_until
from tests.processed import load_instance

pytestmark = pytest.mark.browser
NIGHT = "2009-06-15"


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


def test_launch_watch_certify_and_look(site, chromium):
    # An operator previews the night, then launches it, and watches the batch page.
    page = log_in(chromium, site, "olga")
    page.goto(f"{site.url}/launch/?instance=NACO&date={NIGHT}")
    page.get_by_role("button", name="Preview (dry run)").click()
    preview = page.locator("#preview")
    preview.wait_for()
    assert "ABs per category and RAW_TYPE" in preview.inner_text()
    assert not AssociationBlock.objects.exists(), "a preview creates nothing"
    preview.get_by_role("button", name=re.compile("^Launch")).click()
    page.wait_for_url(re.compile(r"/batches/\d+/$"))
    page.evaluate("window.stillTheSamePage = true")
    page.locator('#batch-progress [data-state="finished"]').wait_for(timeout=240_000)
    assert page.evaluate("window.stillTheSamePage === true"), "the progress came without a reload"
    batch_abs = AssociationBlock.objects.exclude(status=AbStatus.CREATED)
    assert set(batch_abs.values_list("status", flat=True)) == {AbStatus.SUCCESS}
    wait_until(lambda: not AssociationBlock.objects.filter(
        qc_status__in=(QcStatus.QUEUED, QcStatus.RUNNING)).exists(), 120, what="the QC jobs")  # fmt: skip

    # A viewer sees the AB monitor without any action.
    viewer = log_in(chromium, site, "vera")
    viewer.goto(f"{site.url}/i/NACO/d/{NIGHT}/")
    viewer.locator("#ab-table").wait_for()
    assert viewer.locator("#ab-actions").count() == 0
    assert viewer.get_by_role("button", name="Certify").count() == 0

    # A certifier certifies every succeeded AB of the night after a confirmation.
    succeeded = batch_abs.count()
    certifier = log_in(chromium, site, "carl")
    certifier.goto(f"{site.url}/i/NACO/d/{NIGHT}/?status=success")
    certifier.locator("#abm-select-matching").check()
    certifier.locator("#ab-actions").get_by_role("button", name="Certify").click()
    question = certifier.locator("#abm-confirm .abm-question")
    question.wait_for()
    assert f"Certify {succeeded} AB" in question.inner_text()
    assert not AssociationBlock.objects.filter(certification=CertificationDecision.CERTIFIED).exists()
    certifier.evaluate("window.stillTheSamePage = true")
    certifier.get_by_role("button", name=re.compile(f"^Yes, certify {succeeded} AB")).click()
    wait_until(lambda: AssociationBlock.objects.filter(
        certification=CertificationDecision.CERTIFIED).count() == succeeded, 20, what="certification")  # fmt: skip
    certifier.wait_for_function(
        f"document.querySelectorAll('#ab-table [data-state=\"certified\"]').length === {succeeded}")
    assert certifier.evaluate("window.stillTheSamePage === true"), "no full-page reload for actions"

    # The AB page of the jitter AB shows its product previews, rendered from the FITS files.
    jitter = AssociationBlock.objects.filter(status=AbStatus.SUCCESS, products__kind="science").first()
    certifier.goto(f"{site.url}/abs/{jitter.pk}/")
    thumb = certifier.locator("img.thumb[src*='preview.png']").first
    thumb.wait_for(state="attached")
    thumb.scroll_into_view_if_needed()  # the thumbnails load lazily
    certifier.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    assert "certified" in certifier.locator("body").inner_text()


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
