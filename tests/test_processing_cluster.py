"""phoenix -C -P --wait through a real q2 cluster: the night ends processed, on the ORM broker
and on Redis; a running recipe is killed by a cancel and by its timeout.

The launch runs as `manage.py phoenix` in its own process with the cluster's environment, as
an operator runs it; the test then reads the outcome from the database.
"""

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from processing.abs.scope import Scope
from processing.choices import AbStatus, AttemptStatus, QcStatus
from processing.data_pool import import_headers
from processing.models import AbAttempt, AssociationBlock, Instance
from processing.queue import actions
from processing.simulation import simulate_nights
from tests.cluster import ROOT, Cluster, cluster_env, redis_reachable, wait_until
from tests.conftest import ON_CI


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    out = tmp_path_factory.mktemp("naco_raw")
    simulate_nights(date(2009, 6, 15), 1, out, seed=1, broken=False)
    return out


def broker_url(kind):
    if kind == "redis":
        if not redis_reachable():
            if ON_CI:
                pytest.fail("Redis must be running on 127.0.0.1:6379 on CI", pytrace=False)
            pytest.skip("no Redis server on 127.0.0.1:6379")
        return "redis://127.0.0.1:6379/0"
    return None


@pytest.fixture
def naco(transactional_db, simulated, data_root):
    call_command("load_instances", "NACO", stdout=open(os.devnull, "w"))
    assert not import_headers([simulated]).failed
    return Instance.objects.get(name="NACO")


