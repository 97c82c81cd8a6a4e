"""Fault run: a batch of ABs through a real django-q2 cluster whose workers get SIGKILLed.

    .venv/bin/python benchmarks/fault_run.py [--abs 300] [--kills 10] [--workers 2]
        [--database sqlite|postgres|postgres://…/NAME] [--seconds 0.3] [--lease 4]
        [--heartbeat 1] [--max-attempts 10] [--duplicate] [--seed N] [--timeout S] [--keep]

It makes its own database (a temporary SQLite file, or the PostgreSQL database
phoenix_fault_run on 127.0.0.1, dropped and re-created) and data root, loads the NACO instance
(engine python), creates --abs ABs of the diagnostic recipe phoenix_wait (--seconds each, one
FAULT_PRODUCT product), launches them with processing.queue.actions.launch, starts
`manage.py qcluster` with --workers workers and a short lease, and SIGKILLs a worker --kills
times at random moments while running the reaper itself every second (the cluster's own
schedule fires only once a minute). With --duplicate every AB's task is also delivered a
second time on purpose. Then it checks the outcome and prints it (JSON on the last line):

- every AB ended `success`, with exactly one successful attempt;
- exactly one Product row and one product file per AB, the file the row names; no other
  product file, no orphan per-attempt product directory or staging directory;
- no AB and no attempt left `running`; the attempt of every killed worker is `lost`.

Exit status 0 when every check holds, 1 otherwise (kills planned after the batch's end are
reported, not counted as a failure).

The functions here (make_abs, Killer, run_scenario, check_outcome) are also what
tests/test_fault.py runs, on the pytest-django test database.

Which processes are killed: only django-q2 *workers*, and only while they run a recipe. A
worker is recognised by the AB rows: a running AB's `worker` field is "<cluster>:<pid>" of the
worker that claimed it; the pid must also be a child of the cluster's sentinel (so never the
monitor, the pusher or the sentinel), and its recipe is found as the descendant that leads a
process group of its own (`recipes_of`: a child of the worker's zygote). Killing a
worker while it waits on django-q2's internal task queue is a different fault: it holds the
multiprocessing.Queue read lock then, and dying with it blocks every other worker of the
cluster for good (a property of multiprocessing, not of Phoenix); this run does not test that.
"""

import argparse
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FAULT_CATG = "FAULT_PRODUCT"
NIGHT = date(2009, 6, 15)
#: BROWSER_PATH that names no browser: QC plots without kaleido's Chrome rendering
NO_BROWSER = "/nonexistent/no-browser"
RECIPE_PRODUCT_KINDS = ("master", "science")
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/phoenix_fault_run"


# --- the scenario (used by tests/test_fault.py too) -----------------------------------------


def wait_parameters(seconds, catg=FAULT_CATG):
    return [f"--seconds={seconds:g}", f"--write={catg}"]


def make_abs(instance, count, *, night=NIGHT, seconds=0.3, recipe="phoenix_wait",
             parameters=None, catg=FAULT_CATG, prefix="FAULT"):  # fmt: skip
    """`count` SCIENCE ABs of `instance` on `night`, without inputs or dependencies, running
    `recipe` (phoenix_wait --seconds --write=catg by default). Returns their ids."""
    from processing.choices import AbCategory
    from processing.conventions import datetime_to_mjd
    from processing.models import AssociationBlock

    if parameters is None:
        parameters = wait_parameters(seconds, catg)
    expected = [{"name": "p", "pro_catg": catg}] if catg else []
    start = datetime_to_mjd(datetime(night.year, night.month, night.day, 23, 0))
    rows = []
    for i in range(count):
        name = f"{prefix}.{night.isoformat()}T{i:05d}.ab"
        mjd = start + i / 86400.0
        rows.append(AssociationBlock(
            instance=instance, ab_name=name, batch_label=f"SCIENCE_{night.isoformat()}",
            category=AbCategory.SCIENCE, night=night, raw_type="FAULT", action="fault",
            recipe=recipe, parameters=list(parameters), mjd_obs=mjd, mjd_obs_mod=mjd,
            prod_root_name=f"r.{name}", products_expected=expected,
        ))  # fmt: skip
    AssociationBlock.objects.bulk_create(rows, batch_size=500)
    names = [row.ab_name for row in rows]
    return list(AssociationBlock.objects.filter(instance=instance, ab_name__in=names)
                .values_list("pk", flat=True))  # fmt: skip


