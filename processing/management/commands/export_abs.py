"""Write the ABs of a scope as DFOS text files (`<AB_NAME>.ab`)."""

from django.core.management.base import BaseCommand, CommandError

from processing.abs.files import export_abs
from processing.abs.scope import Scope, ScopeError
from processing.models import AssociationBlock, Instance


class Command(BaseCommand):
    help = "Export ABs in the DFOS text form (docs/AB_FORMAT.md), one file per AB."

    def add_arguments(self, parser):
        parser.add_argument("--instance", required=True)
        scope = parser.add_mutually_exclusive_group(required=True)
        scope.add_argument("-d", "--date")
        scope.add_argument("-m", "--month")
        scope.add_argument("-r", "--run")
        parser.add_argument("--out", required=True, help="directory for the .ab files")

    def handle(self, *args, instance, date, month, run, out, **options):
        chosen = Instance.objects.filter(name=instance).first()
        if chosen is None:
            raise CommandError(f"--instance: unknown instance {instance!r}")
        try:
            scope = Scope.from_arguments(date, month, run)
        except ScopeError as exc:
            raise CommandError(str(exc)) from None
        abs_ = AssociationBlock.objects.filter(scope.as_q(), instance=chosen)
        try:
            paths = export_abs(abs_, out)
        except OSError as exc:
            raise CommandError(f"--out: cannot write into {out}: {exc.strerror or exc}") from None
        self.stdout.write(f"{len(paths)} AB file(s) written to {out}")
