"""The phoenix command: DFOS flags, Batch rows, jobs files, and clear errors."""

import json
import os
from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from processing.choices import AbStatus, BatchStatus
from processing.data_pool import import_headers
from processing.models import AssociationBlock, AuditEvent, Batch
from processing.simulation import simulate_nights


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    out = tmp_path_factory.mktemp("naco_raw")
    simulate_nights(date(2009, 6, 15), 2, out, seed=1, broken=False)
    return out


@pytest.fixture
def naco(db, simulated, data_root):
    call_command("load_instances", "NACO", stdout=open(os.devnull, "w"))
    assert not import_headers([simulated]).failed


def phoenix(*args):
    out, err = StringIO(), StringIO()
    call_command("phoenix", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_create_and_process_a_month_makes_one_batch(naco):
    out, err = phoenix("--instance", "NACO", "-m", "2009-06", "-C", "-P", "--json")
    summary = json.loads(out.strip().splitlines()[-1])
    [batch] = summary["batches"]
    row = Batch.objects.get(pk=batch["id"])
    assert (row.steps, row.scope, row.complete_mode) == ("CP", "2009-06", True)
    assert row.status == BatchStatus.RUNNING and row.actor_name.startswith("cli:")
    assert row.summary["abs"] > 0 and row.summary["processing"]["pending"] == batch["pending"]
    in_batch = AssociationBlock.objects.filter(batch=row).exclude(status=AbStatus.CREATED)
    assert in_batch.count() == batch["pending"] > 0
    assert summary["counts"]["queued"] == in_batch.filter(status=AbStatus.QUEUED).count() > 0
    assert "batch #" in err and "made" in err
    assert AuditEvent.objects.filter(action="launch", object_id=str(row.pk)).exists()


def test_wait_shows_progress_and_gives_up_after_the_timeout(naco):
    out, err = StringIO(), StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("phoenix", "--instance", "NACO", "-d", "2009-06-16", "-C", "-P", "--wait",
                     "--timeout", "0.5", stdout=out, stderr=err)  # fmt: skip
    assert exited.value.code == 3, "a wait that timed out is not a batch that ended"
    shown = out.getvalue()
    assert "[" in shown and "queued" in shown
    assert "stopped waiting after 0.5 s" in shown and "the batch goes on" in shown
    assert "batch ended" not in shown


def test_a_second_launch_waits_for_the_first_batch(naco):
    phoenix("--instance", "NACO", "-m", "2009-06", "-C", "-P")
    first = Batch.objects.get()
    out, err = StringIO(), StringIO()
    with pytest.raises(SystemExit):
        call_command("phoenix", "--instance", "NACO", "-m", "2009-06", "-P", "--wait",
                     "--timeout", "0.3", stdout=out, stderr=err)  # fmt: skip
    out = out.getvalue()
    assert f"also waiting for batch(es) #{first.pk}" in out
    assert f"in batch #{first.pk}" in out


def test_jobs_file_runs_every_line(naco, tmp_path):
    jobs = tmp_path / "jobs.txt"
    jobs.write_text("# reprocessing\nphoenix -d 2009-06-15 -C\n\n-d 2009-06-16 -C -P  # and this\n")
    out, _ = phoenix("--instance", "NACO", "--jobs-file", str(jobs), "--json")
    batches = json.loads(out.strip().splitlines()[-1])["batches"]
    assert [(b["scope"], b["steps"]) for b in batches] == [("2009-06-15", "C"), ("2009-06-16", "CP")]


@pytest.mark.parametrize("line, message", [
    ("-d 2009-06-15 -P --jobs-file other", "cannot name another jobs file"),
    ("-P", "no scope"),
    ("-d 2009-06-15 --bogus", "cannot read"),
    ('-d "2009-06-15', "cannot read"),
])  # fmt: skip
def test_a_bad_jobs_file_line_is_named_before_anything_starts(naco, tmp_path, line, message):
    jobs = tmp_path / "jobs.txt"
    jobs.write_text(f"-d 2009-06-15 -C -P\n{line}\n")
    with pytest.raises(CommandError, match=rf"jobs.txt:2: .*{message}"):
        phoenix("--instance", "NACO", "--jobs-file", str(jobs))
    assert not Batch.objects.exists()


@pytest.mark.parametrize("args, message", [
    (["--instance", "NACO"], "give a scope"),
    (["--instance", "NACO", "-d", "2009-06-15"], "nothing to do"),
    (["--instance", "NOPE", "-d", "2009-06-15", "-P"], "unknown instance 'NOPE'"),
    (["--instance", "NACO", "-d", "2009-13-45", "-P"], "2009-13-45"),
    (["--instance", "NACO", "-d", "2009-06-15", "-P", "-a", "NO_SUCH_AB"], "no AB named"),
    (["--instance", "NACO", "--jobs-file", "/nonexistent/jobs"], "/nonexistent/jobs"),
])  # fmt: skip
def test_errors_name_the_problem(naco, args, message):
    with pytest.raises(CommandError, match=message):
        phoenix(*args)
