"""phoenix -P on simulated NACO nights: ABs processed in dependency order with real recipes.

These tests play the worker in the test process (processing.queue.attempt.process_ab is what
the django-q2 task calls), so each state change can be looked at; tests/test_processing_cluster.py
runs the same through a real q2 cluster. The recipes are real: the Python recipes shipped
with Phoenix and, where installed (always on CI), the ESO ones through esorex.
"""

import os
import shutil
import threading
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django_q.conf import Conf
from django_q.models import OrmQ
from django.utils import timezone

from processing.abs.scope import Scope
from processing.choices import AbCategory, AbStatus, AttemptStatus, BatchStatus, Completeness
from processing.data_pool import import_headers
from processing.engine.python import Zygote
from processing.models import AbAttempt, AssociationBlock, Batch, Instance, Product
from processing.queue import actions
from processing.queue.attempt import process_ab, sof_copy
from processing.queue.reaper import reap
from processing.queue.schedule import PROCESS_AB_TASK
from processing.simulation import simulate_nights

FIRST_NIGHT = date(2009, 6, 15)
MONTH = Scope.for_month("2009-06")


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    out = tmp_path_factory.mktemp("naco_raw")
    simulate_nights(FIRST_NIGHT, 1, out, seed=1, broken=False)
    return out


@pytest.fixture(params=["python", pytest.param("esorex", marks=pytest.mark.esorex)])
def naco(request, db, simulated, data_root, tmp_path):
    """NACO with the night's raw files copied (tests may damage them), ABs of the month made."""
    raw = tmp_path / "raw"
    shutil.copytree(simulated, raw)
    call_command("load_instances", "NACO", stdout=open(os.devnull, "w"))
    assert not import_headers([raw]).failed
    instance = Instance.objects.get(name="NACO")
    instance.engine = request.param
    instance.save(update_fields=["engine"])
    actions.launch(instance, MONTH, create=True, process=False)
    return instance


def drive(limit=500):
    """Be the worker: run every queued AB until none is left; return the ids run, in order."""
    ran = []
    while len(ran) < limit:
        queued = list(AssociationBlock.objects.filter(status=AbStatus.QUEUED)
                      .order_by("queued_at", "pk").values_list("pk", flat=True))  # fmt: skip
        if not queued:
            return ran
        for pk in queued:
            process_ab(pk)
            ran.append(pk)
    raise AssertionError("ABs kept being queued")


def launched(result):
    return AssociationBlock.objects.filter(batch=result.batch)


def test_a_month_is_processed_in_dependency_order(naco):
    result = actions.launch(naco, MONTH, process=True)
    batch_abs = launched(result)
    assert batch_abs.count() == len(result.pending) > 0
    # COMPLETE_MODE: only CALIB ABs are queued at first; science waits for the CALIB part.
    first = set(batch_abs.filter(status=AbStatus.QUEUED).values_list("category", flat=True))
    assert first == {AbCategory.CALIB}
    assert batch_abs.filter(category=AbCategory.SCIENCE, status=AbStatus.PENDING).exists()

    order = drive()
    assert set(batch_abs.values_list("status", flat=True)) == {AbStatus.SUCCESS}, [
        (ab.ab_name, ab.error) for ab in batch_abs.exclude(status=AbStatus.SUCCESS)
    ]
    position = {pk: i for i, pk in enumerate(order)}
    for ab in batch_abs:
        for parent in ab.depends_on.all():
            assert position[parent.pk] < position[ab.pk], f"{ab} ran before its parent {parent}"
        if ab.category == AbCategory.SCIENCE:
            last_calib = max(position[c.pk] for c in batch_abs.filter(category=AbCategory.CALIB))
            assert position[ab.pk] > last_calib
    assert Batch.objects.get(pk=result.batch.pk).status == BatchStatus.FINISHED
    # each attempt records the engine that ran it, the recipe's process and a clean work dir
    attempts = AbAttempt.objects.filter(ab__batch=result.batch)
    assert set(attempts.values_list("engine", "status", "work_dir_removed")) == {
        (naco.engine, AttemptStatus.SUCCESS, True)}  # fmt: skip
    assert not attempts.filter(pid__isnull=True).exists()
    assert not [a.work_dir for a in attempts if Path(a.work_dir).exists()]


