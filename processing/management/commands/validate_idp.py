"""validate_idp: check IDP files against the ESO Phase 3 rules (docs/PHASE3.md)."""

import json

from django.core.management.base import BaseCommand, CommandError

from processing.phase3 import RULES, validate_batch


class Command(BaseCommand):
    help = ("Validate IDP files against the ESO Phase 3 rules, as one batch (a cube and its "
            "white-light image are checked together). One line per finding, a summary per "
            "file; exit status 1 when any file has an error. --rules lists the rules.")

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="*", metavar="FILE", help="IDP FITS files")
        parser.add_argument("--json", action="store_true", dest="as_json",
                            help="print a JSON list of the reports instead")
        parser.add_argument("--rules", action="store_true",
                            help="list the rules (id, severity, what they expect) and exit")

    def handle(self, *args, files, as_json, rules, **options):
        if rules:
            self._list_rules()
            return
        if not files:
            raise CommandError("give one or more FITS files (or --rules to list the rules)")
        reports = validate_batch(files)
        if as_json:
            self.stdout.write(json.dumps([report.as_dict() for report in reports], indent=1))
        else:
            for report in reports:
                self._print(report)
        failed = [report for report in reports if not report.ok]
        if failed:
            raise CommandError(f"{len(failed)} of {len(reports)} file(s) have errors: "
                               + ", ".join(report.file for report in failed))

    def _print(self, report):
        for finding in report.findings:
            style = self.style.ERROR if finding.severity == "error" else self.style.WARNING
            self.stdout.write(style(
                f"{report.file}: {finding.severity} {finding.rule} {finding.where()} "
                f"{finding.keyword or '-'}: {finding.message}"))
        verdict = "OK" if report.ok else "REJECTED"
        self.stdout.write(
            f"{report.file}: {report.prodcatg or 'no PRODCATG'}: {len(report.errors)} error(s), "
            f"{len(report.warnings)} warning(s): {verdict}")

    def _list_rules(self):
        self.stdout.write("| rule | severity | applies to | expects |")
        self.stdout.write("|---|---|---|---|")
        for rule in RULES:
            text = rule.describe().replace("|", "\\|")
            self.stdout.write(f"| {rule.id} | {rule.severity} | {rule.scope} | {text} |")
