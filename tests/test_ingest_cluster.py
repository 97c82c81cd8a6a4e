"""The q2 task `ingest` through a real cluster: queueing hands the new requests to it; a
task delivered twice (or the schedule meanwhile) ingests nothing twice."""

import pytest
from django_q.models import Task
from django_q.tasks import async_task

from processing.archive import queue_ingestion
from processing.archive.queueing import INGEST_TASK
from processing.choices import IngestStatus, ProductState
from processing.models import ArchiveRecord, IngestRequest, Product
from tests.archive_factories import master, naco
from tests.cluster import Cluster, cluster_env, wait_until


@pytest.mark.django_db(transaction=True)
def test_queued_products_are_ingested_by_the_cluster_once(data_root, tmp_path):
    instance = naco()
    products = [master(instance, data_root, value=v) for v in range(1, 11)]
    cluster = Cluster(cluster_env(data_root, workers=2), tmp_path / "qcluster.log")
    try:
        queued = queue_ingestion(products, actor_name="test")
        queue_ingestion(products[:3], actor_name="test")  # duplicates: no task, no request
        ids = [r.pk for r in queued.requests]
        async_task(INGEST_TASK, ids)  # the same task delivered again
        async_task(INGEST_TASK)  # and the scheduled sweep at the same time
        wait_until(lambda: IngestRequest.objects.filter(status=IngestStatus.DONE).count() == 10,
                   90, what="the cluster to ingest the requests")  # fmt: skip
        tasks = Task.objects.filter(func=INGEST_TASK)
        wait_until(lambda: tasks.count() == 3, 30, what="the three ingest tasks to end")
    finally:
        cluster.stop()
    assert "Traceback" not in cluster.log(), cluster.log()
    assert all(t.success for t in tasks), [t.result for t in tasks]
    assert sum(t.result["counts"]["ingested"] for t in tasks) == 10  # each by one task only
    assert ArchiveRecord.objects.count() == 10
    assert set(IngestRequest.objects.values_list("attempts", flat=True)) == {1}
    assert sorted(IngestRequest.objects.values_list("duplicates", flat=True)) == [0] * 7 + [1] * 3
    assert set(Product.objects.values_list("state", flat=True)) == {ProductState.INGESTED}
