"""The python engine: runs a recipe of processing/recipes in a child of the worker's zygote.

The child is forked by the zygote (processing/engine/zygote.py), a small interpreter with the
recipes' modules imported and nothing of Django, started by the worker on its first Python
recipe and kept for the next ones: a start costs a message and a fork of that small process
instead of a fork of the ~76 MB Django worker. The child is the leader of its own process group, which a
timeout or a cancel kills from the worker as before, and never touches the database: it reads
the SOF, writes products into the work directory and its messages into the log. Its parent is
the zygote, so its exit status reaches the worker as a message from the zygote.
"""

import atexit
import logging
import multiprocessing.util
import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from processing.engine import zygote as protocol
from processing.engine.base import RecipeEngine, RecipeProcess

log = logging.getLogger(__name__)

#: the project root, for the zygote's `python -m processing.engine.zygote`
ROOT = Path(__file__).resolve().parents[2]
#: how long the zygote may take to start or to import a recipe's module (numpy, astropy) on a
#: loaded machine
STARTUP_SECONDS = 120.0


class PythonEngine(RecipeEngine):
    name = "python"

    def available(self):
        return True, ""

    def knows(self, recipe):
        from processing.recipes import RECIPES

        if recipe in RECIPES:
            return True, ""
        return False, (
            f"no Python recipe named {recipe!r} (the Python recipes are "
            f"{', '.join(sorted(RECIPES))}); use the esorex engine for it"
        )

    def prepare(self, recipe):
        """Start this worker's zygote if it has none and have it import `recipe`'s module
        (numpy and astropy take seconds on a loaded machine: longer than a short lease)."""
        error = Zygote.of_this_process().load(recipe)
        if error:
            raise ZygoteError(f"the recipe zygote could not import {recipe}: {error}")

    def start(self, call):
        sof = call.write_sof()
        call.log_path.parent.mkdir(parents=True, exist_ok=True)
        return Zygote.of_this_process().start(call, sof)


class ZygoteError(RuntimeError):
    """The zygote could not be started or stopped answering."""


class Zygote:
    """The worker's end of its zygote. One per process (a forked process starts its own);
    used by one thread at a time, as a django-q2 worker runs one task at a time."""

    _current = None

    @classmethod
    def of_this_process(cls):
        zygote = cls._current
        if zygote is None or zygote.owner != os.getpid() or zygote.process.poll() is not None:
            zygote = cls._current = cls()
        return zygote

    def __init__(self):
        self.owner = os.getpid()
        self.exits = {}  # pid → exit status, reported before anyone asked for it
        self.loaded = set()  # recipes whose module the zygote has imported
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        path = os.environ.get("PYTHONPATH")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), path]))}
        with theirs:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "processing.engine.zygote", str(theirs.fileno()),
                 str(self.owner)],
                pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, cwd=ROOT, env=env,
            )  # fmt: skip
        self.sock = ours
        # At the worker's end, the zygote ends too and is waited for (not left to init):
        # django-q2's workers are multiprocessing processes, which leave through
        # multiprocessing's exit function, not atexit.
        atexit.register(self.close)
        multiprocessing.util.Finalize(None, self.close, exitpriority=0)
        began = time.time()
        ready = self._next(STARTUP_SECONDS)
        if not (ready or {}).get("ready"):
            self.process.kill()
            status = self.process.wait()
            raise ZygoteError(
                f"the recipe zygote (python -m processing.engine.zygote) ended with status "
                f"{status} before it was ready; its error is in the worker's log"
            )
        self.ready_at = time.time()
        log.info("recipe zygote %s of worker %s ready in %.1f s", self.process.pid, self.owner,
                 self.ready_at - began)  # fmt: skip

    def close(self):
        """End the zygote: it leaves when its socket closes (a running child dies with it)."""
        if self.owner != os.getpid():  # a forked copy of the object: the zygote is not ours
            return
        self.sock.close()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def load(self, recipe):
        """Have the zygote import `recipe`'s module, unless it did already; "" or why it
        could not."""
        if recipe in self.loaded:
            return ""
        error = self._ask({"load": recipe}, "loaded", "load the recipe")["error"]
        if not error:
            self.loaded.add(recipe)
        return error

    def start(self, call, sof):
        """Have the zygote fork `call`'s recipe; a ZygoteChild for it."""
        request = {"recipe": call.recipe, "sof": str(sof), "parameters": list(call.parameters),
                   "work_dir": str(call.work_dir), "log_path": str(call.log_path)}  # fmt: skip
        return ZygoteChild(self._ask(request, "pid", "start the recipe")["pid"], self)

    def _ask(self, request, answer, what):
        """Send `request`; the zygote's reply, the first message holding `answer` (an
        earlier child's end, reported meanwhile, goes to self.exits)."""
        try:
            protocol.send(self.sock, request)
        except OSError as exc:
            raise ZygoteError(f"the recipe zygote is gone ({exc}); the next start makes a new one")
        reply = self._next(STARTUP_SECONDS)
        while reply and (answer not in reply or "exit" in reply):
            reply = self._next(STARTUP_SECONDS)
        if not reply:
            raise ZygoteError(f"the recipe zygote did not {what} (it ended, or did not answer "
                              f"within {STARTUP_SECONDS:g} s)")
        return reply

    def exit_status(self, pid, seconds):
        """Exit status of child `pid` once the zygote reported it, waiting at most `seconds`;
        None while it runs. If the zygote died, its children die with it: -SIGKILL."""
        deadline = time.monotonic() + seconds
        while pid not in self.exits:
            message = self._next(max(0.0, deadline - time.monotonic()))
            if message is False:
                return None
            if message is None:  # the zygote died: PR_SET_PDEATHSIG kills the child too
                self.exits[pid] = -signal.SIGKILL
        return self.exits.pop(pid)

    def _next(self, seconds):
        """The next message (an exit status also goes to self.exits); False when none came
        within `seconds`, None when the zygote closed its end."""
        ready, _, _ = select.select([self.sock], [], [], max(0.0, seconds))
        if not ready:
            return False
        try:
            message = protocol.receive(self.sock)
        except OSError:
            return None
        if message is not None and "exit" in message:
            self.exits[message["pid"]] = message["exit"]
        return message


class ZygoteChild(RecipeProcess):
    """A recipe forked by the zygote: killed from here (its process group), waited for
    through the zygote's messages."""

    def __init__(self, pid, zygote):
        self.pid = pid
        self.popen = None
        self.returncode = None
        self._zygote = zygote

    def poll(self):
        return self.wait(0)

    def wait(self, seconds):
        if self.returncode is None:
            self.returncode = self._zygote.exit_status(self.pid, seconds)
        return self.returncode
