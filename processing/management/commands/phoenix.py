"""phoenix: create ABs (-C) and process them (-P) for a date, a month or a run — DFOS' flags."""

import argparse
import json
import shlex
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from processing.abs.create import CreateAbsError
from processing.abs.scope import Scope, ScopeError
from processing.choices import AbStatus
from processing.management.commands.create_abs import write_report
from processing.models import Instance
from processing.queue import progress
from processing.queue.actions import ActionError, launch

BAR_WIDTH = 40


class Command(BaseCommand):
    help = (
        "phoenix -C creates the ABs of a scope, -P processes them on the q2 cluster in "
        "dependency order (COMPLETE_MODE: the CALIB part first); --wait shows progress until "
        "the batch ends. --jobs-file runs many '-r RUN -P -a AB' lines in one go."
    )

    def add_arguments(self, parser):
        parser.add_argument("--instance", help="required unless every jobs-file line names one")
        scope = parser.add_mutually_exclusive_group()
        scope.add_argument("-d", "--date", help="a night, YYYY-MM-DD")
        scope.add_argument("-m", "--month", help="a month, YYYY-MM")
        scope.add_argument("-r", "--run", help="a run ID (DEEP instances)")
        parser.add_argument("-a", "--ab", help="only this AB")
        parser.add_argument("-C", dest="create", action="store_true", help="create ABs")
        parser.add_argument("-P", dest="process", action="store_true", help="process ABs")
        parser.add_argument("--mode", choices=["CALIB", "SCIENCE"], help="only this part")
        parser.add_argument("--wait", action="store_true", help="wait until the batch ends")
        parser.add_argument("--timeout", type=float, help="with --wait: give up after seconds")
        parser.add_argument("--jobs-file", type=Path, help="one phoenix call per line")
        parser.add_argument("--json", action="store_true", dest="as_json",
                            help="print a JSON summary as the last line")

    def handle(self, *args, **options):
        if options["jobs_file"]:
            if options["date"] or options["month"] or options["run"]:
                raise CommandError("--jobs-file: give the scopes in the file, not on the command line")
            calls = self._jobs(options)
        else:
            if not (options["date"] or options["month"] or options["run"]):
                raise CommandError("give a scope: -d DATE, -m YYYY-MM or -r RUN_ID (or --jobs-file)")
            calls = [options]
        out = self.stderr if options["as_json"] else self.stdout
        results = []
        for call in calls:
            instance = self._instance(call["instance"])
            try:
                scope = Scope.from_arguments(call["date"], call["month"], call["run"])
                result = launch(instance, scope, create=call["create"], process=call["process"],
                                category=call["mode"], ab_name=call["ab"])  # fmt: skip
            except (ScopeError, CreateAbsError, ActionError) as exc:
                where = f"{call['line']}: " if call.get("line") else ""
                raise CommandError(f"{where}{exc}") from None
            results.append(result)
            self._report(out, scope, result)
        batch_ids = [r.batch.pk for r in results]
        watched = batch_ids + sorted(set().union(*(r.other_batches for r in results)) - set(batch_ids))
        final = None
        if options["wait"] and any(r.batch.steps.endswith("P") for r in results):
            if len(watched) > len(batch_ids):
                out.write(f"also waiting for batch(es) {', '.join(f'#{b}' for b in watched[len(batch_ids):])}, "
                          "which process ABs of this scope already")  # fmt: skip
            final = progress.wait(watched, self._bar(out), timeout=options["timeout"])
            out.write("")
            self._final(out, final)
        if options["as_json"]:
            self.stdout.write(json.dumps({
                "batches": [{"id": r.batch.pk, "scope": r.batch.scope, "steps": r.batch.steps,
                             **r.summary()} for r in results],
                "counts": final or progress.counts(batch_ids),
            }, sort_keys=True, default=str))  # fmt: skip
        if final and (final[AbStatus.FAILED] or final[AbStatus.UPSTREAM_FAILED]):
            sys.exit(1)

    def _instance(self, name):
        if not name:
            raise CommandError("--instance is required")
        chosen = Instance.objects.filter(name=name).first()
        if chosen is None:
            names = ", ".join(Instance.objects.values_list("name", flat=True)) or "none"
            raise CommandError(f"--instance: unknown instance {name!r} (loaded: {names})")
        return chosen

    def _jobs(self, options):
        """Each non-empty, non-comment line: [phoenix] [--instance I] -r RUN|-d|-m … -C/-P …"""
        parser = argparse.ArgumentParser(prog="jobs-file line", add_help=False, exit_on_error=False)
        self.add_arguments(parser)
        path = options["jobs_file"]
        try:
            lines = path.read_text().splitlines()
        except OSError as exc:
            raise CommandError(f"--jobs-file {path}: {exc.strerror or exc}") from None
        calls = []
        for number, line in enumerate(lines, start=1):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            where = f"{path}:{number}"
            try:
                words = shlex.split(text)
                if words and words[0] == "phoenix":
                    words = words[1:]
                parsed = vars(parser.parse_args(words))
            except (ValueError, argparse.ArgumentError, SystemExit) as exc:
                raise CommandError(f"{where}: cannot read {text!r}: {exc}") from None
            if parsed["jobs_file"]:
                raise CommandError(f"{where}: a jobs file cannot name another jobs file")
            if not (parsed["date"] or parsed["month"] or parsed["run"]):
                raise CommandError(f"{where}: no scope (-d, -m or -r)")
            parsed["instance"] = parsed["instance"] or options["instance"]
            parsed["create"] = parsed["create"] or options["create"]
            parsed["process"] = parsed["process"] or options["process"]
            parsed["line"] = where
            calls.append(parsed)
        if not calls:
            raise CommandError(f"--jobs-file {path}: no phoenix calls in it")
        return calls

    def _report(self, out, scope, result):
        if result.created is not None:
            write_report(self, out, result.created, result.created.summary())
        if "P" in result.batch.steps:
            out.write(f"{scope}: batch #{result.batch.pk}: {len(result.pending)} ABs to process, "
                      f"{len(result.queued)} queued now, the rest wait for the ABs they need")  # fmt: skip
            for name, why in result.skipped[:15]:
                out.write(self.style.WARNING(f"  not processed: {name}: {why}"))
            if len(result.skipped) > 15:
                out.write(f"  … and {len(result.skipped) - 15} more not processed (see --json)")

    def _bar(self, out):
        tty = hasattr(out, "isatty") and out.isatty()
        last = {}

        def show(counts):
            total = sum(counts.values())
            if not total:
                if not last:
                    out.write("no AB to wait for")
                    last["line"] = ""
                return
            done = sum(counts[s] for s in ("success", "failed", "cancelled", "upstream_failed"))
            filled = int(BAR_WIDTH * done / total)
            line = (f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total}  "
                    + "  ".join(f"{s} {n}" for s, n in counts.items() if n))  # fmt: skip
            if tty:
                out.write("\r" + line, ending="")
                out.flush()
            elif line != last.get("line"):
                out.write(line)
                last["line"] = line

        return show

    def _final(self, out, counts):
        if not any(counts.values()):
            return
        failed = counts[AbStatus.FAILED] + counts[AbStatus.UPSTREAM_FAILED]
        style = self.style.ERROR if failed else self.style.SUCCESS
        out.write(style("batch ended: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n)))