def children(pid):
    """Pids of the direct children of `pid` (Linux /proc), [] when it is gone."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def recipes_of(worker):
    """Pids of the recipes `worker` runs now: its descendants that lead a process group of
    their own (a Python recipe is a child of the worker's zygote, esorex a child of the
    worker; the zygote stays in the worker's group), zombies left out."""
    found = []
    for child in children(worker):
        for pid in (child, *children(child)):
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
                state, _, group = stat.rpartition(")")[2].split()[:3]
            except (OSError, ValueError):
                continue
            if state != "Z" and int(group) == pid:
                found.append(pid)
    return found


def sentinel_children(cluster):
    """Pids of the processes the cluster's sentinel started: workers, monitor, pusher.

    `manage.py qcluster` (cluster.pid) starts one child, the sentinel; the sentinel starts the
    rest.
    """
    result = []
    for sentinel in children(cluster.pid):
        result += children(sentinel)
    return result


class Killer:
    """SIGKILLs django-q2 workers of `cluster` at `count` random moments, inside AB attempts.

    The moments are drawn in [start, end] seconds from the first call of `tick`, and a mode
    for each among `modes`:

    - "recipe": a worker whose recipe runs;
    - "claim": a worker that has claimed an AB but not yet started its recipe (a few ms);
    - "finish": a worker in the few milliseconds after its recipe ended, while it collects,
      moves and registers the products (killed after the move, it leaves an orphan product
      directory that the AB's next successful attempt must remove);
    - "committed": a worker that has just committed its AB's success but not yet cleaned up
      (its work directory, and the product directories of the AB's earlier attempts; the
      killer makes that clean-up slow, see `_committed`). With
      `double_fault`, while an AB whose earlier attempt was killed after moving its products
      has not succeeded, it waits for that AB: this double fault is what could leave an
      orphan behind a success.

    The victim is first stopped (SIGSTOP) and killed only if the database then shows it inside
    process_ab ("recipe", "claim", "finish": its AB running under it; "committed": its attempt
    succeeded, work directory not yet marked removed) — so it holds none of django-q2's queue
    locks; otherwise it gets SIGCONT and the killer tries again on the next tick.
    """

    MODES = ("recipe", "finish")

    def __init__(self, cluster, count, rng, start, end, modes=MODES, plan=None,
                 double_fault=False, log=print):  # fmt: skip
        self.cluster = cluster
        self.rng = rng
        if plan is not None:  # these modes, in a random order
            count, plan = len(plan), rng.sample(list(plan), len(plan))
        self.moments = sorted(rng.uniform(start, end) for _ in range(count))
        self.plan = plan or [rng.choice(modes) for _ in range(count)]
        self.double_fault = double_fault
        self.log = log
        self.killed = []  # dicts: pid, ab, mode, attempt (number or None), t, ...
        self.targets = set()  # ABs whose killed attempt had moved its products
        self.t0 = None

    @property
    def done(self):
        return not self.moments

    def running(self):
        """{worker pid: AB name} of running ABs claimed by a worker of this cluster."""
        from processing.choices import AbStatus
        from processing.models import AssociationBlock

        # a killed worker stays in /proc (a zombie) until the sentinel notices its death
        ours = set(sentinel_children(self.cluster)) - {kill["pid"] for kill in self.killed}
        rows = AssociationBlock.objects.filter(status=AbStatus.RUNNING).values_list(
            "ab_name", "worker"
        )
        found = {}
        for name, worker in rows:
            _, _, pid = worker.rpartition(":")
            if pid.isdigit() and int(pid) in ours:
                found[int(pid)] = name
        return found

    def tick(self):
        """Do the next due kill if its victim can be found now; a due kill that cannot (a
        double-fault target not running yet) lets the one after it go first."""
        now = time.monotonic()
        if self.t0 is None:
            self.t0 = now
        tried = 0
        for i, moment in enumerate(self.moments):
            if now - self.t0 < moment or tried == 2:
                break
            mode = self.plan[i]
            if mode == "committed" and self.double_fault and self._waiting_targets():
                running = set(self.running().values())
                if not running & self._waiting_targets():
                    continue  # its target has not come back yet: let the next kill go first
            tried += 1
            pid = self._victim(mode)
            if pid is not None and self._kill(pid, mode):
                self.moments.pop(i)
                self.plan.pop(i)
                return pid
        return None

    def _victim(self, mode):
        if mode == "recipe":
            busy = [pid for pid in self.running() if recipes_of(pid)]
            return self.rng.choice(sorted(busy)) if busy else None
        if mode == "claim":
            return self._claimed_not_started()
        if mode == "committed":
            return self._committed()
        return self._recipe_just_ended()

    def _waiting_targets(self):
        """Target ABs (see "committed") not yet succeeded."""
        from processing.choices import AbStatus
        from processing.models import AssociationBlock

        if not self.targets:
            return set()
        done = AssociationBlock.objects.filter(ab_name__in=self.targets, status=AbStatus.SUCCESS)
        return self.targets - set(done.values_list("ab_name", flat=True))

    def _recipe_just_ended(self, only=None, within=2.0):
        """A worker whose recipe just ended (polling /proc every millisecond); only
        among workers running an AB named in `only` if given."""
        deadline = time.monotonic() + within
        had_child, refreshed = set(), 0.0
        candidates = []
        while time.monotonic() < deadline:
            if time.monotonic() - refreshed > 0.05:
                candidates = [pid for pid, name in self.running().items()
                              if only is None or name in only]  # fmt: skip
                refreshed = time.monotonic()
            for pid in candidates:
                if recipes_of(pid):
                    had_child.add(pid)
                elif pid in had_child:
                    return pid
            time.sleep(0.001)
        return None

    def _claimed_not_started(self, within=2.0):
        """A worker that has claimed an AB but not started its recipe yet (a few ms)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for pid in self.running():
                if self._inside("claim", *self._state(pid), pid=pid):
                    return pid
            time.sleep(0.0005)
        return None

    def _state(self, pid):
        """(AB values, its current attempt or None) of the AB last claimed by worker `pid`."""
        from processing.models import AbAttempt, AssociationBlock

        ab = (AssociationBlock.objects.filter(worker__endswith=f":{pid}").order_by("-started_at")
              .values("pk", "ab_name", "status", "attempts", "category", "night", "run_id")
              .first())  # fmt: skip
        if ab is None:
            return None, None
        return ab, AbAttempt.objects.filter(ab_id=ab["pk"], number=ab["attempts"]).first()

    def _inside(self, mode, ab, attempt, pid=None):
        from processing.choices import AbStatus, AttemptStatus

        if ab is None:
            return False
        if mode == "claim":
            return (ab["status"] == AbStatus.RUNNING and (attempt is None or attempt.pid is None)
                    and not recipes_of(pid))  # fmt: skip
        if mode == "committed":
            return (ab["status"] == AbStatus.SUCCESS and attempt is not None
                    and attempt.status == AttemptStatus.SUCCESS
                    and not attempt.work_dir_removed)  # fmt: skip
        return ab["status"] == AbStatus.RUNNING

    def _committed(self, within=3.0):
        """A worker between the commit of its success and the end of its clean-up.

        That window lasts a millisecond or two; to hit it, the killer slows the clean-up down
        as a slow file system would: while the victim's recipe runs, it moves a directory of
        FILLER empty files (made beforehand: creating them takes longer than a recipe) into
        the attempt's work directory, under a name the product collection ignores; the worker
        removes it right after its commit.
        """
        filler = self._filler()
        only = (self._waiting_targets() or None) if self.double_fault else None
        busy = sorted(pid for pid, name in self.running().items()
                      if recipes_of(pid) and (only is None or name in only))  # fmt: skip
        if not busy:
            return None
        pid = self.rng.choice(busy)
        ab, attempt = self._state(pid)
        if attempt is None:
            return None
        target = Path(attempt.work_dir) / "filler"
        try:
            os.rename(filler, target)
        except OSError:  # the attempt ended and removed its directory meanwhile
            return None
        self._ready_filler = None
        if not recipes_of(pid):  # its recipe ended meanwhile: its clean-up may be under way
            return None
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            ab, attempt = self._state(pid)
            if self._inside("committed", ab, attempt):
                return pid
            if ab is None or attempt is None or ab["status"] != "running":
                return None  # missed it (or it failed): try again on the next tick
            time.sleep(0.0005)
        return None

    FILLER = 2000
    _ready_filler = None

    def _filler(self):
        """A directory of FILLER empty files beside the work directories (same file system)."""
        from processing import layout

        if self._ready_filler is None:
            directory = layout.data_root() / f".fault-filler-{os.getpid()}-{len(self.killed)}"
            directory.mkdir(parents=True, exist_ok=True)
            for i in range(self.FILLER):
                (directory / str(i)).touch()
            self._ready_filler = directory
        return self._ready_filler

    def _kill(self, pid, mode):
        try:
            os.kill(pid, signal.SIGSTOP)
        except ProcessLookupError:
            return False
        ab, attempt = self._state(pid)
        if not self._inside(mode, ab, attempt, pid=pid):  # it went on in between: let it go on
            os.kill(pid, signal.SIGCONT)
            return False
        recipe_running = bool(recipes_of(pid))
        moved = self._products_moved(ab)
        os.kill(pid, signal.SIGKILL)
        t = round(time.monotonic() - self.t0, 2)
        if moved and mode == "finish":
            self.targets.add(ab["ab_name"])
        self.killed.append({"pid": pid, "ab": ab["ab_name"], "mode": mode, "t": t,
                            "claimed": ab["attempts"],
                            "attempt": attempt.number if attempt else None,
                            "recipe_running": recipe_running, "products_moved": moved})  # fmt: skip
        where = ("after committing its success" if mode == "committed" else
                 "after its claim, before its recipe" if mode == "claim" else
                 "during its recipe" if recipe_running else
                 "after its recipe, products moved" if moved else "after its recipe")  # fmt: skip
        self.log(f"t={t:6.2f} s  SIGKILL worker {pid} {where}: {ab['ab_name']} attempt "
                 f"{ab['attempts']}{'' if attempt else ' (no attempt row yet)'}")  # fmt: skip
        return True

    @staticmethod
    def _products_moved(ab):
        """Whether the attempt has begun moving its products (its product or staging
        directory exists): killed before the commit, it leaves an orphan directory."""
        from processing import layout

        pseudo = ab["run_id"] or ab["night"].isoformat()
        final = layout.product_dir(ab["category"], pseudo, ab["ab_name"], ab["attempts"])
        return final.exists() or any(final.parent.glob(f".{final.name}.*"))


def abs_finished(batch_id):
    """No AB of the batch pending, queued or running (QC jobs may still run:
    processing.queue.progress.finished waits for those too)."""
    from processing.choices import ACTIVE_STATES
    from processing.models import AssociationBlock

    return not AssociationBlock.objects.filter(batch_id=batch_id, status__in=ACTIVE_STATES).exists()


def run_scenario(instance, ab_ids, cluster, *, kills, rng, duplicate=False, timeout=60.0,
                 kill_window=(1.0, 10.0), modes=Killer.MODES, plan=None, double_fault=False,
                 reap_every=1.0, log=print):  # fmt: skip
    """Launch the ABs' night, deliver every task twice if `duplicate`, kill `kills` workers
    while running the reaper, until the batch ends or `timeout`. Returns a dict of timings,
    the batch and the kills."""
    from django_q.tasks import async_task

    from processing.abs.scope import Scope
    from processing.queue import actions, progress
    from processing.queue.reaper import reap
    from processing.queue.schedule import PROCESS_AB_TASK

    nights = {d.isoformat() for d in instance.abs.filter(pk__in=ab_ids).values_list("night", flat=True)}
    assert len(nights) == 1, nights
    start = time.monotonic()
    launched = actions.launch(instance, Scope.for_date(nights.pop()), process=True)
    batch = launched.batch
    if duplicate:
        for pk in ab_ids:
            async_task(PROCESS_AB_TASK, pk)
    killer = Killer(cluster, kills, rng, *kill_window, modes=modes, plan=plan,
                    double_fault=double_fault, log=log)  # fmt: skip
    last_reap = time.monotonic()
    reaped = 0
    while True:
        killer.tick()
        if time.monotonic() - last_reap >= reap_every:
            reaped += len(reap(clean_work=False).requeued)
            last_reap = time.monotonic()
        if abs_finished(batch.pk) or time.monotonic() - start > timeout:
            break
        if not cluster.alive():
            raise RuntimeError(f"the qcluster process died:\n{cluster.log()[-3000:]}")
        time.sleep(0.05)
    elapsed = time.monotonic() - start
    return {
        "batch": batch.pk,
        "seconds": round(elapsed, 2),
        "finished": abs_finished(batch.pk),
        "kills_planned": len(killer.killed) + len(killer.moments),
        "killed": killer.killed,
        "requeued_by_reaper": reaped,
        "counts": {k: v for k, v in progress.counts([batch.pk]).items() if v},
    }


def finish_cleanups(timeout):
    """Run the reaper's clean-up pass until no successful attempt awaits the end of its
    clean-up (at most `timeout` s); return the work directories it removed."""
    from processing.choices import AttemptStatus
    from processing.models import AbAttempt
    from processing.queue.reaper import reap

    removed, deadline = [], time.monotonic() + timeout
    while True:
        removed += reap().work_dirs_removed
        waiting = AbAttempt.objects.filter(status=AttemptStatus.SUCCESS, work_dir_removed=False)
        if not waiting.exists() or time.monotonic() > deadline:
            return removed
        time.sleep(0.5)


def check_outcome(ab_ids, data_root, kills=()):
    """Every check of the module text; returns {"problems": [...], **figures}.

    `kills` are Killer.killed: the attempt each killed worker was running must be `lost`.
    """
    from processing.choices import AbStatus, AttemptStatus
    from processing.models import AbAttempt, AssociationBlock, Product

    problems = []
    data_root = Path(data_root)
    abs_ = {ab.pk: ab for ab in AssociationBlock.objects.filter(pk__in=ab_ids)}
    statuses = Counter(ab.status for ab in abs_.values())
    if statuses != Counter({AbStatus.SUCCESS: len(ab_ids)}):
        bad = [(ab.ab_name, ab.status, ab.error) for ab in abs_.values()
               if ab.status != AbStatus.SUCCESS]  # fmt: skip
        problems.append(f"AB states {dict(statuses)}; not success: {bad[:5]}")

    attempts = list(AbAttempt.objects.filter(ab_id__in=ab_ids))
    attempt_statuses = Counter(a.status for a in attempts)
    successes = Counter(a.ab_id for a in attempts if a.status == AttemptStatus.SUCCESS)
    not_one = {abs_[pk].ab_name: successes.get(pk, 0) for pk in ab_ids if successes.get(pk, 0) != 1}
    if not_one:
        problems.append(f"ABs without exactly one successful attempt: {dict(list(not_one.items())[:5])}")
    running = [f"{abs_[a.ab_id].ab_name}#{a.number}" for a in attempts
               if a.status == AttemptStatus.RUNNING]  # fmt: skip
    if running:
        problems.append(f"attempts left running: {running[:5]}")
    if any(ab.lease_token or ab.lease_expires_at for ab in abs_.values()):
        problems.append("ABs still holding a lease")

    # The recipe's products (QC adds plot products of its own: not counted here).
    products = list(Product.objects.filter(ab_id__in=ab_ids, kind__in=RECIPE_PRODUCT_KINDS))
    per_ab = Counter(p.ab_id for p in products)
    not_one = {abs_[pk].ab_name: per_ab.get(pk, 0) for pk in ab_ids if per_ab.get(pk, 0) != 1}
    if not_one:
        problems.append(f"ABs without exactly one Product row: {dict(list(not_one.items())[:5])}")
    registered = {Path(p.path) for p in products}
    missing = [str(p) for p in registered if not p.is_file()]
    if missing:
        problems.append(f"Product rows whose file is missing: {missing[:5]}")
    for product in products:  # the row's file is the successful attempt's
        success = [a for a in attempts if a.ab_id == product.ab_id and a.status == AttemptStatus.SUCCESS]
        if success and Path(product.path).parent.name != str(success[0].number):
            problems.append(f"{product.path} is not in the directory of the successful attempt "
                            f"#{success[0].number}")  # fmt: skip
            break

    # Files: every FITS file under the data root outside work/ must be a registered product.
    on_disk = [p for p in data_root.rglob("*") if p.is_file() and p.name.lower().endswith(".fits")
               and "work" not in p.relative_to(data_root).parts[:1]]  # fmt: skip
    extra = sorted(str(p) for p in on_disk if p not in registered)
    if extra:
        problems.append(f"{len(extra)} product files on disk that no Product row names "
                        f"(duplicates or orphans): {extra[:5]}")  # fmt: skip
    # Per-attempt product directories: only the successful attempt's, nothing staged.
    orphans = []
    for ab in abs_.values():
        product_paths = [Path(p.path) for p in products if p.ab_id == ab.pk]
        for parent in {p.parent.parent for p in product_paths}:
            for entry in parent.iterdir():
                if entry not in {p.parent for p in product_paths}:
                    orphans.append(str(entry))
    if orphans:
        problems.append(f"{len(orphans)} orphan per-attempt product directories: {orphans[:5]}")

    by_name = {ab.ab_name: ab.pk for ab in abs_.values()}
    status_of = {(a.ab_id, a.number): a.status for a in attempts}
    not_lost = []
    for kill in kills:
        status = status_of.get((by_name.get(kill["ab"]), kill["claimed"]))
        expected = AttemptStatus.SUCCESS if kill["mode"] == "committed" else AttemptStatus.LOST
        if status != expected:
            not_lost.append(f"{kill['ab']}#{kill['claimed']} (worker {kill['pid']}): "
                            f"{status or 'no attempt row'}")
    if not_lost:
        problems.append(f"attempts of killed workers not 'lost' (or, killed after their "
                        f"commit, not 'success'): {not_lost}")
    qc_states = Counter(ab.qc_status for ab in abs_.values())
    stuck = sorted(ab.ab_name for ab in abs_.values() if ab.qc_status in ("queued", "running"))
    if stuck:
        problems.append(f"{len(stuck)} QC jobs still queued or running: {stuck[:5]}")
    work_left = sorted(str(p) for p in (data_root / "work").glob("*/*")) if (data_root / "work").is_dir() else []
    return {
        "problems": problems,
        "abs": len(ab_ids),
        "ab_states": dict(statuses),
        "attempts": len(attempts),
        "attempt_states": dict(attempt_statuses),
        "products": len(products),
        "product_files": len(on_disk),
        "qc_states": dict(qc_states),
        "work_dirs_left": len(work_left),
    }


# --- the command line -----------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--abs", type=int, default=300, help="ABs in the batch (default 300)")
    parser.add_argument("--kills", type=int, default=10, help="workers SIGKILLed (default 10)")
    parser.add_argument("--workers", type=int, default=2, help="django-q2 workers (default 2)")
    parser.add_argument("--database", default="sqlite",
                        help=f"sqlite (temporary file), postgres ({DEFAULT_POSTGRES}) or a "
                        "postgres://…/NAME URL; that database is dropped and re-created")
    parser.add_argument("--seconds", type=float, default=0.3, help="recipe time per AB")
    parser.add_argument("--lease", type=int, default=4, help="PHOENIX_LEASE_SECONDS")
    parser.add_argument("--heartbeat", type=int, default=1, help="PHOENIX_HEARTBEAT_SECONDS")
    parser.add_argument("--max-attempts", type=int, default=10, help="PHOENIX_MAX_ATTEMPTS")
    parser.add_argument("--modes", default="recipe,claim,finish,committed",
                        help="kill modes to draw from: recipe, claim, finish, committed (see Killer)")
    parser.add_argument("--double-fault", action="store_true",
                        help="committed kills wait for ABs whose earlier attempt was killed "
                        "after moving its products")
    parser.add_argument("--duplicate", action="store_true",
                        help="also deliver every AB's task a second time")
    parser.add_argument("--seed", type=int, help="random seed (default: drawn, and printed)")
    parser.add_argument("--timeout", type=float, help="give up after S seconds (default: "
                        "estimated run time × 3 + lease × kills + 60)")
    parser.add_argument("--no-browser", action="store_true",
                        help="QC jobs without Chrome (BROWSER_PATH=/nonexistent): no kaleido "
                        "PNG, which costs seconds per AB")
    parser.add_argument("--qc-timeout", type=float, default=60,
                        help="seconds to wait for the QC jobs after the ABs ended (default 60)")
    parser.add_argument("--keep", action="store_true", help="keep the database and data root")
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not modes or set(modes) - {"recipe", "claim", "finish", "committed"}:
        parser.error(f"--modes {args.modes!r}: choose among recipe, claim, finish, committed")
    if args.lease < 2 * args.heartbeat:
        parser.error("--lease must be at least twice --heartbeat")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 30)
    print(f"seed {seed}", flush=True)
    rng = random.Random(seed)

    work = Path(tempfile.mkdtemp(prefix="phoenix-fault-run-"))
    data_root = work / "data"
    data_root.mkdir()
    database = {"sqlite": f"sqlite:///{work}/fault.sqlite3", "postgres": DEFAULT_POSTGRES}.get(
        args.database, args.database
    )
    os.environ.update({
        "PHOENIX_DEBUG": "0", "PHOENIX_LOG_LEVEL": "WARNING", "DATABASE_URL": database,
        "PHOENIX_DATA_ROOT": str(data_root), "PHOENIX_LEASE_SECONDS": str(args.lease),
        "PHOENIX_HEARTBEAT_SECONDS": str(args.heartbeat),
        "PHOENIX_MAX_ATTEMPTS": str(args.max_attempts), "PHOENIX_Q_WORKERS": str(args.workers),
        "DJANGO_SETTINGS_MODULE": "phoenix_site.settings",
    })  # fmt: skip
    os.environ.setdefault("SECRET_KEY", "fault-run-" + "x" * 40)
    os.environ.setdefault("ALLOWED_HOSTS", "localhost")
    os.environ.pop("PHOENIX_REDIS_URL", None)

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from processing.queue import progress
    from tests.cluster import Cluster, cluster_env

    instance = python_instance(connection, database)
    ab_ids = make_abs(instance, args.abs, seconds=args.seconds)
    estimate = args.abs * args.seconds / args.workers
    timeout = args.timeout or estimate * 3 + args.lease * args.kills + 60
    env = cluster_env(data_root, workers=args.workers, name=settings.Q_CLUSTER["name"],
                      PHOENIX_LEASE_SECONDS=args.lease, PHOENIX_HEARTBEAT_SECONDS=args.heartbeat,
                      PHOENIX_MAX_ATTEMPTS=args.max_attempts, PHOENIX_DEBUG=0,
                      **({"BROWSER_PATH": NO_BROWSER} if args.no_browser else {}))  # fmt: skip
    cluster = Cluster(env, work / "qcluster.log")
    print(f"{connection.vendor}: {args.abs} ABs of {args.seconds:g} s, {args.workers} workers, "
          f"{args.kills} kills, lease {args.lease} s; cluster {cluster.pid}; "
          f"work {work}", flush=True)  # fmt: skip
    try:
        run = run_scenario(instance, ab_ids, cluster, kills=args.kills, rng=rng,
                           duplicate=args.duplicate, timeout=timeout,
                           kill_window=(0.5, max(1.0, estimate * 0.8)),
                           modes=modes, double_fault=args.double_fault)  # fmt: skip
        # The batch ends when its QC jobs ended too (what `phoenix --wait` waits for).
        deadline = time.monotonic() + args.qc_timeout
        while not progress.finished([run["batch"]]) and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        cluster.stop()
    # The reaper's clean-up pass, as the schedule would run it: it finishes the clean-up of
    # workers killed after their commit (work directory, other attempts' product
    # directories) once a lease time has passed.
    run["work_dirs_removed_by_reaper"] = len(finish_cleanups(args.lease + 5))
    outcome = check_outcome(ab_ids, data_root, run["killed"])
    result = {"seed": seed, "database": connection.vendor, "workers": args.workers,
              "duplicate": args.duplicate, **run, **outcome}  # fmt: skip
    print("\nchecks:")
    print(f"  {outcome['abs']} ABs: {outcome['ab_states']}")
    print(f"  attempts: {outcome['attempts']} {outcome['attempt_states']}")
    print(f"  products: {outcome['products']} rows, {outcome['product_files']} files; work "
          f"directories removed by the reaper's clean-up: {run['work_dirs_removed_by_reaper']}, "
          f"left (lost attempts keep theirs): {outcome['work_dirs_left']}")
    print(f"  QC jobs: {outcome['qc_states']}")
    print(f"  kills: {len(run['killed'])} of {run['kills_planned']}; re-queued by the reaper: "
          f"{run['requeued_by_reaper']}; {run['seconds']} s")
    for problem in outcome["problems"]:
        print(f"  PROBLEM: {problem}")
    print("  all checks hold" if not outcome["problems"] else "  FAILED")
    if args.keep:
        print(f"kept: {work} ({database})")
    else:
        drop_database(connection, database)
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result, default=str))
    if len(run["killed"]) < run["kills_planned"]:
        print(f"  note: the batch ended before {run['kills_planned'] - len(run['killed'])} "
              "planned kills found their moment")  # fmt: skip
    return 0 if not outcome["problems"] else 1


def python_instance(connection, url):
    """A fresh database with the NACO instance loaded and set to the Python recipes."""
    from django.core.management import call_command

    from processing.models import Instance

    fresh_database(connection, url)
    with open(os.devnull, "w") as quiet:
        call_command("load_instances", "NACO", stdout=quiet)
    instance = Instance.objects.get(name="NACO")
    instance.engine = "python"
    instance.save(update_fields=["engine"])
    return instance


def fresh_database(connection, url):
    """An empty, migrated database with the cache table django-q2's statistics need."""
    from django.core.management import call_command

    connection.close()
    if url.startswith("postgres"):
        with _postgres_server(url) as server:
            name = connection.settings_dict["NAME"]
            server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            server.execute(f'CREATE DATABASE "{name}"')
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)


def drop_database(connection, url):
    connection.close()
    if url.startswith("postgres"):
        with _postgres_server(url) as server:
            server.execute(f'DROP DATABASE IF EXISTS "{connection.settings_dict["NAME"]}" WITH (FORCE)')


def _postgres_server(url):
    import dj_database_url
    import psycopg

    config = dj_database_url.parse(url)
    return psycopg.connect(dbname="postgres", user=config["USER"] or None,
                           password=config["PASSWORD"] or None, host=config["HOST"] or None,
                           port=config["PORT"] or None, autocommit=True)  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
