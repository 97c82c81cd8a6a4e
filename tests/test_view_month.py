"""The month page of the phoenixMonitor: one line per date with the DFOS columns, the date
comments, the live refresh, and a query count that does not grow with the ABs shown."""

from datetime import date

import pytest
from django.urls import reverse

from processing.choices import ProductKind, ProductState
from processing.models import AuditEvent, DateComment
from tests.archive_factories import naco
from tests.monitor_factories import ab, conversion, frames, ingest, product
from tests.processed import load_instance
from tests.web import HTMX, at_most_queries

D15, D16, D20 = date(2009, 6, 15), date(2009, 6, 16), date(2009, 6, 20)
MONTH = "2009-06"


def month_url(name="NACO", month=MONTH):
    return reverse("monitor:month", args=[name, month])


def comment_url(month=MONTH):
    return reverse("monitor:date_comment", args=["NACO", month])


@pytest.fixture
def june(db):
    """Known data: 2009-06-15 processed (with products, IDPs, conversions, ingestion),
    2009-06-16 half launched, 2009-06-20 raw data only, and an AB of July (not shown)."""
    instance = naco()
    done = [ab(instance, D15, "success", exec_seconds=30.0, certification="certified")
            for _ in range(3)]  # fmt: skip
    done[0].virtual = True
    done[0].save(update_fields=["virtual"])
    ab(instance, D15, "success", exec_seconds=15.0, certification="rejected", virtual=True)
    ab(instance, D15, "failed", exec_seconds=5.0)
    ab(instance, D15, "created", completeness="INCOMPLETE")
    for status in ("queued", "running", "created", "success"):
        ab(instance, D16, status)
    ab(instance, date(2009, 7, 1), "failed")
    # products of 06-15: three coadds (IDP source), a master, a plot (no file count)
    sciences = [product(done[i]) for i in range(3)]
    product(done[0], ProductKind.MASTER, pro_catg="NACO_IMG_DARK_AVG")
    product(done[0], ProductKind.PLOT, pro_catg="QC_PLOT")
    idps = [product(done[i], ProductKind.IDP, source=sciences[i]) for i in range(2)]
    product(done[2], ProductKind.IDP, pro_catg="ZPOINT_TABLE", source=sciences[2])  # not a marker
    product(done[2], ProductKind.IDP, state=ProductState.SUPERSEDED, source=sciences[2])
    conversion(sciences[0])
    conversion(sciences[1], "failed")
    conversion(sciences[1])  # failed, then converted
    conversion(sciences[2], "failed")  # never converted
    ingest(idps[0])
    ingest(idps[1])
    ingest(sciences[0], "open")
    frames("NACO", D15, 12)
    frames("NACO", D20, 7)
    frames("NACO", date(2009, 7, 2), 4)
    return instance


def test_one_line_per_date_with_the_counts(viewer_client, june):
    response = viewer_client.get(month_url())
    assert response.status_code == 200
    lines = {line.key: line for line in response.context["lines"]}
    assert list(lines) == ["2009-06-15", "2009-06-16", "2009-06-20"]
    d15 = lines["2009-06-15"]
    assert (d15.total, d15.success, d15.failed, d15.created, d15.active) == (6, 4, 1, 1, 0)
    assert (d15.complete, d15.completeness) == (5, 80.0)  # 4 succeeded of the 5 complete ABs
    assert (d15.virtual, d15.certified, d15.rejected) == (2, 3, 1)
    assert d15.exec_seconds == 110.0 and d15.exec_time == "1.8 min"
    assert d15.idps == 2  # COADDED_IMG IDPs only, the superseded one not counted
    assert d15.files == 3 + 1 + 3  # science, master, live IDPs (no plot, no superseded file)
    assert (d15.converted, d15.conversion_failed) == (2, 1)
    assert (d15.ingested, d15.ingest_waiting) == (2, 1)
    assert d15.raw_frames == 12
    d16 = lines["2009-06-16"]
    assert (d16.total, d16.success, d16.created, d16.active) == (4, 1, 1, 2)
    assert dict(d16.others) == {"queued": 1, "running": 1}
    total = response.context["total"]
    assert (total.total, total.success, total.failed, total.raw_frames) == (10, 5, 1, 19)
    html = response.content.decode()
    assert reverse("monitor:date", args=["NACO", "2009-06-15"]) in html
    assert "ABs succeeded ÷ ABs complete" in html  # completeness says what it is


