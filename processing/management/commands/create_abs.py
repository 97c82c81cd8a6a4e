"""createAB: make the Association Blocks of a date, a month or a run (DEEP)."""

import json

from django.core.management.base import BaseCommand, CommandError

from processing.abs.create import CreateAbsError, create_abs
from processing.abs.scope import Scope, ScopeError
from processing.models import Instance

LISTED = 15


class Command(BaseCommand):
    help = (
        "Classify the data pool of a scope with the instance's OCA rules, organise it into "
        "ABs and associate calibrations. Unprocessed ABs of the scope are replaced, "
        "processed ones are kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("--instance", required=True)
        scope = parser.add_mutually_exclusive_group(required=True)
        scope.add_argument("-d", "--date", help="a night, YYYY-MM-DD")
        scope.add_argument("-m", "--month", help="a month, YYYY-MM")
        scope.add_argument("-r", "--run", help="a run ID (DEEP instances), e.g. 094.B-0298(A)")
        parser.add_argument("-a", "--ab", help="with -r: only this AB (TARGET_SELECT)")
        parser.add_argument("--mode", choices=["CALIB", "SCIENCE"], help="only CALIB or SCIENCE ABs")
        parser.add_argument("--dry-run", action="store_true", help="show what would be made")
        parser.add_argument("--json", action="store_true", dest="as_json",
                            help="print a JSON summary as the last line")

    def handle(self, *args, instance, date, month, run, ab, mode, dry_run, as_json, **options):
        chosen = Instance.objects.filter(name=instance).first()
        if chosen is None:
            names = ", ".join(Instance.objects.values_list("name", flat=True)) or "none"
            raise CommandError(f"--instance: unknown instance {instance!r} (loaded: {names})")
        try:
            scope = Scope.from_arguments(date, month, run)
            result = create_abs(chosen, scope, category=mode, ab_name=ab, dry_run=dry_run)
        except (ScopeError, CreateAbsError) as exc:
            raise CommandError(str(exc)) from None
        summary = result.summary()
        out = self.stderr if as_json else self.stdout
        write_report(self, out, result, summary)
        if as_json:
            self.stdout.write(json.dumps(summary, sort_keys=True, default=str))


def write_report(command, out, result, summary):
    """What createAB made, for a terminal (also used by the phoenix command)."""
    verb = "would make" if result.dry_run else "made"
    counts = ", ".join(f"{n} {t}" for t, n in summary["per_raw_type"].items()) or "none"
    out.write(f"{result.scope}: {verb} {summary['abs']} ABs ({summary['calib_abs']} CALIB, "
              f"{summary['science_abs']} SCIENCE): {counts}")  # fmt: skip
    if not result.dry_run:
        out.write(f"  {summary['created']} created, {summary['updated']} updated, "
                  f"{len(summary['removed'])} removed, {len(summary['kept_processed'])} "
                  "processed ABs kept as they are")  # fmt: skip
    for notice in summary["notices"]:
        out.write(command.style.WARNING(f"  note: {notice}"))
    for item in summary["incomplete"][:LISTED]:
        out.write(command.style.WARNING(f"  INCOMPLETE {item['ab']}: " + "; ".join(item["missing"])))
    _listed(out, "incomplete", summary["incomplete"])
    if summary["not_created"]:
        reasons = {}
        for entry in summary["not_created"]:
            reasons[entry["why"]] = reasons.get(entry["why"], 0) + 1
        for why, count in reasons.items():
            out.write(f"  {count} AB(s) of the scope not created: {why}")
    for kind in ("unclassified", "unsupported"):
        entries = summary[kind]
        if entries:
            out.write(command.style.WARNING(f"  {len(entries)} {kind} frame(s), not in any AB:"))
            for entry in entries[:LISTED]:
                detail = entry.get("raw_type") or entry["dpr"]
                out.write(f"    {entry['arcfile']} ({detail})")
            _listed(out, kind, entries)


def _listed(out, what, entries):
    if len(entries) > LISTED:
        out.write(f"    … and {len(entries) - LISTED} more {what} (see --json)")