def test_a_success_releases_its_dependants_waiting_in_another_batch(naco):
    """A child launched (-a) while its parent runs in an earlier batch waits pending in its
    own batch; the parent's success queues it — its batch's CALIB part is not the parent's
    — and the child's batch closes with the child, no reaper involved."""
    complete = AssociationBlock.objects.exclude(completeness=Completeness.INCOMPLETE)
    child = next(ab for ab in complete if ab.depends_on.count() == 1
                 and not ab.depends_on.get().depends_on.exists())  # fmt: skip
    parent = child.depends_on.get()
    first = actions.launch(naco, Scope.for_date(parent.night), ab_name=parent.ab_name)
    assert first.batch.abs.get().pk == parent.pk
    second = actions.launch(naco, Scope.for_date(child.night), ab_name=child.ab_name)
    child.refresh_from_db()
    assert not second.skipped, second.skipped
    assert (child.batch_id, child.status) == (second.batch.pk, AbStatus.PENDING)
    process_ab(parent.pk)
    child.refresh_from_db()
    assert child.status == AbStatus.QUEUED, child.error
    process_ab(child.pk)
    assert set(Batch.objects.filter(pk__in=[first.batch.pk, second.batch.pk])
               .values_list("status", flat=True)) == {BatchStatus.FINISHED}  # fmt: skip


def test_products_have_the_expected_categories_and_masters_feed_the_science(naco):
    actions.launch(naco, MONTH, process=True)
    drive()
    for ab in AssociationBlock.objects.filter(status=AbStatus.SUCCESS):
        made = set(ab.products.values_list("pro_catg", flat=True))
        expected = {p["pro_catg"] for p in ab.products_expected}
        assert made and made <= expected, (ab.ab_name, made, expected)
        for product in ab.products.all():
            assert Path(product.path).is_file()
            assert product.keywords["PRO.CATG"] == product.pro_catg
            assert product.provenance["raw"], f"{product.name} names no raw input"
        attempt = AbAttempt.objects.get(ab=ab)
        assert attempt.status == AttemptStatus.SUCCESS and attempt.work_dir_removed
        assert not Path(attempt.work_dir).exists()
        assert Path(attempt.log_path).is_file() and ab.log_path == attempt.log_path
        assert ab.host and ab.worker and ab.exec_seconds is not None
    science = AssociationBlock.objects.filter(category=AbCategory.SCIENCE, status=AbStatus.SUCCESS)
    assert science.exists()
    for ab in science:
        sof = sof_copy(AbAttempt.objects.get(ab=ab)).read_text().splitlines()
        for cal in ab.calibrations.filter(source_ab__isnull=False):
            master = Product.objects.get(ab=cal.source_ab, pro_catg=cal.pro_catg)
            assert f"{master.path} {cal.tag}" in sof, f"{ab}: {master.name} ({cal.tag}) not used"
        coadd = ab.products.get(pro_catg="COADDED_IMG")
        used = {Path(entry["name"]).name for entry in coadd.provenance["cal"]}
        flat = Product.objects.get(ab__in=ab.depends_on.all(), pro_catg="MASTER_IMG_FLAT")
        assert flat.name in used, f"{coadd.name} does not name {flat.name} as its flat"


def test_a_failed_parent_marks_its_dependants_upstream_failed(naco):
    result = actions.launch(naco, MONTH, process=True)
    dark = next(ab for ab in launched(result).filter(raw_type="DARK") if ab.dependants.exists())
    victim = dark.inputs.first().frame
    Path(victim.path).unlink()
    drive()
    dark.refresh_from_db()
    assert dark.status == AbStatus.FAILED
    assert f"input file {victim.path} (" in dark.error and "does not exist" in dark.error
    for child in dark.dependants.all():
        assert child.status == AbStatus.UPSTREAM_FAILED
        assert dark.ab_name in child.error
    attempt = AbAttempt.objects.get(ab=dark)
    assert attempt.status == AttemptStatus.FAILED
    assert Path(attempt.work_dir).is_dir(), "a failed attempt keeps its work directory"
    assert Batch.objects.get(pk=result.batch.pk).status == BatchStatus.FINISHED


def test_a_recipe_that_fails_is_reported_with_its_log(naco):
    result = actions.launch(naco, MONTH, process=True)
    dark = launched(result).filter(raw_type="DARK").first()
    Path(dark.inputs.first().frame.path).write_bytes(b"SIMPLE  = this is not a FITS file")
    drive()
    dark.refresh_from_db()
    assert dark.status == AbStatus.FAILED
    assert dark.recipe in dark.error and "status" in dark.error
    assert Path(dark.log_path).stat().st_size > 0