def test_a_date_with_raw_data_but_no_ab_is_shown_as_to_do(viewer_client, june):
    response = viewer_client.get(month_url())
    d20 = {line.key: line for line in response.context["lines"]}["2009-06-20"]
    assert d20.to_do and d20.total == 0 and d20.raw_frames == 7
    assert 'id="line-2009-06-20"' in response.content.decode()
    row = response.content.decode().split('id="line-2009-06-20"')[1].split("</tr>")[0]
    assert "to do" in row


def test_idp_bar_follows_sci_scale_and_sci_max(viewer_client, june):
    june.monitor = {**june.monitor, "sci_scale": 7, "sci_max": 3}
    june.save(update_fields=["monitor"])
    science = product(ab(june, D16, "success"))
    for _ in range(5):
        product(science.ab, ProductKind.IDP, source=science)
    html = viewer_client.get(month_url()).content.decode()
    row15 = html.split('id="line-2009-06-15"')[1].split("</tr>")[0]
    row16 = html.split('id="line-2009-06-16"')[1].split("</tr>")[0]
    assert 'style="width:14px"' in row15  # 2 IDPs × 7 px
    assert 'style="width:21px"' in row16 and ">5<" in row16  # 5 IDPs: capped at 3 × 7, 5 shown


def test_month_total_files_bold_above_max_total_number(viewer_client, june):
    june.monitor = {**june.monitor, "max_total_number": 5}
    june.save(update_fields=["monitor"])
    assert "<strong title=\"above MAX_TOTAL_NUMBER 5\">7</strong>" in viewer_client.get(month_url()).content.decode()
    june.monitor = {**june.monitor, "max_total_number": 1000}
    june.save(update_fields=["monitor"])
    assert "MAX_TOTAL_NUMBER 1000\">" not in viewer_client.get(month_url()).content.decode()


@pytest.mark.parametrize("url", ["/i/NACO/2009-13/", "/i/NACO/2009-00/", "/i/NACO/0000-01/",
                                 "/i/NOPE/2009-06/", "/i/NACO/2009-6/", "/i/NACO/june/"])
def test_month_url_nonsense_is_404(viewer_client, june, url):
    assert viewer_client.get(url).status_code == 404


def test_deep_instance_has_no_month_page(viewer_client, june):
    load_instance("NACO_DEEP")
    response = viewer_client.get(month_url("NACO_DEEP"))
    assert response.status_code == 404
    assert viewer_client.get(reverse("monitor:month_table", args=["NACO_DEEP", MONTH])).status_code == 404


def _fill(instance, nights, per_night):
    for day in nights:
        for number in range(per_night):
            done = ab(instance, date(2009, 6, day), "success" if number % 3 else "failed",
                      exec_seconds=1.0)  # fmt: skip
            science = product(done)
            idp = product(done, ProductKind.IDP, source=science)
            conversion(science)
            ingest(idp)
        frames("NACO", date(2009, 6, day), 2)


def test_query_count_does_not_grow_with_the_abs(viewer_client, db):
    instance = naco()
    _fill(instance, [1, 2], 1)
    with at_most_queries(11) as few:
        assert viewer_client.get(month_url()).status_code == 200
    _fill(instance, range(3, 31), 12)
    with at_most_queries(11) as many:
        response = viewer_client.get(month_url())
    assert response.context["total"].total == 2 + 28 * 12
    assert len(many) == len(few)


def test_table_polls_while_abs_are_active_and_stops_when_all_final(viewer_client, june):
    url = reverse("monitor:month_table", args=["NACO", MONTH])
    page = viewer_client.get(month_url()).content.decode()
    assert f'hx-get="{url}"' in page  # 06-16 has a queued and a running AB
    response = viewer_client.get(url, **HTMX)
    assert response.status_code == 200 and f'hx-get="{url}"' in response.content.decode()
    june.abs.filter(status__in=["queued", "running"]).update(status="success")
    response = viewer_client.get(url, **HTMX)
    assert response.status_code == 286
    assert "hx-get" not in response.content.decode()
    assert f'hx-get="{url}"' not in viewer_client.get(month_url()).content.decode()


