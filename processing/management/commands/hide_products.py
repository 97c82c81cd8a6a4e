"""hide_products: hide archived files of a night range or by ADP id, with a reason (DFOS: a
hide request to DBCM); static calibrations are never hidden. --unhide reverses it."""

import json

from django.core.management.base import BaseCommand, CommandError

from processing.archive import HideError, hide_records, unhide_records
from processing.archive.hiding import DEFAULT_KINDS, HIDEABLE_KINDS
from processing.management.arguments import instance_named

SHOWN = 50


class Command(BaseCommand):
    help = (
        "Hide the current archive records of a night range (IDPs and ancillaries unless "
        "--kind says otherwise) or the ADP ids given, with a reason. Static calibrations are "
        "never hidden; those in the range are listed. --dry-run shows what would be hidden."
    )

    def add_arguments(self, parser):
        parser.add_argument("--instance", required=True)
        parser.add_argument("--from", dest="start", help="first night, YYYY-MM-DD")
        parser.add_argument("--to", dest="end", help="last night (included), YYYY-MM-DD")
        parser.add_argument("--kind", action="append", choices=HIDEABLE_KINDS,
                            help=f"kinds to hide (repeat; default {' '.join(DEFAULT_KINDS)})")
        parser.add_argument("--adp", action="append", metavar="ADP_ID",
                            help="an ADP id to hide (repeat) instead of a range")
        parser.add_argument("--reason", required=True, help="why (kept with every record)")
        parser.add_argument("--unhide", action="store_true",
                            help="make the hidden records --adp current again")
        parser.add_argument("--dry-run", action="store_true", help="show, change nothing")
        parser.add_argument("--json", action="store_true", dest="as_json",
                            help="print a JSON summary as the last line")

    def handle(self, *args, **options):
        instance = instance_named(options["instance"])
        out = self.stderr if options["as_json"] else self.stdout
        try:
            if options["unhide"]:
                result = unhide_records(instance, adp_ids=options["adp"], reason=options["reason"],
                                        dry_run=options["dry_run"])  # fmt: skip
                self._report_unhide(out, result)
            else:
                result = hide_records(instance, start=options["start"], end=options["end"],
                                      kinds=options["kind"] or DEFAULT_KINDS,
                                      adp_ids=options["adp"], reason=options["reason"],
                                      dry_run=options["dry_run"])  # fmt: skip
                self._report_hide(out, result)
        except HideError as exc:
            raise CommandError(str(exc)) from None
        if options["as_json"]:
            self.stdout.write(json.dumps(result.as_dict(), sort_keys=True))

    def _report_hide(self, out, result):
        verb = "would hide" if result.dry_run else "hidden"
        for record in result.hidden[:SHOWN]:
            out.write(f"{verb:<10} {record.adp_id} {record.origfile} ({record.kind}, {record.night})")
        if len(result.hidden) > SHOWN:
            out.write(f"… and {len(result.hidden) - SHOWN} more (see --json)")
        for record in result.excluded:
            out.write(self.style.WARNING(f"excluded   {record.adp_id} {record.origfile}: static "
                                         "calibration, never hidden"))  # fmt: skip
        for adp, why in result.skipped:
            out.write(self.style.WARNING(f"skipped    {adp}: {why}"))
        request = f" (hide request #{result.request.pk})" if result.request else ""
        out.write(f"{'dry run: ' if result.dry_run else ''}{len(result.hidden)} records "
                  f"{verb}{request}, {len(result.excluded)} static calibrations excluded")  # fmt: skip

    def _report_unhide(self, out, result):
        verb = "would unhide" if result.dry_run else "unhidden"
        for record in result.unhidden:
            out.write(f"{verb:<12} {record.adp_id} {record.origfile}")
        for adp, why in result.skipped:
            out.write(self.style.WARNING(f"skipped      {adp}: {why}"))
        out.write(f"{len(result.unhidden)} records {verb}, {len(result.skipped)} skipped")
