"""The AB monitor of a date or DEEP run (monitor/views/ab_monitor.py): header figures, the
table with sort, filters and pages kept in the URL, a bounded number of SQL queries, live
polling that stops when everything shown is final, and the bulk-action form's refusals.

AB rows are built directly here (fast); tests/test_bulk_actions.py runs the actions on a
really processed night."""

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from processing.choices import AbStatus
from processing.models import (
    AssociationBlock,
    AuditEvent,
    Batch,
    DateComment,
    IngestRequest,
    Product,
)
from tests.archive_factories import naco
from tests.web import HTMX, at_most_queries

NIGHT = date(2009, 6, 15)
DATE = "2009-06-15"
RUN = "094.B-0298(A)"


def make_abs(instance, count, *, night=NIGHT, run_id="", prefix="NACO", **fields):
    """`count` ABs of one night (or run), spread over recipes, RAW_TYPEs and states unless
    `fields` fixes them."""
    kinds = [("DARK", "naco_img_dark", "CALIB"), ("OBJECT", "naco_img_jitter", "SCIENCE")]
    rows = []
    for i in range(count):
        raw_type, recipe, category = kinds[i % 2]
        values = {"raw_type": raw_type, "recipe": recipe, "category": category,
                  "status": AbStatus.SUCCESS, "qc_status": "done", "qc_score": 0} | fields  # fmt: skip
        rows.append(AssociationBlock(
            instance=instance, ab_name=f"{prefix}.{night}T{i:05d}.ab", batch_label=f"CALIB_{night}",
            night=night if not run_id else None, run_id=run_id, action=recipe,
            mjd_obs=54997.0 + i / 10000, mjd_obs_mod=54997.0, prod_root_name=f"r.{prefix}.{i}",
            raw_match_key={"INS.OPTI1.ID": "J", "DET.DIT": 10 + i % 3}, target="NGC 6397",
            **values,
        ))  # fmt: skip
    return AssociationBlock.objects.bulk_create(rows)


def add_products(ab, count=2, ingest=()):
    """`count` products of `ab`; the first ones with ingestion requests in the states `ingest`."""
    products = [Product.objects.create(
        instance=ab.instance, ab=ab, name=f"{ab.ab_name}.{i}.fits", path=f"/nowhere/{ab.pk}.{i}",
        pro_catg="NACO_IMG_DARK_AVG", kind="master", state="certified", night=ab.night,
    ) for i in range(count)]  # fmt: skip
    for product, status in zip(products, ingest):
        IngestRequest.objects.create(instance=ab.instance, product=product, status=status,
                                     key=f"{product.name}:x", night=ab.night, actor_name="t")  # fmt: skip
    return products


@pytest.fixture
def instance(db):
    return naco()


def page_url(query="", pseudo_date=DATE):
    return reverse("monitor:date", args=["NACO", pseudo_date]) + query


def table_url(query="", pseudo_date=DATE):
    return reverse("monitor:date_table", args=["NACO", pseudo_date]) + query


def actions_url(pseudo_date=DATE):
    return reverse("monitor:date_actions", args=["NACO", pseudo_date])


def names(response):
    return [ab.ab_name for ab in response.context["rows"]]


# --- header -------------------------------------------------------------------------------

