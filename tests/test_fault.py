"""Fault tests of the processing queue on a real django-q2 cluster (ORM broker).

A batch of ABs of the diagnostic recipe phoenix_wait (0.3 s, one FAULT_PRODUCT product each)
goes through `manage.py qcluster` with two workers and a short lease, while the test

- SIGKILLs workers at random moments inside AB attempts — during the recipe, between the
  claim and the recipe, just after the recipe while the worker moves and registers the
  products, and just after it committed the success — and runs the reaper itself every
  second (the cluster's schedule fires only once a minute); django-q2's sentinel starts new
  workers;
- or delivers every AB's task a second time on purpose (django-q2 is at-least-once).

Either way every AB must end `success` with exactly one successful attempt, one Product row
and one product file, no orphan per-attempt directory, nothing left `running` (QC jobs
included), and the attempts of killed workers `lost` (those killed after their commit:
`success`). The QC jobs run without Chrome
(BROWSER_PATH names none): their kaleido PNG costs seconds per AB on two cores, and a
re-queued AB waits behind every QC job queued before it (one FIFO queue), which would make
this a test of QC speed. The scenario (ABs, killer, checks) is shared with
benchmarks/fault_run.py, which runs it longer. The random seed is printed (-s shows it);
PHOENIX_FAULT_SEED replays one.
"""

import os
import random
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from django_q.conf import Conf
from django_q.models import OrmQ

from benchmarks.fault_run import (
    NO_BROWSER,
    check_outcome,
    finish_cleanups,
    make_abs,
    run_scenario,
    sentinel_children,
)
from processing.choices import AttemptStatus, QcStatus
from processing.models import AbAttempt, AssociationBlock, Instance
from processing.queue import progress, schedule
from tests.cluster import Cluster, cluster_env, wait_until

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("PHOENIX_FAULT_SEED", "20261125"))
ABS = 100
WORKERS = 2
#: kill modes (benchmarks/fault_run.Killer), in an order the seed draws
KILLS = ("recipe", "recipe", "claim", "finish", "finish", "committed")
LEASE, HEARTBEAT, MAX_ATTEMPTS = 4, 1, 10
#: the batch's ABs must end within this many seconds (typically 20–35 s on 2 cores alone;
#: CI runs 4 test processes on its 2 cores, and there the QC jobs once took over 30 s)
BATCH_TIMEOUT = 120
#: and their QC jobs this many seconds later
QC_TIMEOUT = 120


@pytest.fixture
def fault_cluster(transactional_db, data_root, settings, tmp_path):
    """NACO (engine python) and a 2-worker qcluster with a 4 s lease on the test database."""
    settings.PHOENIX_LEASE_SECONDS = LEASE
    settings.PHOENIX_HEARTBEAT_SECONDS = HEARTBEAT
    settings.PHOENIX_MAX_ATTEMPTS = MAX_ATTEMPTS  # the reaper runs here, in the test process
    with open(os.devnull, "w") as quiet:
        call_command("load_instances", "NACO", stdout=quiet)
    instance = Instance.objects.get(name="NACO")
    instance.engine = "python"
    instance.save(update_fields=["engine"])
    env = cluster_env(
        data_root, workers=WORKERS, name=Conf.CLUSTER_NAME,  # the broker queue launch() uses
        PHOENIX_LEASE_SECONDS=LEASE, PHOENIX_HEARTBEAT_SECONDS=HEARTBEAT,
        PHOENIX_MAX_ATTEMPTS=MAX_ATTEMPTS, PHOENIX_LOG_LEVEL="WARNING",
        BROWSER_PATH=NO_BROWSER,  # QC without Chrome: its PNG costs seconds per AB
    )  # fmt: skip
    cluster = Cluster(env, tmp_path / "qcluster.log")
    # Start the batch once the workers are up, so the kill moments fall inside it.
    wait_until(lambda: len(sentinel_children(cluster)) >= WORKERS + 2, 60, what="the q2 workers")
    yield instance, cluster
    cluster.stop()


def _report(run, outcome):
    print(f"seed {run['seed']}: {run['seconds']} s, {outcome['ab_states']}, attempts "
          f"{outcome['attempt_states']}, kills {[(k['mode'], k['t']) for k in run['killed']]}")  # fmt: skip


def _no_attempt_running(ab_ids):
    return not AbAttempt.objects.filter(ab_id__in=ab_ids, status=AttemptStatus.RUNNING).exists()