def test_operator_comments_a_date_in_place_and_it_is_audited(operator_client, june):
    response = operator_client.post(comment_url(), {"pseudo_date": "2009-06-15",
                                                    "text": "darks in HighDynamic <b>only</b>"}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<tr class="line"') and 'id="line-2009-06-15"' in html
    assert "darks in HighDynamic &lt;b&gt;only&lt;/b&gt;" in html  # escaped
    assert ">6<" in html  # the line's counts come back with it
    comment = DateComment.objects.get(instance=june, pseudo_date="2009-06-15")
    assert comment.text == "darks in HighDynamic <b>only</b>" and comment.author_name == "olga"
    event = AuditEvent.objects.get(action="comment date")
    assert event.actor_name == "olga" and event.detail["pseudo_date"] == "2009-06-15"
    page = operator_client.get(month_url()).content.decode()
    assert "darks in HighDynamic &lt;b&gt;only&lt;/b&gt;" in page


def test_certifier_may_comment_and_an_empty_text_removes_it(certifier_client, june):
    certifier_client.post(comment_url(), {"pseudo_date": "2009-06-20", "text": "to do"}, **HTMX)
    assert DateComment.objects.filter(pseudo_date="2009-06-20").exists()
    response = certifier_client.post(comment_url(), {"pseudo_date": "2009-06-20", "text": " "}, **HTMX)
    assert response.status_code == 200
    assert not DateComment.objects.exists()
    assert AuditEvent.objects.filter(action="comment date").count() == 2


def test_without_htmx_the_comment_redirects_back_with_a_message(operator_client, june):
    response = operator_client.post(comment_url(), {"pseudo_date": "2009-06-16", "text": "ok"},
                                    follow=True)  # fmt: skip
    assert response.redirect_chain[-1][0] == month_url()
    assert "Comment on 2009-06-16 saved." in response.content.decode()


def test_viewer_may_not_comment(viewer_client, june):
    page = viewer_client.get(month_url()).content.decode()
    assert "<details class=\"comment-edit\"" not in page and "<form" not in page.split("<main>")[1]
    DateComment.objects.create(instance=june, pseudo_date="2009-06-15", text="before",
                               author_name="olga")  # fmt: skip
    response = viewer_client.post(comment_url(), {"pseudo_date": "2009-06-15", "text": "after"}, **HTMX)
    assert response.status_code == 403
    assert "viewer may not comment dates" in response.content.decode()
    assert DateComment.objects.get().text == "before"
    assert not AuditEvent.objects.filter(action="comment date").exists()


def test_too_long_comment_returns_the_form_with_the_message(operator_client, june):
    text = "x" * 2001
    response = operator_client.post(comment_url(), {"pseudo_date": "2009-06-15", "text": text}, **HTMX)
    assert response.status_code == 422
    html = response.content.decode()
    assert "the comment has 2001 characters; at most 2000" in html
    assert "<details class=\"comment-edit\" open>" in html and text in html  # nothing typed is lost
    assert not DateComment.objects.exists()


@pytest.mark.parametrize("pseudo_date, reason", [
    ("2009-07-01", "is not a date of 2009-06"),
    ("2009-06-31", "is not a date of the form YYYY-MM-DD"),
    ("../../etc", "is not a date of the form YYYY-MM-DD"),
    ("", "is not a date of the form YYYY-MM-DD"),
])  # fmt: skip
def test_comment_on_a_date_outside_the_month_is_refused(operator_client, june, pseudo_date, reason):
    response = operator_client.post(comment_url(), {"pseudo_date": pseudo_date, "text": "x"}, **HTMX)
    assert response.status_code == 400
    assert reason in response.content.decode()
    assert not DateComment.objects.exists()


def test_comment_needs_a_post(operator_client, june):
    assert operator_client.get(comment_url()).status_code == 405


def test_without_htmx_a_refused_comment_comes_back_as_a_message(operator_client, june):
    response = operator_client.post(comment_url(), {"pseudo_date": "2009-06-15", "text": "y" * 2001},
                                    follow=True)  # fmt: skip
    assert response.redirect_chain[-1][0] == month_url()
    assert "the comment has 2001 characters; at most 2000" in response.content.decode()
    assert not DateComment.objects.exists()