def test_the_header_gives_counts_qc_certification_workers_comment_and_links(instance, viewer_client):
    abs_ = make_abs(instance, 6)
    AssociationBlock.objects.filter(pk=abs_[0].pk).update(status="failed", qc_score=None,
                                                          error="esorex: no DARK frame")  # fmt: skip
    AssociationBlock.objects.filter(pk=abs_[1].pk).update(status="running", host="dfo23",
                                                          worker="q2-w1", qc_score=None)  # fmt: skip
    AssociationBlock.objects.filter(pk=abs_[2].pk).update(qc_score=1, certification="rejected")
    AssociationBlock.objects.filter(pk=abs_[3].pk).update(certification="certified",
                                                          moved_at=timezone.now())  # fmt: skip
    add_products(abs_[3], 3, ingest=("done", "done", "refused"))
    DateComment.objects.create(instance=instance, pseudo_date=DATE, author_name="qc",
                               text="CALIB ABs in unsupported modes - pls. check the raw frame(s)")  # fmt: skip
    make_abs(instance, 4, night=NIGHT + timedelta(days=1), prefix="OTHER")  # another date

    response = viewer_client.get(page_url())
    html = response.content.decode()
    assert response.status_code == 200
    assert "AB monitor" in html and "(instance: NACO, date: 2009-06-15)" in html
    summary = response.context["summary"]
    assert (summary["total"], summary["n_success"], summary["n_failed"], summary["n_created"]) == (6, 4, 1, 0)
    assert summary["n_running"] == 1 and (summary["scored"], summary["outliers"]) == (4, 1)
    assert (summary["certified"], summary["rejected"], summary["moved"]) == (1, 1, 1)
    assert "scored: 4; outliers: " in html
    assert "2/3 products" in html  # ingested of the date
    assert "dfo23/q2-w1 (1)" in html
    assert "CALIB ABs in unsupported modes" in html
    assert reverse("monitor:month", args=["NACO", "2009-06"]) in html
    assert reverse("monitor:night", args=["NACO", DATE]) in html
    assert reverse("monitor:launch") + "?instance=NACO&amp;date=2009-06-15" in html
    # the rows: links, error excerpt, ingestion of the AB's products, log link
    assert reverse("monitor:ab", args=[abs_[0].pk]) in html
    assert "esorex: no DARK frame" in html
    assert "2/3 ingested, 1 refused" in html
    assert reverse("monitor:ab_log", args=[abs_[3].pk]) not in html  # never attempted: no log
    assert "OTHER." not in html


def test_a_viewer_sees_no_action_buttons_nor_checkboxes(instance, viewer_client):
    make_abs(instance, 3)
    html = viewer_client.get(page_url()).content.decode()
    assert 'id="ab-actions"' not in html and 'name="ids"' not in html
    assert 'value="certify"' not in html


def test_a_certifier_sees_the_certifier_actions(instance, certifier_client):
    make_abs(instance, 3)
    html = certifier_client.get(page_url()).content.decode()
    assert 'value="certify"' in html and 'name="ids"' in html
    assert 'value="rerun"' not in html  # an operator's action


def test_an_operator_sees_rerun_and_cancel_only(instance, operator_client):
    make_abs(instance, 2)
    html = operator_client.get(page_url()).content.decode()
    assert 'value="rerun"' in html and 'value="cancel"' in html
    assert 'value="certify"' not in html and 'value="move"' not in html


def test_an_empty_date_tells_what_to_do_and_an_unknown_instance_is_404(instance, viewer_client):
    html = viewer_client.get(page_url()).content.decode()
    assert "has no ABs for 2009-06-15" in html and "launch" in html
    assert viewer_client.get(reverse("monitor:date", args=["NOPE", DATE])).status_code == 404
    assert viewer_client.get("/i/NACO/d/2009-02-30/").status_code == 404


# --- query count --------------------------------------------------------------------------

def test_the_page_and_the_table_use_the_same_number_of_queries_for_5_and_300_abs(
        instance, certifier_client):  # fmt: skip
    def queries():
        with at_most_queries(14) as page:
            assert certifier_client.get(page_url()).status_code == 200
        with at_most_queries(12) as table:
            assert certifier_client.get(table_url(), **HTMX).status_code == 200
        return len(page), len(table)

    def add(count, start):
        abs_ = make_abs(instance, count, status="running", host="h", worker="w", prefix=f"N{start}")
        for ab in abs_[:3]:
            add_products(ab, 2, ingest=("done", "open"))

    add(5, 0)
    few = queries()
    add(295, 1)
    assert AssociationBlock.objects.count() == 300
    assert queries() == few