def _settled(run, ab_ids):
    """After the ABs: no attempt running once a lease had time to expire, QC jobs ended."""
    wait_until(lambda: _no_attempt_running(ab_ids), LEASE + 3, what="no attempt running")
    wait_until(lambda: progress.finished([run["batch"]]), QC_TIMEOUT, what="the QC jobs")
    qc = set(AssociationBlock.objects.filter(pk__in=ab_ids).values_list("qc_status", flat=True))
    assert qc == {QcStatus.DONE}, qc


def test_killed_workers_lose_nothing_and_duplicate_nothing(fault_cluster, data_root):
    instance, cluster = fault_cluster
    print(f"fault test seed {SEED} (replay: PHOENIX_FAULT_SEED={SEED})")
    rng = random.Random(SEED)
    ab_ids = make_abs(instance, ABS, seconds=0.3)
    run = run_scenario(instance, ab_ids, cluster, kills=len(KILLS), plan=KILLS, rng=rng,
                       timeout=BATCH_TIMEOUT, kill_window=(0.5, 10.0))  # fmt: skip
    run["seed"] = SEED
    assert cluster.alive(), cluster.log()[-3000:]
    assert run["finished"], f"batch not finished after {BATCH_TIMEOUT} s: {run['counts']}"
    assert len(run["killed"]) == len(KILLS), f"only these kills: {run['killed']}"
    _settled(run, ab_ids)
    # The reaper finishes the clean-up of workers killed after their commit (a lease later).
    finish_cleanups(LEASE + 5)
    outcome = check_outcome(ab_ids, data_root, run["killed"])
    _report(run, outcome)
    assert outcome["problems"] == [], outcome["problems"]
    lost = sum(kill["mode"] != "committed" for kill in run["killed"])
    assert outcome["attempt_states"].get(AttemptStatus.LOST, 0) >= lost
    # the killed workers really died, and the sentinel replaced them
    alive = set(sentinel_children(cluster))
    assert not alive & {kill["pid"] for kill in run["killed"]}
    assert len(alive) >= WORKERS + 2
    # Only lost attempts keep their work directory (for inspection).
    left = {str(p) for p in (Path(data_root) / "work").glob("*/*")}
    lost_dirs = set(AbAttempt.objects.filter(ab_id__in=ab_ids, status=AttemptStatus.LOST)
                    .values_list("work_dir", flat=True))  # fmt: skip
    assert left <= lost_dirs, sorted(left - lost_dirs)


def test_tasks_delivered_twice_run_once(fault_cluster, data_root):
    instance, cluster = fault_cluster
    print(f"fault test seed {SEED}")
    ab_ids = make_abs(instance, ABS, seconds=0.3)
    run = run_scenario(instance, ab_ids, cluster, kills=0, rng=random.Random(SEED),
                       duplicate=True, timeout=BATCH_TIMEOUT)  # fmt: skip
    run["seed"] = SEED
    assert cluster.alive(), cluster.log()[-3000:]
    assert run["finished"], f"batch not finished after {BATCH_TIMEOUT} s: {run['counts']}"
    _settled(run, ab_ids)
    # Both deliveries of every AB were executed: every task of the broker queue was
    # acknowledged (the monitor does that after saving the result) — one delivery did the
    # work, the other found nothing to claim.
    broker_queue = OrmQ.objects.filter(key=Conf.CLUSTER_NAME)
    wait_until(lambda: not broker_queue.exists(), 30, what="every delivery acknowledged")
    outcome = check_outcome(ab_ids, data_root)
    _report(run, outcome)
    assert outcome["problems"] == [], outcome["problems"]
    assert outcome["attempt_states"] == {AttemptStatus.SUCCESS: ABS}
    assert set(AssociationBlock.objects.filter(pk__in=ab_ids).values_list("attempts", flat=True)) == {1}


@pytest.mark.django_db(transaction=True)
def test_tasks_go_with_the_transaction_that_queued_them():
    """With the ORM broker a task row commits with the state change that queued its AB or QC
    job: a worker killed right after its commit can no longer leave a job queued without a
    task (found by the "committed" kills: QC jobs stayed queued for ever)."""
    if "orm" not in settings.Q_CLUSTER:
        pytest.skip("Redis broker: tasks are sent after the commit")
    with transaction.atomic():
        schedule.enqueue([1, 2])
        assert OrmQ.objects.count() == 2  # written inside the transaction…
        transaction.set_rollback(True)
    assert OrmQ.objects.count() == 0  # …and gone with its rollback
