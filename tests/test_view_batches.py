"""Batch pages: the list, one batch with live progress (286 once ended), cancel with a
confirmation (operators only, CSRF), bounded queries; and the M step a web launch queues."""

from datetime import date, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_q.models import OrmQ, Schedule

from processing import audit
from processing.choices import AbStatus, BatchStatus, QcStatus
from processing.models import AssociationBlock, AuditEvent, Batch
from processing.queue import actions
from processing.queue.reaper import reap
from processing.queue.schedule import FINISH_BATCH_TASK, finish_batches
from processing.tasks import finish_batch
from tests.archive_factories import naco as load_naco
from tests.processed import MONTH, drive, load_instance, simulate
from tests.web import HTMX, at_most_queries

NIGHT = date(2009, 6, 15)


@pytest.fixture
def naco(db):
    return load_naco()


def make_batch(instance, statuses, *, status=BatchStatus.RUNNING, steps="CP", night=NIGHT,
               summary=None):
    """A Batch with one AB per entry of `statuses`, built as rows."""
    batch = Batch.objects.create(instance=instance, scope_kind="date", scope=night.isoformat(),
                                 steps=steps, actor_name="olga", status=status,
                                 summary=summary or {})  # fmt: skip
    AssociationBlock.objects.bulk_create([
        AssociationBlock(
            instance=instance, batch=batch, ab_name=f"NACO.{night}T{batch.pk:02d}:{i // 60:02d}:{i % 60:02d}.000",
            batch_label=f"CALIB_{night}", category="CALIB", night=night, raw_type="DARK",
            action="DARK", recipe="naco_img_dark", mjd_obs=55000 + i / 1000, mjd_obs_mod=55000,
            prod_root_name="r", status=state, error="the recipe failed" if state == "failed" else "",
            finished_at=timezone.now() if state in ("failed", "success") else None,
        ) for i, state in enumerate(statuses)
    ])  # fmt: skip
    return batch


def test_list_shows_recent_batches_first_with_counts(viewer_client, naco):
    old = make_batch(naco, ["success", "failed"], status=BatchStatus.FINISHED)
    Batch.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=1))
    new = make_batch(naco, ["queued", "running", "pending"], night=date(2009, 6, 16))
    page = viewer_client.get(reverse("monitor:batches")).content.decode()
    assert page.index(f"#{new.pk}</a>") < page.index(f"#{old.pk}</a>")
    assert 'data-state="running"' in page and 'data-state="finished"' in page
    assert "2009-06-16" in page and "-CP" in page and "olga" in page
    filtered = viewer_client.get(reverse("monitor:batches") + "?status=finished").content.decode()
    assert f"#{old.pk}</a>" in filtered and f"#{new.pk}</a>" not in filtered


@pytest.mark.parametrize("batches", [2, 25])
def test_list_queries_do_not_grow_with_batches(viewer_client, naco, batches):
    for i in range(batches):
        make_batch(naco, ["success"] * 3 + ["failed"], night=NIGHT + timedelta(days=i % 10))
    with at_most_queries(8):
        assert viewer_client.get(reverse("monitor:batches")).status_code == 200


def test_batch_page_shows_progress_problems_skipped_dates_and_history(viewer_client, naco):
    skipped = {"ab": "NACO.2009-06-15T09:00:00.000", "why": "processed already (success); re-run it"}
    batch = make_batch(naco, ["success", "success", "failed", "queued"],
                       summary={"processing": {"pending": 4, "queued_at_launch": 2,
                                               "skipped": [skipped]}})  # fmt: skip
    audit.record("launch", actor_name="olga", obj=batch, message="phoenix -CP 2009-06-15: 4 ABs")
    failed = AssociationBlock.objects.get(batch=batch, status="failed")
    page = viewer_client.get(reverse("monitor:batch", args=[batch.pk])).content.decode()
    assert "2 of 4 ABs" not in page and "<strong>3</strong> of <strong>4</strong> ABs done" in page
    assert reverse("monitor:ab", args=[failed.pk]) in page and "the recipe failed" in page
    assert skipped["ab"] in page and "processed already (success)" in page
    assert reverse("monitor:date", args=["NACO", "2009-06-15"]) in page
    assert "phoenix -CP 2009-06-15: 4 ABs" in page  # the audit trail
    assert reverse("monitor:batch_progress", args=[batch.pk]) in page  # polled while running
    assert "Cancel this batch" not in page  # viewers get no cancel button


