"""ingest_products: execute the open ingestion requests (DFOS ingestProducts + JOBS_INGEST)."""

import json
import sys

from django.core.management.base import BaseCommand

from processing.archive import ingest_scope, reopen_requests
from processing.archive.ingest import Outcome
from processing.management.arguments import add_scope_arguments, instance_named, scope_of
from processing.models import IngestRequest

SHOWN = 50


class Command(BaseCommand):
    help = (
        "Ingest the open ingestion requests (of an instance, a night, a month or a run) into "
        "the archive: each once, with up to 3 attempts; IDPs must pass the Phase 3 "
        "validator. Exit status 1 when a request failed or was refused."
    )

    def add_arguments(self, parser):
        parser.add_argument("--instance", help="only this instance (default: all)")
        add_scope_arguments(parser, required=False)
        parser.add_argument("--dry-run", action="store_true",
                            help="check and say what would be ingested or refused; change nothing")
        parser.add_argument("--retry", action="store_true",
                            help="open the failed and refused requests of the scope again first")
        parser.add_argument("--json", action="store_true", dest="as_json",
                            help="print a JSON summary as the last line")

    def handle(self, *args, **options):
        instance = instance_named(options["instance"]) if options["instance"] else None
        night, month, run = options["date"], options["month"], options["run"]
        scope = scope_of(options)
        if options["retry"] and not options["dry_run"]:
            requests = IngestRequest.objects.all()
            if instance is not None:
                requests = requests.filter(instance=instance)
            if scope is not None:
                requests = requests.filter(scope.as_q())
            reopened = reopen_requests(requests)
            self.stderr.write(f"{len(reopened)} failed or refused requests open again")
        result = ingest_scope(instance, night=night, month=month, run_id=run,
                              dry_run=options["dry_run"])  # fmt: skip
        out = self.stderr if options["as_json"] else self.stdout
        self._report(out, result)
        if options["as_json"]:
            self.stdout.write(json.dumps(result.as_dict(), sort_keys=True, default=str))
        if not result.ok:
            sys.exit(1)

    def _report(self, out, result):
        would = "would be " if result.dry_run else ""
        for key in result.taken_back:
            out.write(self.style.WARNING(f"taken back  {key}: its ingester died; open again"))
        styles = {Outcome.INGESTED: self.style.SUCCESS, Outcome.ALREADY: str,
                  Outcome.REFUSED: self.style.ERROR, Outcome.FAILED: self.style.ERROR}  # fmt: skip
        for entry in result.entries[:SHOWN]:
            what = entry.key.rsplit(":", 1)[0]
            if entry.outcome == Outcome.INGESTED:
                detail = (f"→ {entry.adp_id or 'a new ADP id'} (version {entry.version}"
                          + (f", replaces {entry.replaces}" if entry.replaces else "") + ")")  # fmt: skip
            elif entry.outcome == Outcome.ALREADY:
                detail = f"= {entry.adp_id} (version {entry.version}): same content, no new record"
            else:
                detail = f": {entry.message}"
            out.write(styles[entry.outcome](f"{would}{entry.outcome:<16} {what} {detail}"))
        if len(result.entries) > SHOWN:
            out.write(f"… and {len(result.entries) - SHOWN} more (see --json)")
        counts = ", ".join(f"{n} {o}" for o, n in result.counts().items())
        out.write(f"{'dry run: ' if result.dry_run else ''}{counts}; "
                  f"{result.retried} attempts made again; "
                  f"{result.duplicates} duplicate queueings counted, never executed")  # fmt: skip
        if result.statuses:
            out.write("requests in scope: " + ", ".join(
                f"{n} {s}" for s, n in sorted(result.statuses.items())))  # fmt: skip
            if result.statuses.get("held"):
                out.write("held requests wait for the master-calibration replacement "
                          "(manage.py replace_masters --start)")  # fmt: skip
