"""replace_masters: the guided replacement of master calibrations after a COMPLETE_MODE
reprocessing (operational hints §6): --preview, --start, then --finish."""

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from processing.archive import (
    HideError,
    ReplacementError,
    find_replacement,
    finish_replacement,
    preview_replacement,
    start_replacement,
)
from processing.management.arguments import instance_named

SHOWN = 30


class Command(BaseCommand):
    help = (
        "Replace the master calibrations of a night range: --preview shows the old masters "
        "(static ones excluded), the new held ones and conflicts; --start hides the old, forces "
        "calSelector to raw2raw and releases the new for ingestion; --finish switches the "
        "range to raw2master once every new master is ingested."
    )

    def add_arguments(self, parser):
        parser.add_argument("--instance", required=True)
        parser.add_argument("--from", dest="start", required=True, help="first night, YYYY-MM-DD")
        parser.add_argument("--to", dest="end", required=True, help="last night, YYYY-MM-DD")
        parser.add_argument("--reason", help="why (required by --start)")
        step = parser.add_mutually_exclusive_group(required=True)
        step.add_argument("--preview", action="store_true", help="show what --start would do")
        step.add_argument("--start", action="store_true", dest="begin",
                          help="hide the old masters, raw2raw, release the new ones")
        step.add_argument("--finish", action="store_true", help="back to raw2master")
        parser.add_argument("--dry-run", action="store_true",
                            help="with --finish: say whether it could finish, change nothing")
        parser.add_argument("--json", action="store_true", dest="as_json",
                            help="print a JSON summary as the last line")

    def handle(self, *args, **options):
        instance = instance_named(options["instance"])
        out = self.stderr if options["as_json"] else self.stdout
        start, end = options["start"], options["end"]
        try:
            if options["finish"]:
                result = finish_replacement(find_replacement(instance, start, end),
                                            dry_run=options["dry_run"])  # fmt: skip
                out.write(result.message)
                summary = {"replacement": result.replacement.pk, "step": result.replacement.step,
                           "ready": result.ready, "statuses": result.statuses}  # fmt: skip
            elif options["begin"] and not options["dry_run"]:
                result = start_replacement(instance, start, end, reason=options["reason"])
                self._plan(out, result.plan, "hidden")
                replacement = result.replacement
                out.write(self.style.SUCCESS(
                    f"replacement #{replacement.pk}: {len(result.hidden)} old masters hidden, "
                    f"calSelector raw2raw for {replacement.start}…{replacement.end}, "
                    f"{result.released} new masters released for ingestion; when they are "
                    f"ingested: replace_masters --instance {instance.name} --from {start} "
                    f"--to {end} --finish"))  # fmt: skip
                summary = {"replacement": replacement.pk, "step": replacement.step,
                           **replacement.summary}  # fmt: skip
            else:
                plan = preview_replacement(instance, start, end)
                self._plan(out, plan, "to hide")
                for problem in plan.problems():
                    out.write(self.style.ERROR(f"cannot start: {problem}"))
                summary = plan.as_dict()
        except (ReplacementError, HideError) as exc:
            raise CommandError(str(exc)) from None
        if options["as_json"]:
            self.stdout.write(json.dumps(summary, sort_keys=True, default=str))
        if options["finish"] and options["dry_run"] and not result.ready:
            sys.exit(1)

    def _plan(self, out, plan, verb):
        out.write(f"{plan.instance.name} {plan.start}…{plan.end}")
        out.write(f"  old masters {verb}: {len(plan.old_masters)}")
        for record in plan.old_masters[:SHOWN]:
            out.write(f"    {record.adp_id} {record.origfile} ({record.night})")
        out.write(f"  static calibrations, never hidden: {len(plan.static)}")
        for record in plan.static:
            out.write(self.style.WARNING(f"    {record.adp_id} {record.origfile} (stays current)"))
        out.write(f"  new masters held for ingestion: {len(plan.new_masters)}")
        for request in plan.new_masters[:SHOWN]:
            out.write(f"    {request.key.rsplit(':', 1)[0]} ({request.night})")