@pytest.mark.parametrize("abs_", [4, 400])
def test_batch_page_queries_do_not_grow_with_abs(viewer_client, naco, abs_):
    batch = make_batch(naco, (["success", "failed", "queued", "upstream_failed"] * abs_)[:abs_])
    with at_most_queries(14):
        assert viewer_client.get(reverse("monitor:batch", args=[batch.pk])).status_code == 200
    with at_most_queries(10):  # the progress, and the batch's facts out of band
        assert viewer_client.get(reverse("monitor:batch_progress", args=[batch.pk]), **HTMX).status_code == 200


def test_progress_stops_polling_once_the_batch_ended(viewer_client, naco):
    batch = make_batch(naco, ["success", "queued"])
    url = reverse("monitor:batch_progress", args=[batch.pk])
    assert viewer_client.get(url, **HTMX).status_code == 200
    AssociationBlock.objects.filter(batch=batch).update(status=AbStatus.SUCCESS)
    finish_batches([batch.pk])
    ended = viewer_client.get(url, **HTMX)
    assert ended.status_code == 286 and "hx-get" not in ended.content.decode()
    # the facts above the progress follow: the page never says "running" for an ended batch
    head = ended.content.decode().split('<div id="batch-head" hx-swap-oob="true">')[1]
    assert 'data-state="finished"' in head and "Running for" not in head


def test_progress_keeps_polling_while_qc_or_m_is_due(viewer_client, naco):
    batch = make_batch(naco, ["success"], status=BatchStatus.FINISHED, steps="CPM")
    url = reverse("monitor:batch_progress", args=[batch.pk])
    assert viewer_client.get(url, **HTMX).status_code == 200  # M not run yet
    Batch.objects.filter(pk=batch.pk).update(summary={"finish": {"status": "done", "abs": 1}})
    AssociationBlock.objects.filter(batch=batch).update(qc_status=QcStatus.RUNNING)
    assert viewer_client.get(url, **HTMX).status_code == 200  # QC still running
    AssociationBlock.objects.filter(batch=batch).update(qc_status=QcStatus.DONE)
    assert viewer_client.get(url, **HTMX).status_code == 286


def test_viewer_cannot_cancel(viewer_client, naco):
    batch = make_batch(naco, ["queued", "pending"])
    response = viewer_client.post(reverse("monitor:batch_cancel", args=[batch.pk]), {"confirm": "yes"})
    assert response.status_code == 403 and "operator role needed" in response.content.decode()
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.RUNNING
    assert set(AssociationBlock.objects.values_list("status", flat=True)) == {"queued", "pending"}
    assert not AuditEvent.objects.filter(action="cancel").exists()


def test_operator_confirms_then_cancels(operator_client, naco, operator):
    batch = make_batch(naco, ["queued", "pending", "running", "success"])
    url = reverse("monitor:batch_cancel", args=[batch.pk])
    page = operator_client.get(reverse("monitor:batch", args=[batch.pk])).content.decode()
    assert "Cancel this batch" in page and "2 pending or queued ABs would be cancelled, 1 running" in page
    assert operator_client.get(url).status_code == 405  # cancel is a POST
    confirm = operator_client.post(url).content.decode()
    assert "<strong>2</strong> pending or queued ABs will be cancelled and <strong>1</strong> running" in confirm
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.RUNNING  # not yet
    response = operator_client.post(url, {"confirm": "yes"})
    assert response.status_code == 302
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.CANCELLED
    states = sorted(AssociationBlock.objects.filter(batch=batch).values_list("status", flat=True))
    assert states == ["cancelled", "cancelled", "running", "success"]
    assert AssociationBlock.objects.get(batch=batch, status="running").cancel_requested
    event = AuditEvent.objects.get(action="cancel")
    assert event.actor == operator and event.object_id == str(batch.pk)
    again = operator_client.post(url, {"confirm": "yes"}, follow=True).content.decode()
    assert "nothing to cancel" in again


def test_cancel_needs_csrf_and_a_real_batch(naco, operator, operator_client):
    batch = make_batch(naco, ["queued"])
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    assert client.post(reverse("monitor:batch_cancel", args=[batch.pk]), {"confirm": "yes"}).status_code == 403
    assert AssociationBlock.objects.get(batch=batch).status == AbStatus.QUEUED
    assert operator_client.post(reverse("monitor:batch_cancel", args=[99999]), {"confirm": "yes"}).status_code == 404
    assert operator_client.get(reverse("monitor:batch", args=[99999])).status_code == 404


# --- the M step of a batch launched with it ------------------------------------------------