def test_a_duplicate_delivery_does_nothing(naco):
    result = actions.launch(naco, MONTH, process=True)
    ab = launched(result).filter(status=AbStatus.QUEUED).first()
    first = process_ab(ab.pk)
    second = process_ab(ab.pk)
    assert "success" in first
    assert "nothing to do" in second
    assert AbAttempt.objects.filter(ab=ab).count() == 1
    assert Product.objects.filter(ab=ab).count() == len(set(ab.products.values_list("name", flat=True)))


@pytest.mark.parametrize("naco", ["python"], indirect=True)
def test_the_zygote_starts_before_the_claim_not_on_the_lease(naco):
    """Its start (numpy, astropy imported) takes seconds on a loaded machine, while nothing
    renews the lease yet: a short lease expired under it (CI, tests/test_fault.py)."""
    old = Zygote._current
    if old is not None:
        old.close()
    Zygote._current = None
    ab = launched(actions.launch(naco, MONTH, process=True)).filter(status=AbStatus.QUEUED).first()
    assert "success" in process_ab(ab.pk)
    attempt = AbAttempt.objects.get(ab=ab)
    assert Zygote._current.ready_at <= attempt.started_at.timestamp()


def test_launching_twice_processes_nothing_twice(naco):
    first = actions.launch(naco, MONTH, process=True)
    drive()
    again = actions.launch(naco, MONTH, process=True)
    assert again.pending == [] and again.queued == []
    assert len(again.skipped) == len(first.pending) + len(first.skipped)
    assert Batch.objects.get(pk=again.batch.pk).status == BatchStatus.FINISHED
    assert not AbAttempt.objects.filter(number__gt=1).exists()


@pytest.mark.parametrize("naco", ["python"], indirect=True)
def test_two_launches_of_overlapping_scopes_at_once_take_each_ab_once(naco, transactional_db,
                                                                      monkeypatch):
    """The month and its night launched at the same moment, both having read their ABs as
    startable before either takes them: the lock-then-UPDATE of the launch gives every AB to
    one batch and hands it to django-q2 once."""
    both_read = threading.Barrier(2, timeout=60)
    blocked = actions._blocked

    def read_then_wait(*args):  # both launches have read the graph before either takes an AB
        found = blocked(*args)
        both_read.wait()
        return found

    monkeypatch.setattr(actions, "_blocked", read_then_wait)
    results, errors = [], []

    def launch(scope):
        try:
            results.append(actions.launch(naco, scope, process=True, actor_name="race"))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=launch, args=(scope,))
               for scope in (MONTH, Scope.for_date(FIRST_NIGHT.isoformat()))]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    taken = [set(result.pending) for result in results]
    assert taken[0].isdisjoint(taken[1]), taken[0] & taken[1]
    startable = AssociationBlock.objects.filter(instance=naco).exclude(
        completeness=Completeness.INCOMPLETE)  # fmt: skip
    assert taken[0] | taken[1] == set(startable.values_list("ab_name", flat=True))
    for result, names in zip(results, taken):
        assert set(startable.filter(batch=result.batch).values_list("ab_name", flat=True)) == names
    tasks = Counter(task.task["args"][0] for task in OrmQ.objects.filter(key=Conf.CLUSTER_NAME)
                    if task.task["func"] == PROCESS_AB_TASK)  # fmt: skip
    queued = AssociationBlock.objects.filter(status=AbStatus.QUEUED).values_list("pk", flat=True)
    assert tasks == Counter(queued), "each queued AB is handed to django-q2 exactly once"
    assert queued


def test_incomplete_abs_are_not_processed_and_say_why(naco):
    result = actions.launch(naco, MONTH, process=True)
    incomplete = AssociationBlock.objects.filter(completeness=Completeness.INCOMPLETE)
    skipped = dict(result.skipped)
    for ab in incomplete:
        assert ab.status == AbStatus.CREATED
        assert skipped[ab.ab_name].startswith("INCOMPLETE: ")


