"""What an attempt costs the database, and what django-q2 keeps of it.

The orchestration of an AB is measured in benchmarks/bench_queue.py (docs/BENCHMARKS.md);
these tests keep the shape that benchmark relies on: an attempt reads only what it needs
(not the frames' header JSON, not the instance's rules and configuration text), makes a
dozen statements when the AB has neither inputs nor products, and django-q2 saves no result
of a successful processAB task (the AB and its attempts are the record) while still saving
a task that raised.
"""

from datetime import date

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_q.conf import Conf
from django_q.models import OrmQ, Task
from django_q.tasks import async_task

from benchmarks.fault_run import make_abs
from processing.abs.scope import Scope
from processing.choices import AbStatus, AttemptStatus
from processing.data_pool import import_headers
from processing.models import AbAttempt, AssociationBlock
from processing.queue import actions
from processing.queue.attempt import process_ab
from processing.queue.schedule import PROCESS_AB_TASK
from processing.simulation import simulate_nights
from tests.cluster import Cluster, cluster_env, wait_until
from tests.processed import load_instance

NIGHT = date(2009, 6, 15)
#: statements of a successful first attempt at an AB without inputs, products or dependants,
#: not the last of its batch: read the AB; claim it and insert the attempt (with the engine
#: that will run it); read inputs and calibrations; record the recipe's pid; then the outcome
#: (AB, attempt), whether dependants wait and the batch has active ABs left (one query), and
#: the end of the clean-up
NOOP_STATEMENTS = 10


DATA = {"SELECT", "INSERT", "UPDATE", "DELETE"}


def statements(queries):
    """The data statements among captured queries (not BEGIN, COMMIT or savepoints)."""
    return [q["sql"] for q in queries if q["sql"].split(None, 1)[0].upper() in DATA]


@pytest.fixture
def naco(db, data_root):
    return load_instance("NACO", "python")


def test_an_attempt_reads_no_header_json_and_no_instance_text(naco, tmp_path):
    simulate_nights(NIGHT, 1, tmp_path / "raw", seed=1, broken=False)
    assert not import_headers([tmp_path / "raw"]).failed
    actions.launch(naco, Scope.for_date(NIGHT.isoformat()), create=True, process=True)
    ab = AssociationBlock.objects.filter(status=AbStatus.QUEUED, inputs__isnull=False).first()
    with CaptureQueriesContext(connection) as queries:
        assert "success" in process_ab(ab.pk)
    assert ab.inputs.exists()
    selects = [s for s in statements(queries) if s.startswith("SELECT")]
    assert not [s for s in selects if "rules_text" in s or "config_text" in s]
    assert not [s for s in selects if '"processing_rawframe"."keywords"' in s]


def test_an_attempt_without_inputs_or_products_makes_a_dozen_statements(naco):
    ab_id, _ = make_abs(naco, 2, recipe="phoenix_noop", parameters=[], catg=None, prefix="NOOP")
    actions.launch(naco, Scope.for_date(NIGHT.isoformat()), process=True)
    with CaptureQueriesContext(connection) as queries:
        assert "success" in process_ab(ab_id)
    assert len(statements(queries)) <= NOOP_STATEMENTS, "\n".join(statements(queries))
    with CaptureQueriesContext(connection) as queries:  # a second delivery: one look
        assert "nothing to do" in process_ab(ab_id)
    assert len(statements(queries)) == 1


@pytest.fixture
def cluster(transactional_db, naco, data_root, tmp_path):
    if "orm" not in settings.Q_CLUSTER:
        pytest.skip("Redis broker: tests/test_queue.py runs a cluster on it")
    running = Cluster(cluster_env(data_root, workers=1), tmp_path / "qcluster.log")
    yield running
    running.stop()


def test_django_q2_keeps_no_result_of_a_successful_ab_but_keeps_a_failure(naco, cluster):
    ab_id, = make_abs(naco, 1, recipe="phoenix_noop", parameters=[], catg=None, prefix="NOOP")
    actions.launch(naco, Scope.for_date(NIGHT.isoformat()), process=True)
    async_task(PROCESS_AB_TASK, "not-an-ab-id")  # raises in the worker: a failed task
    queue = OrmQ.objects.filter(key=Conf.CLUSTER_NAME)
    wait_until(lambda: not queue.exists(), 120, what="both tasks acknowledged")
    assert cluster.alive(), cluster.log()[-3000:]
    assert AssociationBlock.objects.get(pk=ab_id).status == AbStatus.SUCCESS
    assert AbAttempt.objects.get(ab_id=ab_id).status == AttemptStatus.SUCCESS
    saved = list(Task.objects.filter(func=PROCESS_AB_TASK).values_list("args", "success"))
    assert saved == [(("not-an-ab-id",), False)]
