"""The AB page (issue 6 point 3): text form, qualifiers, inputs, calibrations, dependency graph,
attempts and logs, products, QC with trends, certification history, live partials, bounded SQL.
Most tests read a real processed NACO night; the cheap cases build rows."""

import re

import pytest
from django.urls import reverse

from monitor import graphs
from processing.abs.files import format_ab, parse_ab
from processing.certification import certify
from processing.choices import AbStatus
from processing.models import AbCalibration, AssociationBlock, Product, QcParameter
from tests.ab_pages import figures, make_ab, make_attempt, processed, processed_night
from tests.web import HTMX, at_most_queries


@pytest.fixture(scope="module")
def night(django_db_setup, django_db_blocker, tmp_path_factory):
    yield from processed_night(django_db_blocker, tmp_path_factory, "ab_page_night")


@pytest.fixture
def naco(night, db, settings):
    settings.PHOENIX_DATA_ROOT = night["root"]
    return night["instance"]


def page_of(client, ab, **extra):
    response = client.get(reverse("monitor:ab", args=[ab.pk]), **extra)
    assert response.status_code == 200, response.content[:500]
    return response


def text(response):
    return response.content.decode()


# --- the AB, its text form, inputs and calibrations -----------------------------------------


def test_the_page_shows_the_qualifiers(naco, viewer_client):
    ab = processed("SCIENCE_IMG").first()
    html = text(page_of(viewer_client, ab))
    for shown in (ab.ab_name, ab.batch_label, "SCIENCE_IMG", ab.recipe, "COMPLETE", ab.prod_root_name,
                  ab.obs_prog_id, str(ab.obs_id), f"{ab.mjd_obs:.6f}", "YES"):  # virtual
        assert shown in html, shown
    for key, value in ab.raw_match_key.items():
        assert f"{key}={value}" in html
    assert reverse("monitor:ab_file", args=[ab.pk]) in html


def test_an_incomplete_ab_says_what_is_missing(naco, viewer_client):
    ab = AssociationBlock.objects.get(completeness="INCOMPLETE")
    html = text(page_of(viewer_client, ab))
    assert "INCOMPLETE" in html and ab.missing[0].split(":")[0] in html
    assert "Not processed yet" in html


