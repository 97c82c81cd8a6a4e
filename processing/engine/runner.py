"""Supervise a running recipe: timeout, cancel, heartbeat — and kill its process group."""

import math
import signal
import time

from processing.engine.base import RecipeOutcome

#: seconds a recipe gets after SIGTERM before SIGKILL
GRACE = 5.0


def supervise(process, call, *, on_tick=None, tick_every=1.0, clock=time.monotonic):
    """Wait for `process` to end; return a RecipeOutcome (products not yet collected).

    `on_tick()` is called about every `tick_every` seconds while the recipe runs; it returns
    None to go on, "cancel" when an operator cancelled the AB, or "lost" when the attempt's
    lease was taken away. Then, or on timeout, the process group gets SIGTERM and, after a
    grace period, SIGKILL, so no recipe outlives its AB. Between ticks the worker sleeps in
    `process.wait`, which returns as soon as the recipe ends.
    """
    start = clock()
    deadline = start + call.timeout
    next_tick = start + tick_every if on_tick is not None else math.inf
    verdict = None
    while process.wait(min(next_tick, deadline) - clock()) is None:
        now = clock()
        if now >= deadline:
            verdict = "timeout"
        elif now >= next_tick:
            next_tick = now + tick_every
            verdict = on_tick()
        if verdict:
            _stop(process)
            break
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
    if process.wait(GRACE) is None:
        process.kill_group(signal.SIGKILL)
        while process.wait(1.0) is None:
            pass
    else:
        process.kill_group(signal.SIGKILL)  # anything the recipe left behind in its group