def phoenix(env, *args, timeout=240):
    done = subprocess.run([sys.executable, "manage.py", "phoenix", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip
    return done


@pytest.mark.parametrize("engine", ["python", pytest.param("esorex", marks=pytest.mark.esorex)])
@pytest.mark.parametrize("broker", ["orm", "redis"])
def test_phoenix_processes_the_night_through_the_cluster(naco, data_root, tmp_path, engine, broker):
    naco.engine = engine
    naco.save(update_fields=["engine"])
    env = cluster_env(data_root, workers=2, redis_url=broker_url(broker))
    cluster = Cluster(env, tmp_path / "qcluster.log")
    try:
        done = phoenix(env, "--instance", "NACO", "-m", "2009-06", "-C", "-P", "--wait",
                       "--timeout", "200", "--json")  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr + cluster.log()
        summary = json.loads(done.stdout.strip().splitlines()[-1])
        counts = summary["counts"]
        assert counts["success"] == summary["batches"][0]["pending"] > 0, counts
        assert "batch ended" in done.stderr
        wait_until(lambda: not AssociationBlock.objects.filter(
            qc_status__in=(QcStatus.QUEUED, QcStatus.RUNNING)).exists(), 120, what="QC jobs")  # fmt: skip
    finally:
        cluster.stop()
    processed = AssociationBlock.objects.filter(status=AbStatus.SUCCESS)
    hosts = set(processed.values_list("host", flat=True))
    workers = set(processed.values_list("worker", flat=True))
    assert hosts and "" not in hosts
    assert all(w.startswith(env["PHOENIX_Q_CLUSTER_NAME"] + ":") for w in workers)
    assert set(processed.values_list("qc_status", flat=True)) == {QcStatus.DONE}
    for ab in processed:
        assert ab.qc_parameters.filter(score=0).exists(), f"{ab}: no scored QC parameter"
        assert ab.qc_score == 0 and ab.auto_certify_proposed, f"{ab}: QC score {ab.qc_score}"
        png = ab.products.get(kind="plot", pro_catg="QC_PLOT_PNG")
        assert Path(png.path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert ab.products.filter(kind__in=("master", "science")).exists()


@pytest.fixture
def slow_abs(naco):
    """Two ABs of the phoenix_wait recipe (no inputs) in a night of their own."""
    naco.engine = "python"
    naco.config["processing"]["timeouts"] = {"phoenix_wait": 3}
    naco.save(update_fields=["engine", "config"])
    made = []
    for name, seconds in (("SLOW_CANCEL", 120), ("SLOW_TIMEOUT", 120)):
        made.append(AssociationBlock.objects.create(
            instance=naco, ab_name=name, batch_label="SCIENCE_2009-07-01", category="SCIENCE",
            night=date(2009, 7, 1), raw_type="TEST", action="WAIT", recipe="phoenix_wait",
            parameters=[f"--seconds={seconds}"], mjd_obs=55013.5, mjd_obs_mod=55013.5,
            prod_root_name=name,
        ))  # fmt: skip
    return made


def test_cancel_and_timeout_kill_the_running_recipe(naco, slow_abs, data_root, tmp_path):
    cancel_me, time_me_out = slow_abs
    env = cluster_env(data_root, workers=2)
    cluster = Cluster(env, tmp_path / "qcluster.log")
    try:
        actions.launch(naco, Scope.for_date("2009-07-01"), process=True, actor_name="test")
        wait_until(lambda: AbAttempt.objects.filter(ab=cancel_me, pid__isnull=False).exists(),
                   60, what="the recipe to start")  # fmt: skip
        pid = AbAttempt.objects.get(ab=cancel_me).pid
        os.kill(pid, 0)  # running
        started = timezone.now()
        cancelled, stopping = actions.cancel([cancel_me], actor_name="test")
        assert stopping == [cancel_me.ab_name]
        wait_until(lambda: AssociationBlock.objects.get(pk=cancel_me.pk).status
                   == AbStatus.CANCELLED, 30, what="the cancel")  # fmt: skip
        assert (timezone.now() - started).total_seconds() < 15
        with pytest.raises(ProcessLookupError):
            os.killpg(pid, 0)  # the whole process group is gone
        wait_until(lambda: AssociationBlock.objects.get(pk=time_me_out.pk).status
                   == AbStatus.FAILED, 60, what="the timeout")  # fmt: skip
    finally:
        cluster.stop()
    assert AbAttempt.objects.get(ab=cancel_me).status == AttemptStatus.CANCELLED
    timed_out = AssociationBlock.objects.get(pk=time_me_out.pk)
    assert "exceeded its timeout of 3 s" in timed_out.error
    attempt = AbAttempt.objects.get(ab=time_me_out)
    assert attempt.status == AttemptStatus.TIMEOUT
    assert Path(attempt.work_dir).is_dir()


def test_a_task_lost_between_commit_and_send_is_sent_again_by_the_reaper_on_redis(naco, data_root, tmp_path):
    """Redis gets a task after the commit that queued its AB: a sender killed in between
    leaves the AB queued without a task. The reaper finds the broker empty while the AB has
    waited longer than a lease, and sends the task again."""
    naco.engine = "python"
    naco.save(update_fields=["engine"])
    env = cluster_env(data_root, workers=1, redis_url=broker_url("redis"))
    lost = AssociationBlock.objects.create(
        instance=naco, ab_name="LOST_TASK", batch_label="SCIENCE_2009-07-02", category="SCIENCE",
        night=date(2009, 7, 2), raw_type="TEST", action="NOOP", recipe="phoenix_noop",
        mjd_obs=55014.5, mjd_obs_mod=55014.5, prod_root_name="LOST_TASK", status=AbStatus.QUEUED,
        queued_at=timezone.now() - timedelta(minutes=5),
    )  # fmt: skip
    cluster = Cluster(env, tmp_path / "qcluster.log")
    try:
        reaper = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c",
             "from processing.queue.reaper import reap; print('resent', reap(clean_work=False).resent)"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert "resent ['LOST_TASK']" in reaper.stdout, reaper.stdout + reaper.stderr
        wait_until(lambda: AssociationBlock.objects.get(pk=lost.pk).status == AbStatus.SUCCESS,
                   60, what="the re-sent AB")  # fmt: skip
    finally:
        cluster.stop()
    assert AbAttempt.objects.filter(ab=lost).count() == 1
