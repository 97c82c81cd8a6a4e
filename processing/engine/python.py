"""The python engine: runs a recipe of processing/recipes in a forked child.

Forking starts a recipe in a few milliseconds (the worker has numpy and astropy loaded
already; a new interpreter would import them again), while the child still is a
process-group leader that a timeout or a cancel can kill without touching the worker. Its
price is CPU: the kernel copies the page tables of a ~75 MB Django worker, which then takes
a write fault on each page it touches again, and the child's exit tears down as much — about
15 ms of CPU per AB on the development VM, the largest part of a short AB's orchestration
(docs/BENCHMARKS.md). The child never touches the database: it reads the SOF,
writes products into the work directory and its messages into the log, then leaves with
os._exit so that no inherited connection or atexit handler of the worker runs.
"""

import logging
import os
import sys
import traceback

from processing.engine.base import RecipeEngine, RecipeProcess, die_with_parent

LOG_FORMAT = "%(asctime)s [%(levelname)7s] %(name)s: %(message)s"


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

    def start(self, call):
        sof = call.write_sof()
        call.log_path.parent.mkdir(parents=True, exist_ok=True)
        log_fd = os.open(call.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child
            _child(call, sof, log_fd)
        os.close(log_fd)
        try:
            os.setpgid(pid, pid)  # also done by the child: whichever runs first
        except (PermissionError, ProcessLookupError):
            pass
        return RecipeProcess(pid)


def _child(call, sof, log_fd):
    code = 2
    try:
        os.setpgid(0, 0)
        die_with_parent()
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))  # the worker's sockets and pipes stay its own
        # The worker's sys.stdout/stderr may be anything (a test's capture, a pipe); the
        # recipe's print() and logging go to the log file descriptors.
        sys.stdout = open(1, "w", buffering=1, closefd=False)
        sys.stderr = open(2, "w", buffering=1, closefd=False)
        os.chdir(call.work_dir)
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        root = logging.getLogger()
        root.handlers[:] = [handler]
        root.setLevel(logging.INFO)
        from processing.recipes import RecipeError, run

        log = logging.getLogger("phoenix")
        log.info("python recipe %s %s %s", call.recipe, " ".join(call.parameters), sof)
        try:
            products = run(call.recipe, sof, call.parameters, call.work_dir)
            log.info("%s: %d products", call.recipe, len(products or []))
            code = 0
        except RecipeError as exc:
            log.error("%s: %s", call.recipe, exc)
            code = 1
    except BaseException:  # noqa: BLE001 — whatever happens, the child must not return
        traceback.print_exc()
        code = 2
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)
