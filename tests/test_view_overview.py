"""phoenixMonitor overview: the instances with their totals (home), an instance's years ×
months grid and calendar heat map, and a DEEP instance's runs instead of dates."""

import json
from datetime import date

import pytest
from django.urls import reverse

from monitor.calendar_heatmap import WAITING
from processing.models import DateComment
from tests.archive_factories import naco
from tests.monitor_factories import ab, frames, ingest, product
from tests.processed import load_instance
from tests.web import HTMX, at_most_queries

RUN_A, RUN_B = "083.D-0123(A)", "084.C-0456(B)"


@pytest.fixture
def naco_abs(db):
    """NACO: June 2009 with 3 success (2 certified, 1 moved), 1 failed, 2 created; a failed
    night in March 2010; raw frames of August 2009 without any AB."""
    instance = naco()
    for number in range(3):
        ab(instance, date(2009, 6, 15), "success", certification="certified" if number < 2 else "",
           moved_at="2009-07-01T00:00:00Z" if number == 0 else None)  # fmt: skip
    failed = ab(instance, date(2009, 6, 16), "failed")
    ab(instance, date(2009, 6, 16), "created")
    ab(instance, date(2009, 6, 16), "created", completeness="INCOMPLETE")
    ab(instance, date(2010, 3, 2), "failed")
    ingest(product(failed, "idp"))
    frames("NACO", date(2009, 8, 3), 5)
    return instance


@pytest.fixture
def deep(db):
    """NACO_DEEP: run A processed (2 success, 1 failed), run B queued, a science frame of a
    third run without any AB."""
    instance = load_instance("NACO_DEEP")
    ab(instance, date(2009, 6, 15), "success", run_id=RUN_A)
    ab(instance, date(2009, 6, 16), "success", run_id=RUN_A)
    ab(instance, date(2009, 6, 16), "failed", run_id=RUN_A)
    ab(instance, date(2009, 7, 1), "queued", run_id=RUN_B)
    frames("NACO", date(2009, 8, 1), 3, run_id="085.A-0001(C)")
    frames("NACO", date(2009, 8, 1), 2, run_id="085.A-0002(A)", catg="CALIB")  # not a run line
    return instance


