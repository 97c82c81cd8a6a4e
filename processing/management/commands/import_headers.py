"""Import raw-frame headers (FITS, .fits.gz, .fits.fz, DFOS .hdr dumps) into the data pool."""

import json
import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from processing.data_pool import import_headers
from processing.models import Instance

MAX_LISTED = 20


class Command(BaseCommand):
    help = (
        "Import the primary headers of raw frames into the data pool, one row per ARCFILE. "
        "Directories are searched recursively. Re-importing is safe: unchanged headers are "
        "skipped, changed ones update the frame and are recorded."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", help="FITS/.hdr files or directories")
        parser.add_argument("--instance", help="only frames of this instance's instrument")
        parser.add_argument(
            "--json", action="store_true", dest="as_json",
            help="print a JSON summary as the last line",
        )
        parser.add_argument(
            "--workers", type=int, default=None,
            help="processes reading headers (default: one per CPU)",
        )

    def handle(self, *args, paths, instance, as_json, workers, **options):
        chosen = None
        if instance:
            chosen = Instance.objects.filter(name=instance).first()
            if chosen is None:
                names = ", ".join(Instance.objects.values_list("name", flat=True)) or "none"
                raise CommandError(
                    f"unknown instance {instance!r} (loaded: {names}; run load_instances)"
                )
        if workers is not None and workers < 1:
            raise CommandError("--workers must be at least 1")
        bar = _ProgressBar(enabled=sys.stderr.isatty())
        try:
            summary = import_headers(paths, instance=chosen, progress=bar, workers=workers)
        finally:
            bar.close()
        self._report(summary, as_json=as_json)
        if summary.failed:
            raise CommandError(f"{len(summary.failed)} file(s) could not be imported")

    def _report(self, summary, as_json):
        out = self.stderr if as_json else self.stdout
        for item in summary.warnings[:MAX_LISTED]:
            out.write(self.style.WARNING(f"warning: {item['path']}: " + "; ".join(item["messages"])))
        if len(summary.warnings) > MAX_LISTED:
            out.write(self.style.WARNING(
                f"… and {len(summary.warnings) - MAX_LISTED} more files with warnings"
            ))
        for item in summary.failed:
            self.stderr.write(self.style.ERROR(f"failed: {item['path']}: {item['reason']}"))
        line = (
            f"{summary.files} files in {summary.seconds:.1f} s: {summary.imported} imported, "
            f"{summary.updated} updated, {summary.unchanged} unchanged, "
            f"{len(summary.warnings)} with warnings, {len(summary.failed)} failed"
            + (f", {summary.skipped} other files skipped" if summary.skipped else "")
        )
        out.write(line)
        if as_json:
            self.stdout.write(json.dumps(summary.as_dict(), sort_keys=True, default=str))


class _ProgressBar:
    """tqdm on a terminal, nothing otherwise (logs and pipes get the summary only)."""

    def __init__(self, enabled):
        self.enabled = enabled
        self.bar = None

    def __call__(self, count):
        """First call: the number of files found; then the number of files done since."""
        if not self.enabled:
            return
        if self.bar is None:
            self.bar = tqdm(total=count, unit="file", desc="import", file=sys.stderr,
                            dynamic_ncols=True)
        else:
            self.bar.update(count)

    def close(self):
        if self.bar is not None:
            self.bar.close()