def test_the_ab_file_is_the_dfos_text_form(naco, viewer_client):
    ab = processed("SCIENCE_IMG").first()
    response = viewer_client.get(reverse("monitor:ab_file", args=[ab.pk]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    assert "attachment" in response["Content-Disposition"] and f"{ab.ab_name}.ab" in response["Content-Disposition"]
    body = response.content.decode()
    assert body == format_ab(ab)
    parsed = parse_ab(body)
    assert parsed.fields["ab_name"] == ab.ab_name and len(parsed.rawfiles) == ab.inputs.count()
    # the page shows the same text inline
    assert ab.ab_name in text(page_of(viewer_client, ab)) and "RAWFILE" in text(page_of(viewer_client, ab))


def test_inputs_link_their_frames_with_their_tags(naco, viewer_client):
    ab = processed("SCIENCE_IMG").first()
    html = text(page_of(viewer_client, ab))
    inputs = list(ab.inputs.select_related("frame"))
    assert inputs
    for item in inputs:
        assert f'href="{reverse("monitor:frame", args=[item.frame_id])}">{item.frame.arcfile}</a>' in html
        assert item.tag in html


def test_calibrations_show_kind_level_delta_t_and_the_ab_that_made_them(naco, viewer_client):
    ab = processed("SCIENCE_IMG").first()
    html = text(page_of(viewer_client, ab))
    calibrations = list(ab.calibrations.select_related("source_ab"))
    assert calibrations and all(c.source_ab_id for c in calibrations)
    for c in calibrations:
        assert c.tag in html and c.pro_catg in html and f'level-{c.level}">{c.level}<' in html
        assert f'href="{reverse("monitor:ab", args=[c.source_ab_id])}">{c.source_ab.ab_name}</a>' in html
        assert f"{c.delta_t:+.2f} d ({c.delta_t * 24:+.1f} h)" in html  # all within a day here


def test_a_certified_master_links_the_product(naco, viewer_client):
    dark = processed("DARK").first()
    certify([dark], actor_name="test")
    user = AbCalibration.objects.filter(source_ab=dark, kind="master").select_related("ab", "product").first()
    assert user is not None and user.product_id
    html = text(page_of(viewer_client, user.ab))
    assert f'href="{reverse("monitor:product", args=[user.product_id])}">{user.product.name}</a>' in html


# --- dependency graph -----------------------------------------------------------------------


def node_links(html):
    svg = html[html.index("<svg class=\"dependency-graph\""): html.index("</svg>")]
    return {int(pk) for pk in re.findall(r'href="/abs/(\d+)/"', svg)}, svg


def test_the_graph_shows_upstream_and_downstream_abs_transitively(naco, viewer_client):
    science = processed("SCIENCE_IMG").filter(depends_on__raw_type="FLAT_SKY").first()
    flat = science.depends_on.get(raw_type="FLAT_SKY")
    dark_of_flat = flat.depends_on.get()
    links, svg = node_links(text(page_of(viewer_client, science)))
    assert {flat.pk, dark_of_flat.pk} | set(science.depends_on.values_list("pk", flat=True)) <= links
    assert AbStatus.colour("success") in svg and 'class="node root"' in svg
    # from the dark: the flat and, through it, the science ABs using the flat
    links, _ = node_links(text(page_of(viewer_client, dark_of_flat)))
    assert {flat.pk, science.pk} <= links


def test_graph_layout_and_bounds(naco):
    """A chain: upstream to the left in order; a fan-out beyond MAX_NODES is cut and says so."""
    instance = naco
    chain = [make_ab(instance, f"CHAIN.{i}", inputs=0, calibrations=0, products=0, parameters=0,
                     status=AbStatus.FAILED if i == 1 else AbStatus.SUCCESS) for i in range(4)]  # fmt: skip
    for parent, child in zip(chain, chain[1:]):
        child.depends_on.add(parent)
    chain[3].depends_on.add(chain[1])  # a shortcut: CHAIN.1 still sits left of CHAIN.2
    graph = graphs.dependency_graph(chain[2])
    levels = {graph.nodes[ab.pk].name: graph.nodes[ab.pk].level for ab in chain}
    assert levels == {"CHAIN.0": -2, "CHAIN.1": -1, "CHAIN.2": 0, "CHAIN.3": 1}
    assert AbStatus.colour("failed") in graphs.svg(graph) and not graph.cut
    fan = [make_ab(instance, f"FAN.{i}", inputs=0, calibrations=0, products=0, parameters=0)
           for i in range(graphs.MAX_NODES + 5)]  # fmt: skip
    for ab in fan:
        ab.depends_on.add(chain[3])
    with at_most_queries(2 * graphs.MAX_DEPTH + 1):
        graph = graphs.dependency_graph(chain[3])
    assert graph.cut and len(graph.nodes) == graphs.MAX_NODES


# --- attempts and logs ----------------------------------------------------------------------


def test_attempts_are_listed_and_the_log_downloads(naco, viewer_client):
    ab = processed("DARK").first()
    attempt = ab.attempt_rows.get()
    html = text(page_of(viewer_client, ab))
    for shown in (attempt.host, attempt.worker, attempt.engine, str(attempt.pid), "removed"):
        assert shown in html
    response = viewer_client.get(reverse("monitor:ab_log", args=[ab.pk]))
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    with open(attempt.log_path, "rb") as log:
        assert b"".join(response.streaming_content) == log.read()
    older = viewer_client.get(reverse("monitor:ab_log", args=[ab.pk]) + "?attempt=1")
    assert older.status_code == 200


@pytest.mark.parametrize("asked, why", [("7", "has no attempt 7"), ("abc", "is not an attempt number"),
                                        ("-1", "is not an attempt number")])  # fmt: skip
def test_a_log_that_does_not_exist_is_a_404_naming_it(naco, viewer_client, asked, why):
    ab = processed("DARK").first()
    response = viewer_client.get(reverse("monitor:ab_log", args=[ab.pk]), {"attempt": asked})
    assert response.status_code == 404 and why in text(response) and ab.ab_name in text(response)


@pytest.mark.parametrize("recorded", ["/etc/passwd", "../../../../etc/passwd", "log/../../etc/passwd"])
def test_only_logs_under_the_data_root_are_served(naco, viewer_client, recorded):
    ab = processed("DARK").first()
    ab.attempt_rows.update(log_path=recorded)
    response = viewer_client.get(reverse("monitor:ab_log", args=[ab.pk]))
    assert response.status_code == 404 and b"root:" not in response.content
    # nor shown in the tail
    assert "root:x" not in text(page_of(viewer_client, ab))


def test_the_log_tail_shows_the_last_lines_while_running(naco, viewer_client, settings):
    ab = make_ab(naco, "TAIL.1")
    log = settings.PHOENIX_DATA_ROOT / "log" / "tail" / "attempt-1.log"
    log.parent.mkdir(parents=True)
    log.write_text("".join(f"line {i:04d}\n" for i in range(1000)))
    make_attempt(ab, log, status="running")
    AssociationBlock.objects.filter(pk=ab.pk).update(status=AbStatus.RUNNING)
    url = reverse("monitor:ab_log_tail", args=[ab.pk])
    response = viewer_client.get(url, **HTMX)
    body = text(response)
    assert response.status_code == 200 and "line 0999" in body and "line 0800" in body
    assert "line 0799" not in body and 'hx-get="' + url in body  # keeps polling
    # the page shows the same tail, polling
    assert 'hx-get="' + url in text(page_of(viewer_client, ab))
    AssociationBlock.objects.filter(pk=ab.pk).update(status=AbStatus.SUCCESS)
    response = viewer_client.get(url, **HTMX)
    assert response.status_code == 286 and "line 0999" in text(response) and "hx-get" not in text(response)


def test_the_log_tail_of_a_missing_log_says_so(naco, viewer_client, settings):
    ab = make_ab(naco, "TAIL.2", status=AbStatus.RUNNING)
    make_attempt(ab, settings.PHOENIX_DATA_ROOT / "log" / "gone.log", status="running")
    response = viewer_client.get(reverse("monitor:ab_log_tail", args=[ab.pk]), **HTMX)
    assert response.status_code == 200 and "cannot be shown" in text(response) and "missing" in text(response)


# --- status partial -------------------------------------------------------------------------


@pytest.mark.parametrize("status, qc, final", [
    ("running", "none", False), ("queued", "none", False), ("pending", "none", False),
    ("success", "running", False), ("success", "queued", False), ("success", "done", True),
    ("failed", "none", True),
])  # fmt: skip
def test_the_status_block_polls_until_final(naco, viewer_client, status, qc, final):
    ab = make_ab(naco, "STATUS.1", status=status, qc_status=qc)
    url = reverse("monitor:ab_status", args=[ab.pk])
    response = viewer_client.get(url, **HTMX)
    assert response.status_code == (286 if final else 200)
    assert ('hx-get="' + url in text(response)) is not final
    assert f'data-state="{status}"' in text(response)


# --- products and QC ------------------------------------------------------------------------


def test_products_with_thumbnails_and_qc_plots(naco, viewer_client):
    ab = processed("SCIENCE_IMG").first()
    html = text(page_of(viewer_client, ab))
    coadd = ab.products.get(kind="science")
    assert f'src="{reverse("monitor:product_preview", args=[coadd.pk])}?size=thumb"' in html
    assert f'href="{reverse("monitor:product", args=[coadd.pk])}">{coadd.name}</a>' in html
    assert coadd.pro_catg in html
    png = ab.products.get(pro_catg="QC_PLOT_PNG")
    plot = ab.products.get(pro_catg="QC_PLOT_HTML")
    assert f'src="{reverse("monitor:product_preview", args=[png.pk])}"' in html
    assert f'href="{reverse("monitor:product_download", args=[plot.pk])}"' in html
    assert f"?size=thumb" not in html.split(png.name)[0][-200:]  # the plot is not a FITS thumbnail


def test_qc_parameters_show_scores_and_thresholds(naco, viewer_client):
    ab = processed("DARK").first()
    QcParameter.objects.filter(ab=ab, name="QC.RON1").update(score=1)
    html = text(page_of(viewer_client, ab))
    for parameter in ab.qc_parameters.all():
        assert parameter.name in html and f"{parameter.value:.6g}" in html
    assert '<span class="score bad">1</span>' in html and '<span class="score ok">0</span>' in html
    assert 'class="score none"' in html  # parameters without thresholds


def test_qc_trends_cover_the_instance_history_with_this_ab_highlighted(naco, viewer_client):
    darks = list(processed("DARK"))
    ab = darks[0]
    figures_ = {f["name"]: f for f in figures(page_of(viewer_client, ab))}
    median = figures_["QC.DARKMED"]
    history, here = median["data"]
    values = sorted(QcParameter.objects.filter(name="QC.DARKMED").values_list("value", flat=True))
    assert sorted(history["y"]) == values and len(values) == len(darks)
    assert here["y"] == [ab.qc_parameters.get(name="QC.DARKMED").value]
    parameter = ab.qc_parameters.get(name="QC.DARKMED")
    assert {s["y0"] for s in median["layout"]["shapes"]} == {parameter.low, parameter.high}
    assert reverse("monitor:ab", args=[darks[1].pk]) in history["customdata"]
    assert set(figures_) == set(ab.qc_parameters.values_list("name", flat=True))


# --- certification history, audit trail, buttons -------------------------------------------


def test_certification_history_and_audit_trail(naco, viewer_client, certifier):
    ab = processed("DARK").first()
    certify([ab], comment="<b>fine</b> dark", user=certifier)
    html = text(page_of(viewer_client, ab))
    history = html[html.index('id="ab-certifications"'):]
    assert "carl" in history and "&lt;b&gt;fine&lt;/b&gt; dark" in history and "<b>fine" not in html
    trail = html[html.index('class="audit-trail"'):]
    assert "certify" in trail and "carl" in trail


@pytest.mark.parametrize("who, shown", [
    ("viewer", set()), ("operator", {"rerun"}), ("certifier", {"certify", "reject"}),
])  # fmt: skip
def test_buttons_follow_role_and_state(naco, request, who, shown):
    client = request.getfixturevalue(f"{who}_client")
    ab = processed("DARK").first()
    html = text(page_of(client, ab))
    offered = set(re.findall(r'class="action action-(\w+)"', html))
    assert offered == shown


def test_buttons_follow_the_state(naco, client, operator, certifier):
    ab = make_ab(naco, "BUTTONS.1", status=AbStatus.RUNNING)
    client.force_login(operator)
    assert re.findall(r"action-(\w+)", text(page_of(client, ab))) == ["cancel"]
    client.force_login(certifier)
    assert re.findall(r"action-(\w+)", text(page_of(client, ab))) == []
    AssociationBlock.objects.filter(pk=ab.pk).update(status=AbStatus.SUCCESS, certification="certified")
    assert re.findall(r"action-(\w+)", text(page_of(client, ab))) == ["reject", "move"]
    AssociationBlock.objects.filter(pk=ab.pk).update(moved_at="2026-01-01T00:00:00Z")
    assert re.findall(r"action-(\w+)", text(page_of(client, ab))) == ["ingest"]


def test_a_nonexistent_ab_is_a_404(naco, viewer_client):
    for name in ("ab", "ab_status", "ab_log", "ab_log_tail", "ab_file"):
        assert viewer_client.get(reverse(f"monitor:{name}", args=[999999])).status_code == 404


# --- bounded SQL ----------------------------------------------------------------------------


def queries_of(client, ab):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        page_of(client, ab)
    return len(captured)


def test_the_page_does_not_query_per_row(naco, certifier_client):
    small = make_ab(naco, "SQL.SMALL", inputs=1, calibrations=1, products=1, parameters=1)
    large = make_ab(naco, "SQL.LARGE", inputs=40, calibrations=30, products=25, parameters=30, mjd=54998.2)
    for ab in (small, large):
        ab.depends_on.add(processed("DARK").first())
        make_attempt(ab, "/nonexistent.log")
    page_of(certifier_client, small)  # warm the session and permission caches alike
    assert queries_of(certifier_client, small) == queries_of(certifier_client, large)
    with at_most_queries(25):
        page = page_of(certifier_client, large)
    assert text(page).count("QC.TEST.P") >= 30 and Product.objects.filter(ab=large).count() == 25