# --- filters, sort, pages -----------------------------------------------------------------

def test_filters_are_read_from_the_url_and_kept_in_sort_and_page_links(instance, viewer_client):
    abs_ = make_abs(instance, 8)
    AssociationBlock.objects.filter(pk__in=[abs_[0].pk, abs_[2].pk]).update(status="failed")
    AssociationBlock.objects.filter(pk=abs_[4].pk).update(certification="certified")

    response = viewer_client.get(page_url("?status=failed"))
    assert names(response) == [abs_[0].ab_name, abs_[2].ab_name]
    assert response.context["matching"] == 2
    assert "status=failed" in response.context["sort_urls"]["name"]
    assert 'value="failed" selected' in response.content.decode()

    assert len(names(viewer_client.get(page_url("?raw_type=OBJECT")))) == 4
    assert len(names(viewer_client.get(page_url("?recipe=naco_img_dark&status=success")))) == 2
    assert names(viewer_client.get(page_url("?certification=certified"))) == [abs_[4].ab_name]
    assert len(names(viewer_client.get(page_url("?certification=none")))) == 7
    assert len(names(viewer_client.get(page_url("?category=SCIENCE")))) == 4


def test_unknown_filter_values_are_ignored_and_said_so(instance, viewer_client):
    make_abs(instance, 3)
    response = viewer_client.get(page_url("?status=<script>alert(1)</script>&sort=nonsense&page=x"))
    html = response.content.decode()
    assert response.status_code == 200 and len(names(response)) == 3
    assert "Ignored in the address" in html and "cannot sort by" in html
    assert "<script>alert(1)</script>" not in html


def test_sorting_by_a_column_both_ways(instance, viewer_client):
    abs_ = make_abs(instance, 4)
    AssociationBlock.objects.filter(pk=abs_[2].pk).update(status="failed")
    AssociationBlock.objects.filter(pk=abs_[1].pk).update(exec_seconds=99.0)
    by_name = sorted(ab.ab_name for ab in abs_)
    assert names(viewer_client.get(page_url("?sort=name"))) == by_name
    assert names(viewer_client.get(page_url("?sort=-name"))) == by_name[::-1]
    assert names(viewer_client.get(page_url("?sort=status")))[0] == abs_[2].ab_name
    assert names(viewer_client.get(page_url("?sort=-exec")))[0] == abs_[1].ab_name
    response = viewer_client.get(page_url("?sort=name"))
    assert response.context["sort_urls"]["name"] == "?sort=-name"


def test_large_dates_are_paged_with_the_total_and_the_filter_kept(instance, viewer_client):
    make_abs(instance, 450)
    response = viewer_client.get(page_url("?raw_type=DARK&sort=-name"))
    assert len(names(response)) == 200 and response.context["matching"] == 225
    html = response.content.decode()
    assert "page 1 of 2 (225 ABs)" in html
    assert response.context["page_urls"]["next"] == "?raw_type=DARK&sort=-name&page=2"
    response = viewer_client.get(page_url("?raw_type=DARK&sort=-name&page=2"))
    assert len(names(response)) == 25
    assert "page=2" in response.context["table_url"] and "raw_type=DARK" in response.context["table_url"]


# --- live ---------------------------------------------------------------------------------

