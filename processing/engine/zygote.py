"""The recipe zygote: a small process per worker that forks the Python recipes.

A recipe runs in a child process of its own — the leader of its own process group, which a
timeout or a cancel kills without touching the worker — and forking is how it starts in a
few milliseconds with numpy, astropy and the recipes already imported. Forked from the
worker, each child would cost the kernel the page tables of a ~76 MB Django process and the
worker its copy-on-write faults afterwards (docs/BENCHMARKS.md, "Where an AB's CPU goes").
So each worker starts, on its first Python recipe, this zygote: a fresh interpreter with
nothing of Django (no database connection, no settings) that forks the recipe children on
request. It imports a recipe's module (numpy and astropy for the NACO
ones) when first asked for that recipe, before forking: the children inherit it, and a zygote
holds only what its worker's recipes use — each fork costs in proportion to that.

Why not multiprocessing's "forkserver": django-q2's workers are daemonic multiprocessing
processes, which multiprocessing does not allow to have children, and its forkserver pickles
the process object and re-runs the parent's main module in every child.

Protocol, over a SOCK_SEQPACKET socket pair (one JSON message per packet):

    zygote → worker   {"ready": true}                        once, when it listens
    worker → zygote   {"load": RECIPE}                       import the recipe's module now
    zygote → worker   {"loaded": RECIPE, "error": TEXT}      done ("" or the traceback)
    worker → zygote   {"recipe", "sof", "parameters", "work_dir", "log_path"}
    zygote → worker   {"pid": N}                             the child started, its own group
    zygote → worker   {"pid": N, "exit": code}              it ended (negative: signal)

Lifetimes: the zygote asks Linux to SIGKILL it when its worker dies (PR_SET_PDEATHSIG) and
leaves when the worker closes the socket (a recycled worker); each child asks the same of the
zygote. So a SIGKILLed worker takes its zygote and the recipe running with it, and the reaper
re-queues the AB as before.

Run as `python -m processing.engine.zygote FD WORKER_PID`.
"""

import gc
import json
import logging
import os
import select
import socket
import sys
import traceback

from processing.engine.base import die_with_parent

LOG_FORMAT = "%(asctime)s [%(levelname)7s] %(name)s: %(message)s"
#: the largest message: a recipe call (its parameters) or a reply
MAX_MESSAGE = 1 << 20
#: how often a zygote without pidfds (not Linux ≥ 5.3) looks for ended children
POLL_SECONDS = 0.01


def send(sock, message):
    sock.send(json.dumps(message).encode())


def receive(sock):
    """The next message, or None when the other end closed the socket."""
    data = sock.recv(MAX_MESSAGE)
    return json.loads(data) if data else None


def serve(sock):
    """Fork a child per request; report each child's pid when it starts and its exit status
    when it ends. Returns when the worker closes the socket."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    watched = {}  # pidfd → pid of a running child
    polled = set()  # children without a pidfd (not Linux ≥ 5.3): looked at every POLL_SECONDS
    while True:
        for fd, _ in poller.poll(POLL_SECONDS * 1000 if polled else -1):
            if fd != sock.fileno():
                poller.unregister(fd)
                os.close(fd)
                _reap(sock, watched.pop(fd), 0)
                continue
            request = receive(sock)
            if request is None:
                return
            if "load" in request:
                send(sock, {"loaded": request["load"], "error": _load(request["load"])})
                continue
            _load(request["recipe"])  # an error shows again in the child, in the AB's log
            pid = _fork(request)
            send(sock, {"pid": pid})
            try:
                pidfd = os.pidfd_open(pid)  # a child that ended already is a zombie: still fine
            except (AttributeError, OSError):
                polled.add(pid)
            else:
                watched[pidfd] = pid
                poller.register(pidfd, select.POLLIN)
        for pid in list(polled):
            if _reap(sock, pid, os.WNOHANG):
                polled.discard(pid)


def _load(recipe):
    """Import `recipe`'s module here, once; "" or the traceback of the failed import."""
    from processing.recipes import RecipeError, recipe_function

    modules = len(sys.modules)
    try:
        recipe_function(recipe)
    except RecipeError as exc:
        return str(exc)
    except Exception:  # noqa: BLE001 — a broken recipe module must not end the zygote
        return traceback.format_exc()
    finally:
        if len(sys.modules) != modules:
            gc.freeze()  # the children need not touch (copy) what the import made
    return ""


def _reap(sock, pid, flags):
    """Collect child `pid` and report its exit status; False if it is still running."""
    ended, status = os.waitpid(pid, flags)
    if not ended:
        return False
    send(sock, {"pid": pid, "exit": os.waitstatus_to_exitcode(status)})
    return True


def _fork(request):
    sys.stdout.flush()
    sys.stderr.flush()
    zygote = os.getpid()
    pid = os.fork()
    if pid == 0:
        _child(request, zygote)
    try:
        os.setpgid(pid, pid)  # also done by the child: whichever runs first
    except (PermissionError, ProcessLookupError):
        pass
    return pid


def _child(request, zygote):
    """In the forked child: the recipe with its log as stdout and stderr; never returns."""
    code = 2
    try:
        os.setpgid(0, 0)
        die_with_parent()
        if os.getppid() != zygote:  # the zygote died before the request to die with it
            os._exit(code)
        log_fd = os.open(request["log_path"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))  # the zygote's socket stays its own
        sys.stdout = open(1, "w", buffering=1, closefd=False)
        sys.stderr = open(2, "w", buffering=1, closefd=False)
        os.chdir(request["work_dir"])
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        root = logging.getLogger()
        root.handlers[:] = [handler]
        root.setLevel(logging.INFO)
        from processing.recipes import RecipeError, run

        recipe, parameters, sof = request["recipe"], request["parameters"], request["sof"]
        log = logging.getLogger("phoenix")
        log.info("python recipe %s %s %s", recipe, " ".join(parameters), sof)
        try:
            products = run(recipe, sof, parameters, request["work_dir"])
            log.info("%s: %d products", recipe, len(products or []))
            code = 0
        except RecipeError as exc:
            log.error("%s: %s", recipe, exc)
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


def main(argv):
    fd, worker = int(argv[0]), int(argv[1])
    die_with_parent()
    if os.getppid() != worker:  # the worker died before the request to die with it
        return 1
    sock = socket.socket(fileno=fd)
    import processing.recipes  # noqa: F401 — the registry; a recipe's module when first asked

    gc.freeze()  # the children need not touch (copy) what the imports made
    send(sock, {"ready": True})
    serve(sock)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
