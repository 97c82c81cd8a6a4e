"""The recipe runner: a recipe runs in a process group of its own, apart from the worker; the
worker learns of its end as soon as it ends, and a timeout or a cancel kills the whole group.

Real processes only: the Python engine's zygote forks real recipe children (the diagnostic recipes of
processing/recipes/diagnostic.py), and a shell with a background job stands in for a recipe
that starts processes of its own (as esorex may).
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from processing.engine import RecipeCall
from processing.engine import runner
from processing.engine.base import RecipeProcess
from processing.engine.python import PythonEngine, Zygote
from processing.engine.runner import supervise


def recipe_call(tmp_path, recipe, *parameters, timeout=120.0):
    return RecipeCall(recipe=recipe, sof=[], parameters=list(parameters),
                      work_dir=tmp_path / "work", log_path=tmp_path / "log" / "attempt-1.log",
                      timeout=timeout)  # fmt: skip


def ended(pid):
    """Whether process `pid` is gone (a zombie nobody reaped yet counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return True
    return state == "Z"


def wait_for(predicate, seconds=30):
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_python_recipe_runs_in_a_process_group_of_its_own_and_logs_to_its_file(tmp_path):
    call = recipe_call(tmp_path, "phoenix_wait", "--seconds=0.5", "--write=RUNNER_PRODUCT")
    process = PythonEngine().start(call)
    assert os.getpgid(process.pid) == process.pid != os.getpgid(0)
    outcome = supervise(process, call)
    assert outcome.ok, outcome.error
    assert (call.work_dir / "runner_product.fits").is_file()
    log = call.log_path.read_text()
    assert "python recipe phoenix_wait" in log and "wrote runner_product.fits" in log


def test_a_failing_recipe_ends_its_child_not_the_worker(tmp_path):
    call = recipe_call(tmp_path, "phoenix_wait", "--fail=TRUE")
    outcome = supervise(PythonEngine().start(call), call)
    assert outcome.exit_status == 1 and "phoenix_wait exited with status 1" in outcome.error
    assert "failing on purpose" in call.log_path.read_text()


def test_wait_gives_up_after_its_time_and_returns_the_status_once_the_recipe_ended():
    release, hold = os.pipe()
    pid = os.fork()
    if pid == 0:  # a "recipe" that ends with status 7 when the test lets it
        os.close(hold)
        os.read(release, 1)
        os._exit(7)
    os.close(release)
    process = RecipeProcess(pid)
    assert process.wait(0.2) is None  # still running
    os.write(hold, b"x")
    os.close(hold)
    assert process.wait(60) == 7
    assert ended(pid)


def test_a_timeout_kills_the_recipe_and_what_it_started(tmp_path):
    call = recipe_call(tmp_path, "sh", timeout=1.0)
    popen = subprocess.Popen(["sh", "-c", "sleep 300 & echo $! > started; wait"], cwd=tmp_path,
                             start_new_session=True)  # fmt: skip
    wait_for(lambda: (tmp_path / "started").is_file() and (tmp_path / "started").read_text())
    started = int((tmp_path / "started").read_text())
    outcome = supervise(RecipeProcess(popen.pid, popen=popen), call)
    assert outcome.timed_out and "exceeded its timeout of 1 s and was killed" in outcome.error
    wait_for(lambda: ended(started))  # the recipe's own child died with its group


def test_a_cancel_kills_the_recipe_at_the_next_tick(tmp_path):
    call = recipe_call(tmp_path, "phoenix_wait", "--seconds=300")
    process = PythonEngine().start(call)
    ticks = []

    def on_tick():
        ticks.append(time.monotonic())
        return "cancel" if len(ticks) == 3 else None

    outcome = supervise(process, call, on_tick=on_tick, tick_every=0.1)
    assert outcome.cancelled and len(ticks) == 3
    assert outcome.exit_status != 0 and ended(process.pid)


def test_a_recipe_that_ignores_sigterm_gets_sigkill_after_the_grace(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "GRACE", 0.5)
    call = recipe_call(tmp_path, "sh")
    popen = subprocess.Popen(["sh", "-c", "trap '' TERM; echo ready > ready; sleep 300 & wait"],
                             cwd=tmp_path, start_new_session=True)  # fmt: skip
    wait_for(lambda: (tmp_path / "ready").is_file())
    outcome = supervise(RecipeProcess(popen.pid, popen=popen), call,
                        on_tick=lambda: "lost", tick_every=0.1)  # fmt: skip
    assert outcome.lost_lease and outcome.exit_status == -signal.SIGKILL


def test_python_recipes_are_forked_by_one_zygote_per_worker_not_by_the_worker(tmp_path):
    first = PythonEngine().start(recipe_call(tmp_path / "a", "phoenix_wait", "--seconds=0"))
    second = PythonEngine().start(recipe_call(tmp_path / "b", "phoenix_wait", "--seconds=0"))
    assert first.wait(60) == 0 and second.wait(60) == 0
    zygote = Zygote.of_this_process().process.pid
    third = PythonEngine().start(recipe_call(tmp_path / "c", "phoenix_wait", "--seconds=30"))
    assert parent_of(third.pid) == zygote != os.getpid()
    assert "django" not in Path(f"/proc/{zygote}/cmdline").read_text()
    third.kill_group()
    assert third.wait(60) == -signal.SIGKILL


def test_the_zygote_imports_a_recipes_module_when_first_asked_and_survives_a_bad_name():
    old = Zygote._current
    if old is not None:
        old.close()
    Zygote._current = None
    zygote = Zygote.of_this_process()
    maps = Path(f"/proc/{zygote.process.pid}/maps")
    assert zygote.load("phoenix_noop") == ""
    assert "/astropy/" not in maps.read_text(), "a no-op recipe needs no astropy"
    assert zygote.load("naco_img_dark") == ""
    assert "/astropy/" in maps.read_text(), "the NACO recipes' children inherit astropy"
    os.kill(zygote.process.pid, signal.SIGSTOP)  # a loaded recipe costs the zygote no message
    try:
        began = time.monotonic()
        assert zygote.load("naco_img_dark") == ""
        assert time.monotonic() - began < 1
    finally:
        os.kill(zygote.process.pid, signal.SIGCONT)
    assert "no Python recipe named 'naco_img_nothing'" in zygote.load("naco_img_nothing")
    assert zygote.load("phoenix_wait") == "" and Zygote.of_this_process() is zygote


def parent_of(pid):
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])
    except FileNotFoundError:
        return None


