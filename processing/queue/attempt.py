"""processAB: one attempt at an AB, from the claim to products registered (or the failure).

django-q2 delivers at least once, so the task starts by claiming the AB with a conditional
UPDATE (queued → running, with a fresh lease token); a second delivery finds nothing to
claim and returns. While the recipe runs, the worker renews the lease every
PHOENIX_HEARTBEAT_SECONDS and looks for a cancel request. The outcome is written only while
the AB still carries this attempt's token: an attempt whose lease the reaper took away (its
worker was presumed dead) cannot overwrite the attempt that replaced it. Products move from
the work directory to their own per-attempt directory before the database says "success",
so a crash between the two leaves an orphan directory, never a product row without a file.
"""

import logging
import os
import shutil
import uuid
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from processing import layout
from processing.choices import (
    AbCategory,
    AbStatus,
    AttemptStatus,
    ProductKind,
    QcStatus,
)
from processing.engine import RecipeCall, RecipeOutcome, engine_for
from processing.engine.products import collect_products
from processing.engine.runner import supervise
from processing.models import AbAttempt, AssociationBlock, Product
from processing.queue import schedule
from processing.queue.qc_job import enqueue_qc
from processing.queue.sof import SofError, sof_entries

log = logging.getLogger(__name__)

#: a recipe must end this many seconds before django-q2's own task timeout kills the worker
Q_TIMEOUT_MARGIN = 30
#: a cancel reaches a running recipe within this many seconds
CANCEL_CHECK_SECONDS = 2


def worker_identity():
    """(host, worker) recorded on the AB and its attempt: which machine, which process."""
    cluster = settings.Q_CLUSTER.get("name", "phoenix")
    return settings.PHOENIX_HOST_NAME, f"{cluster}:{os.getpid()}"


def lease_until():
    return timezone.now() + timedelta(seconds=settings.PHOENIX_LEASE_SECONDS)


def claim(ab_id, ab=None):
    """Take a queued AB for a new attempt; return the token, or None if there is nothing to
    take (another delivery has it, it was cancelled, or it is not queued any more).

    Given `ab`, the row as process_ab read it, the claim holds only if no attempt began since
    that read; the same UPDATE then records the new attempt's log path, and `ab.attempts`
    becomes the new attempt's number.
    """
    host, worker = worker_identity()
    token = uuid.uuid4().hex
    now = timezone.now()
    queued = AssociationBlock.objects.filter(pk=ab_id, status=AbStatus.QUEUED,
                                             cancel_requested=False)  # fmt: skip
    number = F("attempts") + 1
    extra = {}
    if ab is not None:
        queued = queued.filter(attempts=ab.attempts)
        number = ab.attempts + 1
        extra["log_path"] = str(layout.attempt_log(ab.pseudo_date, ab.ab_name, number))
    taken = queued.update(
        status=AbStatus.RUNNING, attempts=number, lease_token=token,
        lease_expires_at=lease_until(), started_at=now, finished_at=None, exec_seconds=None,
        host=host, worker=worker, error="", qc_status=QcStatus.NONE, qc_score=None,
        auto_certify_proposed=False, **extra,
    )  # fmt: skip
    if not taken:
        return None
    if ab is not None:
        ab.attempts = number
    return token


def holds_lease(ab_id, token):
    return AssociationBlock.objects.filter(pk=ab_id, lease_token=token, status=AbStatus.RUNNING)


#: what an attempt reads of its AB and instance: not their big JSON and text fields (the
#: instance's rules and configuration text, the AB's match keys and missing list)
ATTEMPT_FIELDS = (
    "id", "instance", "batch", "ab_name", "category", "night", "run_id", "recipe", "parameters",
    "products_expected", "mjd_obs", "attempts", "instance__engine", "instance__config",
)  # fmt: skip

NOTHING_TO_DO = "AB {}: nothing to do (not queued, or taken by another delivery)"


def process_ab(ab_id):
    """Run one attempt at AB `ab_id` if it can be claimed. Returns a short text of what
    happened (the django-q2 result), never raises for a recipe's failure."""
    try:
        ab = (AssociationBlock.objects.select_related("instance").only(*ATTEMPT_FIELDS)
              .get(pk=ab_id, status=AbStatus.QUEUED, cancel_requested=False))  # fmt: skip
    except AssociationBlock.DoesNotExist:
        return NOTHING_TO_DO.format(ab_id)
    engine = _prepare_engine(ab)
    # The claim and its attempt row commit together: a worker killed in between must not
    # leave an attempt that the reaper cannot mark lost (tests/test_fault.py, "claim" kills).
    with transaction.atomic():
        token = claim(ab_id, ab)
        if token is None:
            return NOTHING_TO_DO.format(ab_id)
        host, worker = worker_identity()
        now = timezone.now()
        attempt = AbAttempt.objects.create(
            ab=ab, number=ab.attempts, token=token, host=host,
            engine=engine.name if engine else ab.instance.engine,
            worker=worker, started_at=now, heartbeat_at=now,
            work_dir=str(layout.work_dir(ab.ab_name, ab.attempts)),
            log_path=str(layout.attempt_log(ab.pseudo_date, ab.ab_name, ab.attempts)),
        )  # fmt: skip
    try:
        outcome = _run(ab, attempt, token, engine)
    except Exception as exc:  # a bug or a broken file system: the AB fails, visibly
        log.exception("AB %s attempt %s", ab.ab_name, attempt.number)
        outcome = RecipeOutcome(exit_status=None, error=f"{type(exc).__name__}: {exc}")
    return _finish(ab, attempt, token, outcome)


