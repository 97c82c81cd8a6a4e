"""Write simulated raw frames of an instance's instrument (NACO only) for development and tests.

Thin on purpose: argument checks and the report live here, the simulation in
processing.simulation (pure Python, usable without Django).
"""

import json
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from processing.models import Instance
from processing.simulation import MANIFEST, simulate_nights
from processing.simulation.naco import MAX_NIGHTS

SIMULATED_INSTRUMENTS = ("NACO",)


class Command(BaseCommand):
    help = (
        "Simulate nights of raw frames (darks, twilight flats, jitter science, standard stars, "
        "unsupported modes and a few broken files) under OUT/<night>/, with a manifest "
        f"OUT/{MANIFEST} listing every file and the truth behind it. Only NACO."
    )

    def add_arguments(self, parser):
        parser.add_argument("--instance", required=True, help="a loaded instance, e.g. NACO")
        parser.add_argument("--start", required=True, help="first night, YYYY-MM-DD")
        parser.add_argument("--nights", required=True, help=f"number of nights, 1 … {MAX_NIGHTS}")
        parser.add_argument("--out", required=True, help="output directory (created if missing)")
        parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
        parser.add_argument(
            "--no-broken", action="store_true", help="do not write the deliberately broken files"
        )
        parser.add_argument(
            "--json", action="store_true", dest="as_json",
            help="print a JSON summary as the last line",
        )

    def handle(self, *args, instance, start, nights, out, seed, no_broken, as_json, **options):
        self._check_instance(instance)
        first = _parse_start(start)
        count = _parse_nights(nights)
        directory = _check_out(out)
        try:
            manifest = simulate_nights(first, count, directory, seed=seed, broken=not no_broken)
        except (OSError, ValueError) as exc:
            raise CommandError(f"simulation failed: {exc}") from None
        summary = {**manifest.summary(), "out": str(directory),
                   "manifest": str(directory / MANIFEST)}
        line = (
            f"{summary['files']} files over {summary['nights']} night(s) from {first} "
            f"({summary['broken']} broken) written to {directory}"
        )
        (self.stderr if as_json else self.stdout).write(line)
        if as_json:
            self.stdout.write(json.dumps(summary, sort_keys=True))

    def _check_instance(self, name):
        instance = Instance.objects.filter(name=name).first()
        if instance is None:
            loaded = ", ".join(Instance.objects.values_list("name", flat=True)) or "none"
            raise CommandError(
                f"--instance: unknown instance {name!r} (loaded: {loaded}; run load_instances)"
            )
        if instance.instrument not in SIMULATED_INSTRUMENTS:
            raise CommandError(
                f"--instance: {name} is an instance of {instance.instrument}; only "
                f"{', '.join(SIMULATED_INSTRUMENTS)} can be simulated"
            )


def _parse_start(text):
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--start: {text!r} is not a date of the form YYYY-MM-DD") from None


def _parse_nights(text):
    try:
        count = int(text)
    except ValueError:
        raise CommandError(f"--nights: {text!r} is not a whole number") from None
    if not 1 <= count <= MAX_NIGHTS:
        raise CommandError(f"--nights: must be between 1 and {MAX_NIGHTS}, not {count}")
    return count


def _check_out(text):
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise CommandError(f"--out: {text} is a file, not a directory")
    for parent in path.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise CommandError(f"--out: {parent} is a file, so {text} cannot be created")
            break
    return path
