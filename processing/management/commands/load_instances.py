"""Validate and load the instance files under processing/instances/ (or PHOENIX_INSTANCES_DIR)."""

from django.core.management.base import BaseCommand, CommandError

from processing import audit
from processing.instance_config import (
    CONFIG_FILE,
    InstanceConfigError,
    instance_dirs,
    load_instance,
    parse_config,
)


class Command(BaseCommand):
    help = "Validate processing/instances/<NAME>/config.toml files and load them as instances."

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="*", help="instance names (default: all)")
        parser.add_argument("--dir", help="instances directory (default: PHOENIX_INSTANCES_DIR)")
        parser.add_argument(
            "--check", action="store_true", help="validate only, change nothing"
        )

    def handle(self, *args, names, dir, check, **options):
        try:
            directories = instance_dirs(dir)
        except InstanceConfigError as exc:
            raise CommandError(str(exc)) from None
        if names:
            known = {d.name: d for d in directories}
            missing = [n for n in names if n not in known]
            if missing:
                raise CommandError(
                    f"no instance directory for {', '.join(missing)}; "
                    f"found: {', '.join(known) or 'none'}"
                )
            directories = [known[n] for n in names]
        if not directories:
            raise CommandError("no instance directories with a config.toml found")
        errors = []
        for directory in directories:
            try:
                if check:
                    parse_config(directory / CONFIG_FILE)
                    self.stdout.write(f"{directory.name}: valid")
                    continue
                instance, created, changed = load_instance(directory)
            except InstanceConfigError as exc:
                errors.append(str(exc))
                self.stderr.write(self.style.ERROR(str(exc)))
                continue
            state = "created" if created else ("updated" if changed else "unchanged")
            self.stdout.write(f"{instance.name}: {state} ({instance.mode}, engine {instance.engine})")
            if changed:
                audit.record("load_instance", obj=instance, message=state,
                             detail={"config_hash": instance.config_hash,
                                     "rules_hash": instance.rules_hash})
        if errors:
            raise CommandError(f"{len(errors)} instance file(s) invalid")
