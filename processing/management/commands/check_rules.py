"""check_rules: parse an OCA rule file, summarise it and classify headers with it."""

import json

from django.core.management.base import BaseCommand, CommandError

from processing.data_pool.importer import ImportSummary
from processing.data_pool.files import find_header_files
from processing.headers import HeaderError, read_header
from processing.oca import OcaSyntaxError, parse_rules_file


class Command(BaseCommand):
    help = ("Parse an OCA rule file (with its #include files), print a summary (rules, "
            "actions, tags) and, given FITS or .hdr files or directories, their classification.")

    def add_arguments(self, parser):
        parser.add_argument("file", help="the OCA rule file")
        parser.add_argument("--classify", nargs="+", metavar="PATH", default=[],
                            help="FITS files, .hdr dumps or directories to classify")
        parser.add_argument("-I", "--include-dir", action="append", default=[],
                            help="a further directory to search for #include files")
        parser.add_argument("--json", action="store_true", dest="as_json",
                            help="print one JSON object (summary and classifications)")

    def handle(self, *args, file, classify, include_dir, as_json, **options):
        try:
            ruleset = parse_rules_file(file, include_dirs=include_dir)
        except OcaSyntaxError as exc:
            raise CommandError(str(exc)) from None
        summary = ruleset.summary()
        results, failed = self._classify(ruleset, classify)
        if as_json:
            summary["classified"] = results
            summary["failed"] = failed
            self.stdout.write(json.dumps(summary, sort_keys=True))
        else:
            self._print(summary, results, failed)
        if failed:
            raise CommandError(f"{len(failed)} file(s) could not be read")

    def _classify(self, ruleset, paths):
        if not paths:
            return [], []
        listing = ImportSummary()
        results = []
        for path in find_header_files(paths, listing):
            try:
                read = read_header(path)
            except HeaderError as exc:
                listing.failed.append({"path": path, "reason": str(exc)})
                continue
            assigned = ruleset.classify(read.keywords)
            results.append({"path": path, "arcfile": read.keywords.get("ARCFILE", ""),
                            "classification": {k: str(v) for k, v in assigned.items()}})
        return results, listing.failed

    def _print(self, summary, results, failed):
        write = self.stdout.write
        write(f"{summary['source']}: {summary['classification_rules']} classification rules, "
              f"{summary['organisation_rules']} organisation rules, {len(summary['actions'])} "
              "actions")
        if len(summary["files"]) > 1:
            write("  files: " + ", ".join(summary["files"]))
        for label in ("actions", "raw_types", "tags", "recipes"):
            write(f"  {label.replace('_', ' ')}: " + (", ".join(summary[label]) or "none"))
        for warning in summary["warnings"]:
            write(self.style.WARNING(f"  warning: {warning}"))
        for item in results:
            found = item["classification"]
            text = "  ".join(f"{k}={v}" for k, v in found.items()) or "UNCLASSIFIED"
            write(f"{item['arcfile'] or item['path']}: {text}")
        for item in failed:
            write(self.style.ERROR(f"{item['path']}: {item['reason']}"))