def _prepare_engine(ab):
    """The engine that will run the AB's recipe, its slow set-up (the python engine's zygote
    start, the recipe's imports) done before the claim, not on the lease: the heartbeat
    starts only with the recipe. None if that failed: _run meets the trouble again inside
    the attempt, and the AB fails with its reason."""
    try:
        engine = engine_for(ab.instance.engine, ab.recipe)
        engine.prepare(ab.recipe)
    except Exception:
        log.exception("AB %s: preparing its recipe engine", ab.ab_name)
        return None
    return engine


def _run(ab, attempt, token, engine):
    work = Path(attempt.work_dir)
    if work.exists():  # left by an attempt of the same number that never registered
        shutil.rmtree(work)
    work.mkdir(parents=True)
    try:
        sof = sof_entries(ab)
    except SofError as exc:
        return RecipeOutcome(exit_status=None, error=str(exc))
    engine = engine or engine_for(ab.instance.engine, ab.recipe)
    known, why = engine.knows(ab.recipe)
    if not known:
        return RecipeOutcome(exit_status=None, error=why)
    call = RecipeCall(recipe=ab.recipe, sof=sof, parameters=list(ab.parameters or []),
                      work_dir=work, log_path=Path(attempt.log_path),
                      timeout=_timeout(ab))  # fmt: skip
    process = engine.start(call)
    shutil.copyfile(call.sof_path, sof_copy(attempt))  # what exactly ran, after the cleanup
    changed = {"pid": process.pid}
    if attempt.engine != engine.name:  # the prepared engine failed; this one says why
        changed["engine"] = engine.name
    AbAttempt.objects.filter(pk=attempt.pk).update(**changed)

    def on_tick():
        now = timezone.now()
        renewed = holds_lease(ab.pk, token).filter(cancel_requested=False).update(
            lease_expires_at=lease_until()
        )
        if renewed:
            AbAttempt.objects.filter(pk=attempt.pk).update(heartbeat_at=now)
            return None
        return "cancel" if holds_lease(ab.pk, token).exists() else "lost"

    outcome = supervise(process, call, on_tick=on_tick, tick_every=min(settings.PHOENIX_HEARTBEAT_SECONDS, CANCEL_CHECK_SECONDS))
    if outcome.ok:
        outcome.products, warnings = collect_products(work)
        if warnings:
            with open(call.log_path, "a") as handle:
                handle.write("".join(f"[phoenix] {w}\n" for w in warnings))
        expected = {p.get("pro_catg") for p in ab.products_expected or [] if p.get("pro_catg")}
        made = {p.pro_catg for p in outcome.products}
        if expected and not made & expected:
            outcome.error = (f"{ab.recipe} ended with status 0 but wrote none of the expected "
                             f"products ({', '.join(sorted(expected))})")  # fmt: skip
    return outcome


def sof_copy(attempt):
    """The SOF of an attempt, kept beside its log (the work directory goes after success)."""
    return Path(attempt.log_path).with_suffix(".sof")


def _timeout(ab):
    processing = (ab.instance.config or {}).get("processing", {})
    seconds = (processing.get("timeouts") or {}).get(ab.recipe) or processing.get("recipe_timeout", 3600)
    return float(min(seconds, settings.Q_TIMEOUT - Q_TIMEOUT_MARGIN))


def _finish(ab, attempt, token, outcome):
    if outcome.lost_lease:
        _close_attempt(attempt, AttemptStatus.SUPERSEDED, outcome)
        return f"{ab.ab_name}: attempt {attempt.number} lost its lease; result discarded"
    if outcome.ok:
        return _succeed(ab, attempt, token, outcome)
    return _fail(ab, attempt, token, outcome)


def _close_attempt(attempt, status, outcome, **extra):
    AbAttempt.objects.filter(pk=attempt.pk).update(
        status=status, finished_at=timezone.now(), exit_status=outcome.exit_status,
        error=outcome.error, **extra,
    )  # fmt: skip


