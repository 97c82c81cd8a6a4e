"""The queues page: q2 clusters read through django-q2's own Stat (from the shared cache),
each worker with the AB it runs, the q2 queue and its failures, the ingestion queue, failed
ABs across dates — with a bounded number of queries."""

from datetime import date, timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import OrmQ, Task
from django_q.signing import SignedPackage
from django_q.status import Stat, Status
from django_q.tasks import async_task

from processing.choices import IngestStatus
from processing.models import AssociationBlock, IngestRequest
from tests.archive_factories import naco as load_naco
from tests.archive_factories import register, write_fits
from tests.web import HTMX, at_most_queries

NIGHT = date(2009, 6, 15)


@pytest.fixture
def naco(db):
    return load_naco()


def report_cluster(host, worker_pids, cluster_id="c0ffee00-1111-2222-3333-444455556666"):
    """What a running cluster's sentinel saves every cycle: a Stat in the shared cache."""
    status = Status(pid=4242, cluster_id=cluster_id)
    status.host, status.workers, status.status = host, worker_pids, "Idle"
    status.tob = timezone.now() - timedelta(minutes=5)
    get_broker().set_stat(Stat.get_key(cluster_id), SignedPackage.dumps(status, True), 30)


def make_abs(instance, states, night=NIGHT, **fields):
    return AssociationBlock.objects.bulk_create([
        AssociationBlock(
            instance=instance, ab_name=f"NACO.{night}T00:{i // 60:02d}:{i % 60:02d}.{len(states):03d}",
            batch_label=f"CALIB_{night}", category="CALIB", night=night, raw_type="DARK",
            action="DARK", recipe="naco_img_dark", mjd_obs=55000 + i / 1000, mjd_obs_mod=55000,
            prod_root_name="r", status=state, finished_at=timezone.now() - timedelta(minutes=i),
            error=f"error {i}" if state == "failed" else "", **fields,
        ) for i, state in enumerate(states)
    ])  # fmt: skip


def test_clusters_and_the_ab_each_worker_runs(viewer_client, naco):
    worker = f"{settings.Q_CLUSTER['name']}:5151"
    [ab] = make_abs(naco, ["running"], host="muc09", worker=worker, started_at=timezone.now())
    report_cluster("muc09", [5151, 5152])
    page = viewer_client.get(reverse("monitor:queues")).content.decode()
    assert "muc09" in page and "Idle" in page
    assert f'pid 5151: <a href="{reverse("monitor:ab", args=[ab.pk])}">{ab.ab_name}</a>' in page
    assert "pid 5152: <span class=\"muted\">idle</span>" in page
    assert "Running ABs (1)" in page and worker in page


def test_without_a_cluster_the_page_says_what_to_do(viewer_client, naco):
    page = viewer_client.get(reverse("monitor:queues")).content.decode()
    assert "No django-q2 cluster reports to this site" in page and "manage.py qcluster" in page


def test_q2_queue_size_and_failed_tasks(viewer_client, naco):
    async_task("processing.tasks.heartbeat")
    async_task("processing.tasks.heartbeat")
    assert OrmQ.objects.count() == 2
    Task.objects.create(id="a" * 32, name="lima-oscar", func="processing.tasks.ingest", started=timezone.now(),
                        stopped=timezone.now(), success=False, result="Traceback: disk full")  # fmt: skip
    page = viewer_client.get(reverse("monitor:queues")).content.decode()
    assert "<strong>2</strong> tasks waiting" in page
    assert "lima-oscar" in page and "disk full" in page and "1 failed tasks kept" in page


def test_ingestion_queue_counts_duplicates_and_problems(viewer_client, naco, data_root):
    products = [register(naco, write_fits(data_root / f"p{i}.fits", value=i)) for i in range(4)]
    for product, status, duplicates in zip(products, ["open", "done", "failed", "refused"], [2, 1, 0, 3]):
        IngestRequest.objects.create(instance=naco, product=product, key=f"{product.name}:x",
                                     status=status, duplicates=duplicates, actor_name="q2",
                                     error=f"{status}: checksum mismatch" if status in ("failed", "refused") else "")  # fmt: skip
    page = viewer_client.get(reverse("monitor:queues")).content.decode()
    for status, n in [("held", 0), ("open", 1), ("done", 1), ("failed", 1), ("refused", 1)]:
        assert f'data-status="{status}">{n}</td>' in page
    assert '<td class="num" id="duplicates">6</td>' in page
    assert reverse("monitor:product", args=[products[2].pk]) in page and "failed: checksum mismatch" in page
    assert reverse("monitor:product", args=[products[3].pk]) in page
    assert reverse("monitor:product", args=[products[0].pk]) not in page


def test_failed_abs_across_dates_latest_first(viewer_client, naco):
    make_abs(naco, ["failed", "success"])
    later, = make_abs(naco, ["failed"], night=date(2009, 6, 20))
    AssociationBlock.objects.filter(pk=later.pk).update(finished_at=timezone.now() + timedelta(hours=1))
    page = viewer_client.get(reverse("monitor:queues")).content.decode()
    assert "Failed ABs across dates (2)" in page
    assert page.index(later.ab_name) < page.index("NACO.2009-06-15T00:00:00.002")
    assert reverse("monitor:date", args=["NACO", "2009-06-20"]) in page
    assert reverse("monitor:ab", args=[later.pk]) in page


def test_live_part_is_polled_and_never_final(viewer_client, naco):
    response = viewer_client.get(reverse("monitor:queues_live"), **HTMX)
    assert response.status_code == 200
    assert f'hx-get="{reverse("monitor:queues_live")}"' in response.content.decode()


@pytest.mark.parametrize("size", [3, 300])
def test_queries_do_not_grow_with_rows(viewer_client, naco, data_root, size):
    make_abs(naco, ["failed"] * size)
    make_abs(naco, ["running"] * min(size, 40), night=date(2009, 6, 16), host="h", worker="phoenix:1")
    report_cluster("h", [1, 2, 3])
    products = [register(naco, write_fits(data_root / f"q{i}.fits", value=i)) for i in range(min(size, 30))]
    IngestRequest.objects.bulk_create([IngestRequest(instance=naco, product=p, key=f"{p.name}:y",
                                                     status=IngestStatus.FAILED, actor_name="q2")
                                       for p in products])  # fmt: skip
    # django-q2's Stat.get_all reads (and rewrites) its key list in the database cache: one
    # more query per cluster, never per AB, request or task
    with at_most_queries(19):
        assert viewer_client.get(reverse("monitor:queues")).status_code == 200
    with at_most_queries(14):
        assert viewer_client.get(reverse("monitor:queues_live"), **HTMX).status_code == 200