def test_login_required(client, db):
    response = client.get(reverse("monitor:home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_home_lists_instances_with_their_totals(viewer_client, naco_abs, deep):
    response = viewer_client.get(reverse("monitor:home"))
    assert response.status_code == 200
    rows = {instance.name: totals for instance, totals in response.context["rows"]}
    assert list(rows) == ["NACO", "NACO_DEEP"]
    totals = rows["NACO"]
    assert (totals.total, totals.success, totals.failed, totals.created) == (7, 3, 2, 2)
    assert (totals.certified, totals.moved, totals.ingested) == (2, 1, 1)
    deep_totals = rows["NACO_DEEP"]
    assert (deep_totals.total, deep_totals.success, deep_totals.active) == (4, 2, 1)
    html = response.content.decode()
    assert reverse("monitor:instance", args=["NACO"]) in html
    assert reverse("monitor:instance", args=["NACO_DEEP"]) in html
    assert 'class="mode-deep"' in html and reverse("monitor:pool") in html


def test_home_without_instances_says_what_to_do(viewer_client):
    assert "load_instances" in viewer_client.get(reverse("monitor:home")).content.decode()


def test_instance_grid_of_years_and_months(viewer_client, naco_abs):
    response = viewer_client.get(reverse("monitor:instance", args=["NACO"]))
    assert response.status_code == 200
    grid = {year: (dict(months), total) for year, months, total in response.context["grid"]}
    assert list(grid) == [2010, 2009]  # newest first
    june = grid[2009][0]["2009-06"]
    assert (june.total, june.success, june.failed, june.created) == (6, 3, 1, 2)
    assert june.completeness == 60.0  # 3 succeeded of the 5 complete ABs
    assert grid[2009][0]["2009-08"].to_do  # raw frames, no AB yet
    assert grid[2009][0]["2009-05"] is None  # an empty month stays empty
    assert grid[2010][1].failed == 1
    html = response.content.decode()
    assert reverse("monitor:month", args=["NACO", "2009-06"]) in html
    assert reverse("monitor:month", args=["NACO", "2009-08"]) in html
    assert reverse("monitor:month", args=["NACO", "2009-05"]) not in html


def test_instance_calendar_heat_map_coloured_by_state(viewer_client, naco_abs):
    for _ in range(19):
        ab(naco_abs, date(2009, 6, 20), "success")
    ab(naco_abs, date(2009, 6, 20), "upstream_failed")  # 1 of 20 processed failed: 5 %
    ab(naco_abs, date(2009, 6, 21), "created")
    ab(naco_abs, date(2009, 6, 22), "running")
    ab(naco_abs, date(2009, 6, 22), "failed")
    response = viewer_client.get(reverse("monitor:instance", args=["NACO"]))
    figure = json.loads(response.context["figure"])
    html = response.content.decode()
    assert 'src="/static/plotly/plotly.min.js"' in html and 'id="calendar-figure"' in html
    embedded = html.split('id="calendar-figure" type="application/json">')[1].split("</script>")[0]
    assert "<" not in embedded and json.loads(embedded) == figure  # cannot end the script early
    years = [trace["yaxis"] for trace in figure["data"]]
    assert years == ["y", "y2"]  # 2010 on top, then 2009
    waiting = {name: value for name, _, _, value in WAITING}
    cells = {}
    for trace in figure["data"]:
        for z_row, text_row, link_row in zip(trace["z"], trace["text"], trace["customdata"]):
            for z, text, link in zip(z_row, text_row, link_row):
                if text:
                    cells[text.split("<br>")[0]] = (z, text, link)
    assert set(cells) == {"2009-06-15", "2009-06-16", "2009-06-20", "2009-06-21", "2009-06-22",
                          "2010-03-02", "2009-08-03"}  # fmt: skip
    assert cells["2009-06-15"][0] == 0.0  # every AB succeeded: green
    assert cells["2009-06-20"][0] == 0.25  # 5 % failed: a quarter of the way to red
    assert cells["2009-06-16"][0] == 1.0 and cells["2010-03-02"][0] == 1.0  # all processed failed
    assert cells["2009-06-21"][0] == waiting["created"]
    assert cells["2009-06-22"][0] == waiting["active"]  # running wins over the failed one
    assert cells["2009-08-03"][0] == waiting["raw"]
    assert "20 ABs: 19 success, 1 upstream failed (5.0 % of the processed failed)" in cells["2009-06-20"][1]
    assert "3 ABs: 2 created, 1 failed" in cells["2009-06-16"][1]
    assert cells["2009-06-15"][2] == "2009-06-15"  # the click opens its AB monitor:
    assert f'data-date-url="{reverse("monitor:date", args=["NACO", "0000-00-00"])}"' in html


def test_instance_without_data_says_what_to_do(viewer_client, db):
    naco()
    response = viewer_client.get(reverse("monitor:instance", args=["NACO"]))
    assert response.status_code == 200 and response.context["figure"] is None
    assert "import_headers" in response.content.decode()


def test_unknown_instance_is_404(viewer_client, db):
    assert viewer_client.get("/i/NOPE/").status_code == 404
    assert viewer_client.get("/i/nope/").status_code == 404


def test_deep_instance_shows_runs_instead_of_dates(viewer_client, deep):
    response = viewer_client.get(reverse("monitor:instance", args=["NACO_DEEP"]))
    assert response.status_code == 200
    lines = {line.key: line for line in response.context["lines"]}
    assert list(lines) == [RUN_A, RUN_B, "085.A-0001(C)"]
    assert (lines[RUN_A].total, lines[RUN_A].success, lines[RUN_A].failed) == (3, 2, 1)
    assert lines[RUN_B].active == 1 and lines["085.A-0001(C)"].to_do
    html = response.content.decode()
    assert reverse("monitor:date", args=["NACO_DEEP", RUN_A]) in html
    assert "calendar-figure" not in html and "Run ID" in html


def test_deep_runs_poll_until_final(viewer_client, deep):
    url = reverse("monitor:runs_table", args=["NACO_DEEP"])
    assert viewer_client.get(url, **HTMX).status_code == 200
    deep.abs.filter(status="queued").update(status="success")
    assert viewer_client.get(url, **HTMX).status_code == 286


def test_run_comment(operator_client, deep):
    url = reverse("monitor:run_comment", args=["NACO_DEEP"])
    response = operator_client.post(url, {"pseudo_date": RUN_A, "text": "seeing poor"}, **HTMX)
    assert response.status_code == 200 and "seeing poor" in response.content.decode()
    assert DateComment.objects.get(instance=deep, pseudo_date=RUN_A).text == "seeing poor"
    response = operator_client.post(url, {"pseudo_date": "2009-06-15", "text": "x"}, **HTMX)
    assert response.status_code == 400 and "is not a run ID" in response.content.decode()


def test_query_counts_do_not_grow(viewer_client, naco_abs, deep):
    pages = [reverse("monitor:home"), reverse("monitor:instance", args=["NACO"]),
             reverse("monitor:instance", args=["NACO_DEEP"])]  # fmt: skip
    counts = []
    for url in pages:
        with at_most_queries(11) as captured:
            viewer_client.get(url)
        counts.append(len(captured))
    for month in range(1, 13):
        for day in range(1, 28, 3):
            ab(naco_abs, date(2011, month, day), "success")
            ab(deep, date(2011, month, day), "failed", run_id=f"087.A-{month:04d}(A)")
        frames("NACO", date(2011, month, 2), 3)
    for url, before in zip(pages, counts):
        with at_most_queries(before):
            assert viewer_client.get(url).status_code == 200


def test_the_instance_grid_polls_while_abs_are_active_and_stops_when_final(viewer_client, naco_abs):
    page = viewer_client.get(reverse("monitor:instance", args=["NACO"])).content.decode()
    grid_url = reverse("monitor:instance_grid", args=["NACO"])
    assert f'hx-get="{grid_url}"' not in page, "nothing active: no polling"
    running = ab(naco_abs, date(2009, 6, 17), "running")
    page = viewer_client.get(reverse("monitor:instance", args=["NACO"])).content.decode()
    assert f'hx-get="{grid_url}"' in page
    polled = viewer_client.get(grid_url, **HTMX)
    assert polled.status_code == 200 and "2009-06" in polled.content.decode()
    running.status = "success"
    running.save(update_fields=["status"])
    assert viewer_client.get(grid_url, **HTMX).status_code == 286
    assert viewer_client.get(reverse("monitor:instance_grid", args=["NACO_DEEP"])).status_code == 404