def test_cancel_takes_queued_and_pending_abs_and_their_dependants(naco):
    result = actions.launch(naco, MONTH, process=True)
    calib = launched(result).filter(status=AbStatus.QUEUED, dependants__isnull=False).first()
    cancelled, stopping = actions.cancel([calib], actor_name="test")
    assert cancelled == [calib.ab_name] and stopping == []
    calib.refresh_from_db()
    assert calib.status == AbStatus.CANCELLED
    for child in calib.dependants.all():
        assert child.status == AbStatus.UPSTREAM_FAILED and "cancelled" in child.error
    assert "nothing to do" in process_ab(calib.pk)

    actions.cancel_batch(result.batch, actor_name="test")
    assert not launched(result).filter(status__in=("pending", "queued")).exists()
    assert Batch.objects.get(pk=result.batch.pk).status == BatchStatus.CANCELLED


def test_rerun_with_dependants_replaces_the_products(naco):
    actions.launch(naco, MONTH, process=True)
    drive()
    dark = next(ab for ab in AssociationBlock.objects.filter(raw_type="DARK", status="success")
                if ab.dependants.exists())  # fmt: skip
    old_paths = set(Product.objects.filter(ab=dark).values_list("path", flat=True))
    subtree = {dark.pk} | set(dark.dependants.values_list("pk", flat=True))
    batch = actions.rerun_with_dependants(dark, actor_name="test")
    assert set(AssociationBlock.objects.filter(batch=batch).values_list("pk", flat=True)) >= subtree
    assert AssociationBlock.objects.get(pk=dark.pk).status == AbStatus.QUEUED
    drive()
    for pk in subtree:
        ab = AssociationBlock.objects.get(pk=pk)
        assert ab.status == AbStatus.SUCCESS and ab.attempts == 2
    new_paths = set(Product.objects.filter(ab=dark).values_list("path", flat=True))
    assert new_paths and not new_paths & old_paths
    assert not any(Path(p).exists() for p in old_paths), "replaced products were left on disk"
    stale = AssociationBlock.objects.get(pk=dark.pk)  # read as success (a page shown earlier)
    AssociationBlock.objects.filter(pk=dark.pk).update(status=AbStatus.RUNNING)
    batches = Batch.objects.count()
    with pytest.raises(actions.ActionError, match="still pending, queued or running"):
        actions.rerun_with_dependants(stale)
    assert Batch.objects.count() == batches, "a refused re-run leaves no batch behind"


def taken_by_a_worker_that_dies(ab):
    """Claim `ab` and record its attempt, as process_ab does before its recipe starts."""
    from processing.queue.attempt import claim

    token = claim(ab.pk)
    ab.refresh_from_db()
    AbAttempt.objects.create(ab=ab, number=ab.attempts, token=token, engine="python",
                             host="h", worker="w", started_at=timezone.now(),
                             heartbeat_at=timezone.now(), work_dir="/nonexistent",
                             log_path="/nonexistent")  # fmt: skip


def test_the_reaper_requeues_an_ab_whose_worker_died(naco, settings):
    settings.PHOENIX_MAX_ATTEMPTS = 2
    result = actions.launch(naco, MONTH, process=True)
    ab = launched(result).filter(status=AbStatus.QUEUED).first()
    taken_by_a_worker_that_dies(ab)
    assert not reap().requeued, "a lease that has not expired is left alone"
    later = timezone.now() + timedelta(seconds=settings.PHOENIX_LEASE_SECONDS + 1)
    reaped = reap(now=later)  # … and died
    assert reaped.requeued == [ab.ab_name]
    ab.refresh_from_db()
    assert ab.status == AbStatus.QUEUED and "lost" in ab.error and ab.lease_token == ""
    assert AbAttempt.objects.get(ab=ab, number=1).status == AttemptStatus.LOST
    assert "success" in process_ab(ab.pk)
    assert AbAttempt.objects.get(ab=ab, number=2).status == AttemptStatus.SUCCESS

    other = launched(result).filter(status=AbStatus.QUEUED).first()
    for _ in range(2):
        taken_by_a_worker_that_dies(other)
        reap(now=timezone.now() + timedelta(seconds=settings.PHOENIX_LEASE_SECONDS + 1))
    other.refresh_from_db()
    assert other.status == AbStatus.FAILED and "gave up after 2 attempts in batch" in other.error