def _succeed(ab, attempt, token, outcome):
    destination = layout.product_dir(ab.category, ab.pseudo_date, ab.ab_name, attempt.number)
    moved = _move_products(outcome.products, destination)
    with transaction.atomic():
        done = holds_lease(ab.pk, token).update(
            status=AbStatus.SUCCESS, finished_at=timezone.now(), exec_seconds=outcome.seconds,
            lease_token="", lease_expires_at=None, error="",
            qc_status=QcStatus.QUEUED if moved else QcStatus.SKIPPED,
            # new products need a new verdict (and a new move)
            certification="", certified_at=None, moved_at=None,
        )  # fmt: skip
        if not done:
            transaction.set_rollback(True)
        else:
            if attempt.number > 1:  # products of an earlier attempt, not certified (moved)
                Product.objects.filter(ab=ab, state__in=("virtual", "rejected")).delete()
            Product.objects.bulk_create([_product_row(ab, product) for product in moved])
            _close_attempt(attempt, AttemptStatus.SUCCESS, outcome)
            if moved:
                schedule.send(lambda: enqueue_qc(ab.pk))
    if not done:
        shutil.rmtree(destination, ignore_errors=True)
        _close_attempt(attempt, AttemptStatus.SUPERSEDED, outcome)
        return f"{ab.ab_name}: attempt {attempt.number} lost its lease; result discarded"
    schedule.after_success(ab)  # after the commit, not inside it: see there
    # work_dir_removed marks the end of this clean-up: for a worker that dies before it, the
    # reaper finishes the clean-up (reaper._finish_cleanups).
    shutil.rmtree(attempt.work_dir, ignore_errors=True)
    _remove_other_attempts_products(ab, destination)
    AbAttempt.objects.filter(pk=attempt.pk).update(work_dir_removed=True)
    return f"{ab.ab_name}: success ({len(moved)} products, {outcome.seconds:.1f} s)"


def _fail(ab, attempt, token, outcome):
    status = (AttemptStatus.TIMEOUT if outcome.timed_out else
              AttemptStatus.CANCELLED if outcome.cancelled else AttemptStatus.FAILED)  # fmt: skip
    ab_status = AbStatus.CANCELLED if outcome.cancelled else AbStatus.FAILED
    error = outcome.error or "the recipe failed"
    with transaction.atomic():
        done = holds_lease(ab.pk, token).update(
            status=ab_status, finished_at=timezone.now(), exec_seconds=outcome.seconds,
            lease_token="", lease_expires_at=None, error=error,
        )  # fmt: skip
        _close_attempt(attempt, status if done else AttemptStatus.SUPERSEDED, outcome)
    if done:  # after the commit: see schedule.after_success
        schedule.after_failure(ab, "was cancelled" if outcome.cancelled else "failed")
    return f"{ab.ab_name}: {ab_status} ({error}); work directory kept: {attempt.work_dir}"


def _move_products(products, destination):
    """Move the products into `destination` (same file system: rename; else copy, then
    rename), returning them with their new paths."""
    if not products:
        return []
    staging = destination.with_name(f".{destination.name}.{uuid.uuid4().hex[:8]}")
    staging.mkdir(parents=True)
    for product in products:
        target = staging / product.path.name
        try:
            os.replace(product.path, target)
        except OSError:
            shutil.copy2(product.path, target)
    if destination.exists():
        shutil.rmtree(destination)
    os.replace(staging, destination)
    for product in products:
        product.path = destination / product.path.name
    return products


def _product_row(ab, product):
    kind = ProductKind.MASTER if ab.category == AbCategory.CALIB else ProductKind.SCIENCE
    keywords = product.keywords
    return Product(
        instance_id=ab.instance_id, ab=ab, name=product.path.name, path=str(product.path),
        pro_catg=product.pro_catg, kind=kind, night=ab.night,
        mjd_obs=keywords.get("MJD-OBS") if isinstance(keywords.get("MJD-OBS"), float) else ab.mjd_obs,
        keywords=keywords, provenance=product.provenance, size=product.path.stat().st_size,
    )  # fmt: skip


def _remove_other_attempts_products(ab, destination):
    """Product directories of earlier or lost attempts of this AB that no product row uses
    any more (replaced by this success, or left by a worker that died before registering)."""
    parent = destination.parent
    others = [d for d in parent.iterdir() if d != destination] if parent.is_dir() else []
    if not others:  # the usual first attempt: no need to ask the database
        return
    used = {Path(p).parent for p in Product.objects.filter(ab=ab).order_by()
            .values_list("path", flat=True)}  # fmt: skip
    for sibling in others:
        if sibling not in used:
            shutil.rmtree(sibling, ignore_errors=True)
