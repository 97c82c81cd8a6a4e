"""phoenix: create ABs (-C), process them (-P), certify and move their products (-M) for a
date, a month or a run — DFOS' flags."""

import argparse
import json
import shlex
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from processing.abs.create import CreateAbsError
from processing.abs.scope import Scope, ScopeError
from processing.choices import AbStatus, ScopeKind
from processing.finishing import FinishError, certify_and_move
from processing.management.commands.create_abs import write_report
from processing.management.arguments import add_scope_arguments, instance_named
from processing.queue import progress
from processing.queue.actions import ActionError, launch

BAR_WIDTH = 40


class Command(BaseCommand):
    help = (
        "phoenix -C creates the ABs of a scope, -P processes them on the q2 cluster in "
        "dependency order (COMPLETE_MODE: the CALIB part first); --wait shows progress until "
        "the batch ends; -M certifies (automatically where QC allows), moves and renames the "
        "products, converts IDPs and queues their ingestion. --jobs-file runs many "
        "'-r RUN -P -a AB' lines in one go."
    )

    def add_arguments(self, parser):
        parser.add_argument("--instance", help="required unless every jobs-file line names one")
        add_scope_arguments(parser, required=False)
        parser.add_argument("-a", "--ab", help="only this AB")
        parser.add_argument("-C", dest="create", action="store_true", help="create ABs")
        parser.add_argument("-P", dest="process", action="store_true", help="process ABs")
        parser.add_argument("-M", dest="finish", action="store_true",
                            help="certify (auto) and move products, convert IDPs, queue ingestion")
        parser.add_argument("-n", dest="no_cleanup", action="store_true",
                            help="with -M: keep the work areas")
        which = parser.add_mutually_exclusive_group()
        which.add_argument("--all", dest="which", action="store_const", const="all",
                           help="DEEP -M: every processed AB of the run")
        which.add_argument("--last", dest="which", action="store_const", const="last",
                           help="DEEP -M: only the AB processed last")
        parser.add_argument("--mode", choices=["CALIB", "SCIENCE"], help="only this part")
        parser.add_argument("--wait", action="store_true", help="wait until the batch ends")
        parser.add_argument("--timeout", type=float, help="with --wait: give up after seconds")
        parser.add_argument("--jobs-file", type=Path, help="one phoenix call per line")
        parser.add_argument("--json", action="store_true", dest="as_json",
                            help="print a JSON summary as the last line")

    timed_out = False

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
        if not any(call["create"] or call["process"] or call["finish"] for call in calls):
            raise CommandError("nothing to do: give -C (create), -P (process) and/or -M (certify and move)")
        if any(call["finish"] and call["process"] for call in calls) and not options["wait"]:
            raise CommandError("-P with -M: add --wait, so that -M runs after the processing ended")
        results, launched = [], []
        for call in calls:
            instance = instance_named(call["instance"])
            try:
                scope = Scope.from_arguments(call["date"], call["month"], call["run"])
                if call["create"] or call["process"]:
                    result = launch(instance, scope, create=call["create"], process=call["process"],
                                    category=call["mode"], ab_name=call["ab"])  # fmt: skip
                    launched.append(result)
                    self._report(out, scope, result)
            except (ScopeError, CreateAbsError, ActionError) as exc:
                where = f"{call['line']}: " if call.get("line") else ""
                raise CommandError(f"{where}{exc}") from None
            results.append((call, instance, scope))
        final = self._wait(out, launched, options) if launched else None
        finished = [self._finish(out, call, instance, scope)
                    for call, instance, scope in results if call["finish"]]  # fmt: skip
        if options["as_json"]:
            batch_ids = [r.batch.pk for r in launched]
            self.stdout.write(json.dumps({
                "batches": [{"id": r.batch.pk, "scope": r.batch.scope, "steps": r.batch.steps,
                             **r.summary()} for r in launched],
                "counts": final or progress.counts(batch_ids),
                "finished": [f.as_dict() for f in finished],
            }, sort_keys=True, default=str))  # fmt: skip
        if final and (final[AbStatus.FAILED] or final[AbStatus.UPSTREAM_FAILED]):
            sys.exit(1)
        if self.timed_out:
            sys.exit(3)

    def _wait(self, out, launched, options):
        batch_ids = [r.batch.pk for r in launched]
        others = sorted(set().union(*(r.other_batches for r in launched)) - set(batch_ids))
        if not (options["wait"] and any(r.batch.steps.endswith("P") for r in launched)):
            return None
        if others:
            out.write(f"also waiting for batch(es) {', '.join(f'#{b}' for b in others)}, "
                      "which process ABs of this scope already")  # fmt: skip
        final = progress.wait(batch_ids + others, self._bar(out), timeout=options["timeout"])
        out.write("")
        if not progress.finished(batch_ids + others):
            self.timed_out = True
            out.write(self.style.WARNING(
                f"stopped waiting after {options['timeout']:g} s (--timeout); the batch goes on: "
                + ", ".join(f"{n} {s}" for s, n in final.items() if n)))  # fmt: skip
            return final
        self._final(out, final)
        return final

    def _finish(self, out, call, instance, scope):
        """-M for one scope; DEEP runs ask (or are told) whether all ABs or only the last."""
        last_only = False
        if scope.kind == ScopeKind.RUN and not call["ab"]:
            which = call["which"] or self._ask_which(scope)
            last_only = which == "last"
        try:
            result = certify_and_move(instance, scope, ab_name=call["ab"], last_only=last_only,
                                      cleanup=not call["no_cleanup"])  # fmt: skip
        except FinishError as exc:
            raise CommandError(str(exc)) from None
        self._report_finish(out, scope, result)
        return result

    def _ask_which(self, scope):
        if not sys.stdin.isatty():
            raise CommandError(f"-M -r {scope.value}: give --all (every processed AB of the run) "
                               "or --last (only the AB processed last)")  # fmt: skip
        while True:
            answer = input(f"{scope}: certify and move all processed ABs, or only the last one? "
                           "[all/last] ").strip().lower()  # fmt: skip
            if answer in ("all", "last"):
                return answer

    def _report_finish(self, out, scope, result):
        moved = result.move
        out.write(f"{scope}: -M on {len(result.abs)} processed ABs: "
                  f"{len(result.auto_certified)} auto-certified, {len(moved.moved)} moved "
                  f"({len(moved.products)} products)")  # fmt: skip
        if moved.resumed:
            out.write(f"  finished interrupted moves of {', '.join(moved.resumed)}")
        for name, why in moved.refused:
            out.write(self.style.WARNING(f"  not moved: {name}: {why}"))
        failed = result.conversion_failures
        out.write(f"  IDPs: {result.idps_made} converted, {len(failed)} failed")
        for product, message in failed:
            out.write(self.style.ERROR(f"  conversion failed: {product}: {message}"))
        for queued in result.queued:
            out.write(f"  ingestion: {queued.created} requests queued"
                      + (f" ({queued.held} held for the master replacement)" if queued.held else "")
                      + (f", {queued.duplicates} duplicates not queued again" if queued.duplicates else ""))  # fmt: skip
        for name, why in result.waiting[:15]:
            out.write(f"  waiting: {name}: {why}")
        if len(result.waiting) > 15:
            out.write(f"  … and {len(result.waiting) - 15} more waiting (see --json)")

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
            parsed["finish"] = parsed["finish"] or options["finish"]
            parsed["no_cleanup"] = parsed["no_cleanup"] or options["no_cleanup"]
            parsed["which"] = parsed["which"] or options["which"]
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