WORKER = """
import sys, time
from pathlib import Path
from processing.engine import RecipeCall
from processing.engine.python import PythonEngine, Zygote
root = Path(sys.argv[1])
call = RecipeCall(recipe="phoenix_wait", sof=[], parameters=["--seconds=300"],
                  work_dir=root / "work", log_path=root / "attempt-1.log")
process = PythonEngine().start(call)
print(process.pid, Zygote.of_this_process().process.pid, flush=True)
if sys.argv[2] == "killed":
    time.sleep(300)
process.kill_group()
process.wait(60)
"""


def run_worker(tmp_path, how):
    worker = subprocess.Popen([sys.executable, "-c", WORKER, str(tmp_path), how],
                              stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parent.parent)  # fmt: skip
    recipe, zygote = (int(pid) for pid in worker.stdout.readline().split())
    return worker, recipe, zygote


def test_a_killed_worker_takes_its_zygote_and_its_running_recipe_along(tmp_path):
    worker, recipe, zygote = run_worker(tmp_path, "killed")
    assert not ended(recipe) and not ended(zygote)
    worker.kill()
    worker.wait()
    wait_for(lambda: ended(zygote) and ended(recipe))


def test_a_worker_that_ends_waits_for_its_zygote(tmp_path):
    worker, recipe, zygote = run_worker(tmp_path, "ends")
    assert worker.wait(60) == 0
    assert ended(recipe) and ended(zygote)  # no waiting: gone when the worker is


def test_a_zygote_that_dies_fails_the_running_recipe_and_the_next_start_makes_a_new_one(tmp_path):
    running = PythonEngine().start(recipe_call(tmp_path / "a", "phoenix_wait", "--seconds=300"))
    old = Zygote.of_this_process().process.pid
    os.kill(old, signal.SIGKILL)
    assert running.wait(60) == -signal.SIGKILL
    wait_for(lambda: ended(running.pid))  # PR_SET_PDEATHSIG: it died with its zygote
    call = recipe_call(tmp_path / "b", "phoenix_wait", "--seconds=0")
    outcome = supervise(PythonEngine().start(call), call)
    assert outcome.ok, outcome.error
    assert Zygote.of_this_process().process.pid != old
