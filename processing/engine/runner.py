"""Supervise a running recipe: timeout, cancel, heartbeat — and kill its process group."""

import signal
import time

from processing.engine.base import RecipeOutcome

#: seconds between the supervisor's checks (heartbeat and cancel are asked every `tick`)
TICK = 0.05
#: seconds a recipe gets after SIGTERM before SIGKILL
GRACE = 5.0


def supervise(process, call, *, on_tick=None, tick_every=1.0, clock=time.monotonic):
    """Wait for `process` to end; return a RecipeOutcome (products not yet collected).

    `on_tick()` is called about every `tick_every` seconds while the recipe runs; it returns
    None to go on, "cancel" when an operator cancelled the AB, or "lost" when the attempt's
    lease was taken away. Then, or on timeout, the process group gets SIGTERM and, after a
    grace period, SIGKILL, so no recipe outlives its AB.
    """
    start = clock()
    next_tick = start + tick_every
    sleep = 0.002  # short first waits: most no-op and small recipes end within milliseconds
    verdict = None
    while process.poll() is None:
        now = clock()
        if now - start > call.timeout:
            verdict = "timeout"
        elif on_tick is not None and now >= next_tick:
            next_tick = now + tick_every
            verdict = on_tick()
        if verdict:
            _stop(process)
            break
        time.sleep(sleep)
        sleep = min(sleep * 2, TICK)
    seconds = clock() - start
    outcome = RecipeOutcome(exit_status=process.returncode, seconds=seconds)
    if verdict == "timeout":
        outcome.timed_out = True
        outcome.error = f"{call.recipe} exceeded its timeout of {call.timeout:g} s and was killed"
    elif verdict == "cancel":
        outcome.cancelled = True
        outcome.error = "cancelled by an operator; the recipe was killed"
    elif verdict == "lost":
        outcome.lost_lease = True
        outcome.error = "the attempt lost its lease (another attempt took the AB); recipe killed"
    elif process.returncode != 0:
        code = process.returncode
        outcome.error = (f"{call.recipe} was killed by signal {-code}" if code < 0
                         else f"{call.recipe} exited with status {code}")  # fmt: skip
    return outcome


def _stop(process):
    process.kill_group(signal.SIGTERM)
    deadline = time.monotonic() + GRACE
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if process.poll() is None:
        process.kill_group(signal.SIGKILL)
        while process.poll() is None:
            time.sleep(0.01)
    else:
        process.kill_group(signal.SIGKILL)  # anything the recipe left behind in its group
