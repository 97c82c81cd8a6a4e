"""A processed NACO night for the tests of the -M step: real raw frames from the simulator,
real Python recipes, real QC — the worker and the QC job played in the test process."""

import os
import shutil
from datetime import date

from django.core.management import call_command

from processing.abs.scope import Scope
from processing.choices import AbStatus, QcStatus
from processing.data_pool import import_headers
from processing.models import AssociationBlock, Instance
from processing.queue import actions
from processing.queue.attempt import process_ab
from processing.queue.qc_job import process_qc
from processing.simulation import simulate_nights

NIGHT = date(2009, 6, 15)
MONTH = Scope.for_month("2009-06")


def simulate(directory):
    simulate_nights(NIGHT, 1, directory, seed=1, broken=False)
    return directory


def load_instance(name="NACO", engine="python"):
    """Load one instance from its files and set the engine its ABs run on."""
    with open(os.devnull, "w") as quiet:
        call_command("load_instances", name, stdout=quiet)
    instance = Instance.objects.get(name=name)
    instance.engine = engine
    instance.save(update_fields=["engine"])
    return instance


def process_month(simulated, tmp_path, *, instance_name="NACO", engine="python", qc=True):
    """Load the instance, import the night, create and process the month's ABs (and their QC)."""
    raw = tmp_path / "raw"
    shutil.copytree(simulated, raw)
    instance = load_instance(instance_name, engine)
    assert not import_headers([raw]).failed
    actions.launch(instance, MONTH, create=True, process=True)
    drive(qc=qc)
    return instance


def drive(qc=True, limit=500):
    """Be the workers: run queued ABs (and QC jobs) until nothing is left."""
    for _ in range(limit):
        queued = list(AssociationBlock.objects.filter(status=AbStatus.QUEUED)
                      .order_by("queued_at", "pk").values_list("pk", flat=True))  # fmt: skip
        qc_jobs = list(AssociationBlock.objects.filter(qc_status=QcStatus.QUEUED)
                       .values_list("pk", flat=True)) if qc else []  # fmt: skip
        if not queued and not qc_jobs:
            return
        for pk in queued:
            process_ab(pk)
        for pk in qc_jobs:
            process_qc(pk)
    raise AssertionError("ABs kept being queued")
