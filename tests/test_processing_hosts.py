"""Two qcluster processes with the same cluster name, SECRET_KEY and broker, as two hosts
(PHOENIX_HOST_NAME), share one batch: every AB runs once, and each records who ran it."""

import os
from datetime import date

import pytest
from django.core.management import call_command

from processing.abs.scope import Scope
from processing.choices import AbStatus, AttemptStatus
from processing.models import AbAttempt, AssociationBlock, Instance
from processing.queue import actions, progress
from tests.cluster import Cluster, cluster_env, redis_reachable
from tests.conftest import ON_CI

NIGHT = date(2009, 7, 2)
ABS = 12


@pytest.mark.parametrize("broker", ["orm", "redis"])
def test_two_hosts_share_a_batch(transactional_db, data_root, tmp_path, broker, settings):
    redis_url = None
    if broker == "redis":
        if not redis_reachable():
            if ON_CI:
                pytest.fail("Redis must be running on 127.0.0.1:6379 on CI", pytrace=False)
            pytest.skip("no Redis server on 127.0.0.1:6379")
        redis_url = "redis://127.0.0.1:6379/0"
    call_command("load_instances", "NACO", stdout=open(os.devnull, "w"))
    naco = Instance.objects.get(name="NACO")
    naco.engine = "python"
    naco.save(update_fields=["engine"])
    for number in range(ABS):
        AssociationBlock.objects.create(
            instance=naco, ab_name=f"HOSTS_{number:03d}", batch_label="SCIENCE_2009-07-02",
            category="SCIENCE", night=NIGHT, raw_type="TEST", action="WAIT",
            recipe="phoenix_wait", parameters=["--seconds=0.4", "--write=HOST_PRODUCT"],
            products_expected=[{"name": "p", "pro_catg": "HOST_PRODUCT"}],
            mjd_obs=55014.5 + number / 1000, mjd_obs_mod=55014.5, prod_root_name=f"H{number}",
        )  # fmt: skip
    name = f"phoenix-hosts-{os.getpid()}" if redis_url else settings.Q_CLUSTER["name"]
    clusters = [
        Cluster(cluster_env(data_root, workers=2, redis_url=redis_url, name=name,
                            PHOENIX_HOST_NAME=host), tmp_path / f"{host}.log")  # fmt: skip
        for host in ("alpha", "beta")
    ]
    try:
        if redis_url:  # the launch must reach the clusters' broker: launch from a host
            import subprocess
            import sys

            from tests.cluster import ROOT

            done = subprocess.run(
                [sys.executable, "manage.py", "phoenix", "--instance", "NACO", "-d",
                 NIGHT.isoformat(), "-P", "--wait", "--timeout", "120"],
                cwd=ROOT, env=clusters[0].env, capture_output=True, text=True, timeout=180,
            )  # fmt: skip
            assert done.returncode == 0, done.stdout + done.stderr
        else:
            result = actions.launch(naco, Scope.for_date(NIGHT.isoformat()), process=True,
                                    actor_name="test")  # fmt: skip
            progress.wait([result.batch.pk], timeout=120)
    finally:
        for cluster in clusters:
            cluster.stop()
    abs_ = AssociationBlock.objects.filter(ab_name__startswith="HOSTS_")
    assert set(abs_.values_list("status", flat=True)) == {AbStatus.SUCCESS}
    assert set(abs_.values_list("host", flat=True)) == {"alpha", "beta"}
    for ab in abs_:
        attempts = AbAttempt.objects.filter(ab=ab)
        assert [a.status for a in attempts] == [AttemptStatus.SUCCESS]
        assert attempts[0].host == ab.host and attempts[0].worker == ab.worker
        assert ab.worker.startswith(name + ":")
        assert ab.products.filter(kind="science").count() == 1
