"""The one interface of the recipe engines: recipe, SOF, parameters, work dir → products, log,
exit status."""

import ctypes
import math
import os
import select
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class SofEntry:
    """One line of a set-of-frames file: `path TAG`."""

    path: Path
    tag: str


@dataclass
class RecipeCall:
    """What to run: the recipe with its parameters (esorex style, `--name=value`) on a SOF.

    Products land in `work_dir`; the recipe's messages go to `log_path` (which the AB page
    tails while it runs); `timeout` is in seconds.
    """

    recipe: str
    sof: list
    parameters: list
    work_dir: Path
    log_path: Path
    timeout: float = 3600.0

    @property
    def sof_path(self):
        return self.work_dir / f"{self.recipe}.sof"

    def write_sof(self):
        """Write the SOF file (`path TAG` per line) and return its path."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.sof_path.write_text("".join(f"{entry.path} {entry.tag}\n" for entry in self.sof))
        return self.sof_path


@dataclass
class RecipeOutcome:
    """How a recipe run ended. `products` are products.ProductFile, found by PRO.CATG."""

    exit_status: int | None
    timed_out: bool = False
    cancelled: bool = False
    lost_lease: bool = False
    error: str = ""
    products: list = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self):
        return (self.exit_status == 0 and not self.timed_out and not self.cancelled
                and not self.lost_lease and not self.error)  # fmt: skip


#: how often `RecipeProcess.wait` looks without a pidfd
POLL_SECONDS = 0.01


class RecipeProcess:
    """A started recipe: the leader of its own process group (a forked child, or a Popen).

    Where Linux offers one (5.3+), a pidfd of the recipe lets `wait` wake up the moment it
    ends, so a recipe of a few milliseconds is not kept waiting for a polling interval.
    """

    def __init__(self, pid, popen=None):
        self.pid = pid
        self.popen = popen
        self.returncode = None
        try:
            self._pidfd = os.pidfd_open(pid)
        except (AttributeError, OSError):  # not Linux, or an old kernel: wait polls
            self._pidfd = None
        else:
            self._ended = select.poll()
            self._ended.register(self._pidfd, select.POLLIN)

    def poll(self):
        """Exit status once it ended (negative: killed by that signal), else None."""
        if self.popen is not None:
            self.returncode = self.popen.poll()
        elif self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        if self.returncode is not None and self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
        return self.returncode

    def wait(self, seconds):
        """Wait until the recipe ended, or at most `seconds`; return poll()."""
        deadline = time.monotonic() + seconds
        while self.poll() is None:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if self._pidfd is not None:
                self._ended.poll(max(1, math.ceil(left * 1000)))
            else:
                time.sleep(min(left, POLL_SECONDS))
        return self.returncode

    def kill_group(self, sig=signal.SIGKILL):
        """Signal the whole process group (the recipe and anything it started)."""
        try:
            os.killpg(self.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def _prctl():
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux: the lease and the reaper still hold
        return None


#: looked up once per process, so that each recipe child only makes the call
_PRCTL = _prctl()


def die_with_parent():
    """In a recipe process or a zygote: ask Linux to kill it when its parent (the worker, or
    the worker's zygote) dies, so a SIGKILLed worker leaves no orphan recipe running (the
    reaper re-queues the AB)."""
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class RecipeEngine:
    """Base of the engines. `start` must make the recipe a process-group leader."""

    name = ""

    def available(self):
        """(True, "") or (False, why not): e.g. esorex not installed, recipe unknown."""
        raise NotImplementedError

    def knows(self, recipe):
        """(True, "") or (False, why): whether this engine can run `recipe`."""
        raise NotImplementedError

    def prepare(self, recipe):
        """Do the slow set-up of starting `recipe` ahead of it: called before the AB is
        claimed, so that set-up does not run on the attempt's lease (which no heartbeat
        renews yet)."""

    def start(self, call):
        """Start `call` (its SOF written) and return a RecipeProcess."""
        raise NotImplementedError


def engine_named(name):
    """The engine called `name` ("esorex" or "python")."""
    from processing.engine.esorex import EsorexEngine
    from processing.engine.python import PythonEngine

    engines = {"esorex": EsorexEngine, "python": PythonEngine}
    if name not in engines:
        raise ValueError(f"unknown recipe engine {name!r}; the engines are {', '.join(engines)}")
    return engines[name]()


def engine_for(setting, recipe):
    """The engine that runs `recipe` under an instance's `processing.engine` setting:
    "auto" takes esorex where it is installed and has the recipe, else the Python recipes
    (decided on the host that runs the AB; the attempt records which one ran)."""
    if setting != "auto":
        return engine_named(setting)
    esorex = engine_named("esorex")
    return esorex if esorex.knows(recipe)[0] else engine_named("python")