def test_the_table_polls_while_abs_run_and_answers_286_when_all_are_final(instance, viewer_client):
    abs_ = make_abs(instance, 3)
    AssociationBlock.objects.filter(pk=abs_[0].pk).update(status="queued")
    response = viewer_client.get(table_url("?status=queued&sort=name"), **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'hx-get="/i/NACO/d/2009-06-15/table/?status=queued&amp;sort=name"' in html
    assert "every 5s" in html

    AssociationBlock.objects.filter(pk=abs_[0].pk).update(status="success", qc_status="running")
    assert viewer_client.get(table_url(), **HTMX).status_code == 200  # QC still running

    AssociationBlock.objects.filter(pk=abs_[0].pk).update(qc_status="done")
    response = viewer_client.get(table_url(), **HTMX)
    assert response.status_code == 286
    assert "hx-get" not in response.content.decode()
    assert "hx-get" not in viewer_client.get(page_url()).content.decode().split('id="ab-table"')[1]


# --- DEEP ---------------------------------------------------------------------------------

def test_a_deep_run_shows_its_abs_with_their_target(instance, viewer_client):
    instance.mode = "DEEP"
    instance.save(update_fields=["mode"])
    make_abs(instance, 3, run_id=RUN, prefix="DEEP")
    make_abs(instance, 2)  # ABs of a night, not of the run
    response = viewer_client.get(page_url(pseudo_date=RUN))
    html = response.content.decode()
    assert response.status_code == 200
    assert "(instance: NACO, run: 094.B-0298(A))" in html
    assert len(names(response)) == 3 and all(n.startswith("DEEP.") for n in names(response))
    assert "<th>target</th>" in html and "NGC 6397" in html
    assert "run=094.B-0298%28A%29" in html  # the launch link re-processes the run


# --- the bulk-action form: refusals and bad input -----------------------------------------

def test_a_forged_post_of_a_viewer_is_refused_and_changes_nothing(instance, viewer_client):
    abs_ = make_abs(instance, 2)
    add_products(abs_[0])
    for confirm in ("", "1"):
        response = viewer_client.post(actions_url(), {"action": "certify", "ids": [abs_[0].pk],
                                                      "confirm": confirm})  # fmt: skip
        assert response.status_code == 403
        assert "viewer may not" in response.content.decode()
    assert not AssociationBlock.objects.exclude(certification="").exists()
    assert not AuditEvent.objects.filter(action="certify").exists()


def test_an_operator_may_not_certify(instance, operator_client):
    ab = make_abs(instance, 1)[0]
    add_products(ab, 1)
    response = operator_client.post(actions_url(), {"action": "certify", "ids": [ab.pk],
                                                    "confirm": "1"}, **HTMX)  # fmt: skip
    assert response.status_code == 403 and "olga may not certify products (certifier role needed)" in \
        response.content.decode()
    assert AssociationBlock.objects.get(pk=ab.pk).certification == ""


def test_a_certifier_may_not_cancel(instance, certifier_client):
    abs_ = make_abs(instance, 2, status="pending")
    response = certifier_client.post(actions_url(), {"action": "cancel", "ids": [abs_[0].pk],
                                                     "confirm": "1"}, **HTMX)  # fmt: skip
    assert response.status_code == 403 and "(operator role needed)" in response.content.decode()
    assert AssociationBlock.objects.filter(status="pending").count() == 2


@pytest.mark.parametrize("data, message", [
    ({"action": "explode", "ids": ["1"]}, "unknown action 'explode'"),
    ({"action": "certify"}, "no AB selected"),
    ({"action": "certify", "ids": ["12abc"]}, "'12abc' is not an AB id"),
    ({"action": "certify", "ids": ["<b>x</b>"]}, "is not an AB id"),
    ({"action": "certify", "ids": ["9" * 40]}, "is not an AB id"),
    ({"action": "certify", "ids": ["-3"]}, "'-3' is not an AB id"),
    ({"action": "certify", "select": "all", "status": "sucess"}, "the filter is not valid"),
    ({"action": "reject", "ids": ["FIRST"], "comment": "  "}, "a comment saying why is required"),
    ({"action": "certify", "ids": ["OTHER"]}, "selected ids are not ABs of NACO 2009-06-15"),
    ({"action": "certify", "ids": ["999999"]}, "selected ids are not ABs of NACO 2009-06-15"),
    ({"action": "certify", "ids": ["FIRST"], "comment": "x" * 2001}, "at most 2000"),
])  # fmt: skip
def test_nonsense_input_gets_a_message_and_400(instance, certifier_client, data, message):
    first = make_abs(instance, 1)[0]
    other = make_abs(instance, 1, night=NIGHT + timedelta(days=3), prefix="OTHER")[0]
    data = dict(data, ids=[{"FIRST": first.pk, "OTHER": other.pk}.get(i, i) for i in data.get("ids", [])])
    events = AuditEvent.objects.count()
    for headers in (HTMX, {}):
        response = certifier_client.post(actions_url(), data, **headers)
        html = response.content.decode()
        assert response.status_code == 400, html
        assert message.replace("'", "&#x27;") in html or message in html, html
        assert "<b>x</b>" not in html
    assert AuditEvent.objects.count() == events


def test_get_on_the_action_url_is_not_allowed(instance, certifier_client):
    assert certifier_client.get(actions_url()).status_code == 405


# --- the confirmation and the actions on AB rows ------------------------------------------

def test_certify_asks_first_with_the_count_and_the_reasons_then_certifies(instance, certifier_client):
    ok, failed, qc_running, done = make_abs(instance, 4)
    AssociationBlock.objects.filter(pk=failed.pk).update(status="failed")
    AssociationBlock.objects.filter(pk=qc_running.pk).update(qc_status="running")
    AssociationBlock.objects.filter(pk=done.pk).update(certification="certified")
    add_products(ok, 3)
    ids = [ok.pk, failed.pk, qc_running.pk, done.pk]

    response = certifier_client.post(actions_url(), {"action": "certify", "ids": ids,
                                                     "comment": "fine <script>x()</script>"}, **HTMX)  # fmt: skip
    html = response.content.decode()
    assert response.status_code == 200
    assert "<script>x()" not in html and "fine &lt;script&gt;" in html
    assert "Certify 1 AB</strong> (3 products)?" in html
    assert "3 of the 4 selected cannot" in html
    assert "QC still running: wait for the scores" in html and "certified already" in html
    assert "failed, not processed successfully" in html
    assert 'name="confirm" value="1"' in html
    assert not AssociationBlock.objects.filter(pk=ok.pk, certification="certified").exists()

    response = certifier_client.post(actions_url(), {"action": "certify", "ids": ids,
                                                     "comment": "fine", "confirm": "1"}, **HTMX)  # fmt: skip
    html = response.content.decode()
    assert response.status_code == 200 and "1 ABs certified" in html
    assert 'hx-swap-oob="outerHTML"' in html  # the table is refreshed without a reload
    assert AssociationBlock.objects.get(pk=ok.pk).certification == "certified"
    assert Product.objects.filter(ab=ok, state="certified").count() == 3
    event = AuditEvent.objects.get(action="certify")
    assert event.actor_name == "carl" and "fine" in event.message


def test_without_javascript_the_confirmation_is_a_page_and_the_action_redirects_with_a_message(
        instance, certifier_client):  # fmt: skip
    ab = make_abs(instance, 1)[0]
    add_products(ab, 1)
    data = {"action": "certify", "ids": [ab.pk], "status": "success", "sort": "-name"}
    response = certifier_client.post(actions_url(), data)
    assert response.status_code == 200 and "<html" in response.content.decode()
    assert "Certify 1 AB" in response.content.decode()
    response = certifier_client.post(actions_url(), data | {"confirm": "1"}, follow=True)
    assert response.redirect_chain[-1][0] == page_url("?status=success&sort=-name")
    assert "1 ABs certified" in response.content.decode()


def test_reject_needs_a_comment_and_records_it(instance, certifier_client):
    ab = make_abs(instance, 1, qc_score=1)[0]
    add_products(ab, 1)
    response = certifier_client.post(actions_url(), {"action": "reject", "ids": [ab.pk],
                                                     "comment": "stripes on chip 2", "confirm": "1"},
                                     **HTMX)  # fmt: skip
    assert response.status_code == 200 and "1 ABs rejected" in response.content.decode()
    assert AssociationBlock.objects.get(pk=ab.pk).certification == "rejected"
    assert ab.certifications.get().comment == "stripes on chip 2"


def test_select_all_matching_posts_the_filter_not_ids(instance, operator_client):
    abs_ = make_abs(instance, 250, status="pending")
    AssociationBlock.objects.filter(pk=abs_[0].pk).update(raw_type="FLAT")
    data = {"action": "cancel", "select": "all", "raw_type": "DARK"}
    html = operator_client.post(actions_url(), data, **HTMX).content.decode()
    assert "Cancel 124 ABs" in html  # the 125 DARKs of the date but the one now FLAT
    assert 'name="select" value="all"' in html and 'name="raw_type" value="DARK"' in html
    response = operator_client.post(actions_url(), data | {"confirm": "1"}, **HTMX)
    assert "124 ABs cancelled" in response.content.decode()
    assert AssociationBlock.objects.filter(status="cancelled").count() == 124
    assert AssociationBlock.objects.filter(status="pending", raw_type="FLAT").count() == 1


def test_cancel_tells_why_final_abs_cannot_be_cancelled(instance, operator_client):
    running, done = make_abs(instance, 2)
    AssociationBlock.objects.filter(pk=running.pk).update(status="running")
    html = operator_client.post(actions_url(), {"action": "cancel", "ids": [running.pk, done.pk]},
                                **HTMX).content.decode()  # fmt: skip
    assert "Cancel 1 AB</strong>?" in html and "1 of the 2 selected cannot" in html
    assert "success: nothing to cancel" in html
    html = operator_client.post(actions_url(), {"action": "cancel", "ids": [done.pk]}, **HTMX).content.decode()
    assert "Nothing to cancel" in html and "Yes," not in html


def test_rerun_failed_takes_the_dependants_along_once(instance, operator_client):
    calib, science, other, ok = make_abs(instance, 4)
    AssociationBlock.objects.filter(pk__in=[calib.pk, other.pk]).update(status="failed")
    AssociationBlock.objects.filter(pk=science.pk).update(status="upstream_failed")
    science.depends_on.add(calib)
    ids = [calib.pk, science.pk, other.pk, ok.pk]
    html = operator_client.post(actions_url(), {"action": "rerun", "ids": ids}, **HTMX).content.decode()
    assert "Re-run (with dependants) 2 ABs" in html
    assert "take along 1 dependant: " + science.ab_name in html
    assert "an AB it depends on failed: re-run that one" in html
    assert "succeeded (re-run it from its AB page" in html

    response = operator_client.post(actions_url(), {"action": "rerun", "ids": ids, "confirm": "1"}, **HTMX)
    assert "2 re-runs started (3 ABs with their dependants)" in response.content.decode()
    assert Batch.objects.count() == 2
    assert set(AssociationBlock.objects.filter(batch__isnull=False).values_list("pk", flat=True)) == {
        calib.pk, science.pk, other.pk}
    assert AuditEvent.objects.filter(action="rerun").count() == 2


def test_the_setup_column_shows_the_instrument_setup_not_the_template_start(instance, viewer_client):
    [ab] = make_abs(instance, 1)
    AssociationBlock.objects.filter(pk=ab.pk).update(raw_match_key={
        "TPL.START": "2009-06-15T23:01:02", "INS.OPTI6.ID": "Ks", "INS.OPTI7.NAME": "S27"})  # fmt: skip
    html = viewer_client.get(page_url()).content.decode()
    assert '<td class="abm-setup">Ks S27</td>' in html


def test_a_run_id_on_an_instance_that_is_not_deep_is_a_404(instance, viewer_client):
    assert viewer_client.get(page_url(pseudo_date="094.B-0298(A)")).status_code == 404