def finish_tasks(batch):
    return [t for t in OrmQ.objects.all() if t.func() == FINISH_BATCH_TASK and t.args() == (batch.pk,)]


def test_a_batch_launched_with_m_certifies_and_moves_once_it_ended(db, data_root, tmp_path):
    from processing.data_pool import import_headers

    instance = load_instance()
    assert not import_headers([simulate(tmp_path / "raw")]).failed
    batch = actions.launch(instance, MONTH, create=True, process=True, finish=True).batch
    assert batch.steps == "CPM" and not finish_tasks(batch)
    drive(qc=False)  # the workers processed every AB; QC jobs not done yet
    batch.refresh_from_db()
    assert batch.status == BatchStatus.FINISHED
    assert len(finish_tasks(batch)) == 1  # sent once, as the batch closed
    assert "waits for" in finish_batch(batch.pk)  # QC first: it looks again later
    assert Schedule.objects.filter(name=f"phoenix-finish-batch-{batch.pk}", func=FINISH_BATCH_TASK).exists()
    assert AssociationBlock.objects.filter(batch=batch, moved_at__isnull=False).count() == 0
    drive(qc=True)
    message = finish_batch(batch.pk)
    batch.refresh_from_db()
    finish = batch.summary["finish"]
    moved = AssociationBlock.objects.filter(instance=instance, moved_at__isnull=False)
    assert finish["status"] == "done" and moved.count() == len(finish["move"]["moved"]) > 0
    assert batch.summary["processing"]["pending"] > 0  # the launch's summary is kept
    assert AuditEvent.objects.get(action="finish", object_id=str(batch.pk)).message == message
    assert finish_batch(batch.pk).endswith("-M ran already")  # a second delivery does nothing
    assert AuditEvent.objects.filter(action="finish").count() == 1


def test_m_does_not_run_for_a_cancelled_batch_or_without_m(naco):
    cancelled = make_batch(naco, ["cancelled"], status=BatchStatus.CANCELLED, steps="PM")
    assert "cancelled" in finish_batch(cancelled.pk) and "finish" not in Batch.objects.get(pk=cancelled.pk).summary
    plain = make_batch(naco, ["success"], steps="CP")
    finish_batches([plain.pk])
    assert Batch.objects.get(pk=plain.pk).status == BatchStatus.FINISHED and not finish_tasks(plain)
    assert "no -M" in finish_batch(plain.pk)


def test_a_batch_m_whose_worker_died_is_sent_again_then_given_up(naco, settings, viewer_client):
    """The reaper takes back a -M claim that outlived the q2 task timeout: sent again twice,
    then the batch page says it failed — never "running" forever."""
    long_ago = (timezone.now() - timedelta(seconds=settings.Q_CLUSTER["timeout"] + 120)).isoformat()
    batch = make_batch(naco, ["success"], status=BatchStatus.FINISHED, steps="PM",
                       summary={"finish": {"status": "running", "started_at": long_ago, "attempt": 1}})  # fmt: skip
    recent = make_batch(naco, ["success"], status=BatchStatus.FINISHED, steps="PM", night=date(2009, 6, 16),
                        summary={"finish": {"status": "running", "started_at": timezone.now().isoformat()}})  # fmt: skip
    assert reap().finishes_taken_back == [batch.pk], "a claim younger than the timeout is left alone"
    batch.refresh_from_db()
    assert batch.summary["finish"]["status"] == "lost" and len(finish_tasks(batch)) == 1
    assert not finish_tasks(recent)
    shown = viewer_client.get(reverse("monitor:batch_progress", args=[batch.pk]), **HTMX)
    assert shown.status_code == 200 and "attempt 1 lost its worker" in shown.content.decode()
    finish_batch(batch.pk)  # the task sent again claims it (attempt 2) and runs -M
    batch.refresh_from_db()
    assert batch.summary["finish"]["status"] != "lost"
    for attempt in (2, 3):  # the next two attempts die as well
        Batch.objects.filter(pk=batch.pk).update(summary={"finish": {
            "status": "running", "started_at": long_ago, "attempt": attempt}})  # fmt: skip
        assert reap().finishes_taken_back == [batch.pk]
    batch.refresh_from_db()
    finish = batch.summary["finish"]
    assert finish["status"] == "failed" and "gave up after 3 attempts" in finish["error"]
    page = viewer_client.get(reverse("monitor:batch", args=[batch.pk])).content.decode()
    assert "gave up after 3 attempts" in page

