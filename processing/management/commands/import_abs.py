"""Read ABs from DFOS text files (historical ABs as an instance's AB source)."""

import json

from django.core.management.base import BaseCommand, CommandError

from processing.abs.files import import_abs
from processing.models import Instance


class Command(BaseCommand):
    help = "Import AB files (*.ab; directories are searched). Processed ABs are kept."

    def add_arguments(self, parser):
        parser.add_argument("--instance", required=True)
        parser.add_argument("paths", nargs="+")
        parser.add_argument("--json", action="store_true", dest="as_json")

    def handle(self, *args, instance, paths, as_json, **options):
        chosen = Instance.objects.filter(name=instance).first()
        if chosen is None:
            raise CommandError(f"--instance: unknown instance {instance!r}")
        result = import_abs(chosen, paths)
        out = self.stderr if as_json else self.stdout
        for item in result.failed:
            self.stderr.write(self.style.ERROR(f"failed: {item['path']}: {item['reason']}"))
        out.write(f"{len(result.created)} created, {len(result.updated)} updated, "
                  f"{len(result.kept_processed)} processed kept, {len(result.failed)} failed")
        if as_json:
            self.stdout.write(json.dumps(result.__dict__, sort_keys=True))
        if result.failed:
            raise CommandError(f"{len(result.failed)} AB file(s) could not be imported")
