"""The esorex engine: ESO CPL pipelines (Debian packages esorex, cpl-plugin-*) as subprocesses."""

import functools
import shutil
import subprocess

from processing.engine.base import RecipeEngine, RecipeProcess, die_with_parent


@functools.lru_cache(maxsize=1)
def installed_recipes():
    """Names of the recipes esorex can run here (esorex --recipes), read once per process."""
    esorex = shutil.which("esorex")
    if esorex is None:
        return frozenset()
    result = subprocess.run([esorex, "--recipes"], capture_output=True, text=True, timeout=120)
    names = set()
    for line in result.stdout.splitlines():
        name, sep, _ = line.strip().partition(" : ")
        if sep and name and " " not in name.strip():
            names.add(name.strip())
    return frozenset(names)


class EsorexEngine(RecipeEngine):
    name = "esorex"

    def available(self):
        if shutil.which("esorex") is None:
            return False, ("esorex is not installed (Debian: apt-get install esorex "
                           "cpl-plugin-naco); or set the instance's engine to python")  # fmt: skip
        return True, ""

    def knows(self, recipe):
        ok, why = self.available()
        if not ok:
            return ok, why
        if recipe not in installed_recipes():
            return False, (f"esorex has no recipe {recipe!r}: is its cpl-plugin package "
                           "installed? (esorex --recipes lists what is)")  # fmt: skip
        return True, ""

    def command(self, call, sof):
        return [
            shutil.which("esorex") or "esorex",
            "--msg-level=info", "--log-level=off", "--time=TRUE",
            f"--output-dir={call.work_dir}", "--suppress-link=TRUE",
            call.recipe, *call.parameters, str(sof),
        ]  # fmt: skip

    def start(self, call):
        sof = call.write_sof()
        call.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(call.log_path, "ab") as log:
            log.write(f"$ {' '.join(self.command(call, sof))}\n".encode())
            log.flush()
            process = subprocess.Popen(
                self.command(call, sof), cwd=call.work_dir, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=die_with_parent,
            )  # fmt: skip
        return RecipeProcess(process.pid, popen=process)