def test_the_attempt_cap_counts_the_attempts_of_this_launch_not_of_the_abs_life(naco, settings):
    """An AB re-run as often as PHOENIX_MAX_ATTEMPTS is still retried once when its worker
    dies in the next launch."""
    settings.PHOENIX_MAX_ATTEMPTS = 2
    result = actions.launch(naco, MONTH, process=True)
    ab = launched(result).filter(status=AbStatus.QUEUED).first()
    for _ in range(2):
        drive()
        ab.refresh_from_db()
        actions.rerun_with_dependants(ab, actor_name="test")
    ab.refresh_from_db()
    assert ab.status == AbStatus.QUEUED and ab.attempts == 2
    taken_by_a_worker_that_dies(ab)
    reaped = reap(now=timezone.now() + timedelta(seconds=settings.PHOENIX_LEASE_SECONDS + 1))
    ab.refresh_from_db()
    assert reaped.requeued == [ab.ab_name] and ab.status == AbStatus.QUEUED, ab.error
    assert ab.attempts == 3


def test_the_reaper_clears_stale_work_directories(naco, settings, data_root):
    settings.PHOENIX_WORK_KEEP_DAYS = 0
    result = actions.launch(naco, MONTH, process=True)
    dark = launched(result).filter(raw_type="DARK").first()
    Path(dark.inputs.first().frame.path).unlink()
    drive()
    attempt = AbAttempt.objects.get(ab=dark)
    assert Path(attempt.work_dir).is_dir()
    orphan = data_root / "work" / "NOT_AN_AB" / "1"
    orphan.mkdir(parents=True)
    os.utime(orphan, (0, 0))
    removed = reap(now=timezone.now() + timedelta(seconds=1)).work_dirs_removed
    assert attempt.work_dir in removed and str(orphan) in removed
    assert not Path(attempt.work_dir).exists() and not orphan.exists()
    assert AbAttempt.objects.get(pk=attempt.pk).work_dir_removed


def test_cancelling_the_last_calib_ab_opens_the_science_part(naco):
    """COMPLETE_MODE holds SCIENCE until the CALIB part ended: a cancel that ends it must
    release the SCIENCE ABs that do not depend on the cancelled one."""
    result = actions.launch(naco, MONTH, process=True)
    science = launched(result).filter(category=AbCategory.SCIENCE)
    last = next(ab for ab in launched(result).filter(category=AbCategory.CALIB,
                                                     status=AbStatus.QUEUED)
                if not ab.dependants.filter(category=AbCategory.CALIB).exists()
                and science.exclude(depends_on=ab).exists())  # fmt: skip
    while True:  # the rest of the CALIB part, as a worker would run it
        others = launched(result).filter(category=AbCategory.CALIB, status=AbStatus.QUEUED)
        others = list(others.exclude(pk=last.pk).values_list("pk", flat=True))
        if not others:
            break
        for pk in others:
            process_ab(pk)
    assert not science.filter(status=AbStatus.QUEUED).exists()
    actions.cancel([last], actor_name="test")
    free = science.exclude(depends_on=last)
    assert free.exists() and set(free.values_list("status", flat=True)) == {AbStatus.QUEUED}
    assert set(science.filter(depends_on=last).values_list("status", flat=True)) <= {
        AbStatus.UPSTREAM_FAILED}


def test_the_reaper_releases_abs_stranded_by_a_worker_that_died_after_its_commit(naco):
    """The release of dependants runs after an AB's success committed; a worker killed in
    between leaves them pending: the reaper (and phoenix --wait, which runs it) queues them."""
    result = actions.launch(naco, MONTH, process=True)
    calib = launched(result).filter(category=AbCategory.CALIB)
    science = launched(result).filter(category=AbCategory.SCIENCE)
    while calib.filter(status=AbStatus.QUEUED).exists():
        for ab in calib.filter(status=AbStatus.QUEUED).exclude(
                dependants__category=AbCategory.SCIENCE):  # fmt: skip
            process_ab(ab.pk)
        # the CALIB ABs the science needs "succeed" without their release, as after a kill
        calib.filter(status=AbStatus.QUEUED, dependants__category=AbCategory.SCIENCE).update(
            status=AbStatus.SUCCESS)  # fmt: skip
    assert set(science.values_list("status", flat=True)) == {AbStatus.PENDING}
    released = reap().released
    assert sorted(released) == sorted(science.values_list("ab_name", flat=True))
    assert set(science.values_list("status", flat=True)) == {AbStatus.QUEUED}
    assert not reap().released, "released once"
    drive()
    assert Batch.objects.get(pk=result.batch.pk).status == BatchStatus.FINISHED
