"""certify_abs: certify or reject the products of processed ABs from the command line."""

import json

from django.core.management.base import BaseCommand, CommandError

from processing.certification import CertificationError, certify, reject
from processing.choices import AbStatus
from processing.management.arguments import add_scope_arguments, instance_named, scope_of
from processing.models import AssociationBlock


class Command(BaseCommand):
    help = ("Certify (--certify) or reject (--reject, with --comment) the products of the "
            "processed, not yet judged ABs of a date, a month or a run, or of one AB (-a).")  # fmt: skip

    def add_arguments(self, parser):
        parser.add_argument("--instance", required=True)
        add_scope_arguments(parser)
        parser.add_argument("-a", "--ab", help="only this AB")
        verdict = parser.add_mutually_exclusive_group(required=True)
        verdict.add_argument("--certify", dest="decision", action="store_const", const="certified")
        verdict.add_argument("--reject", dest="decision", action="store_const", const="rejected")
        parser.add_argument("--comment", default="", help="why (required with --reject)")
        parser.add_argument("--json", action="store_true", dest="as_json")

    def handle(self, *args, **options):
        instance, scope = instance_named(options["instance"]), scope_of(options)
        abs_ = AssociationBlock.objects.filter(instance=instance).filter(scope.as_q())
        if options["ab"]:
            abs_ = abs_.filter(ab_name=options["ab"])
            if not abs_.exists():
                raise CommandError(f"-a: no AB {options['ab']} in {scope}")
        else:  # a whole scope: the ABs nobody judged yet (a verdict is changed one AB at a time)
            abs_ = abs_.filter(status=AbStatus.SUCCESS, moved_at__isnull=True, certification="")
        abs_ = list(abs_.select_related("instance"))
        try:
            if options["decision"] == "certified":
                result = certify(abs_, comment=options["comment"])
            else:
                result = reject(abs_, comment=options["comment"])
        except CertificationError as exc:
            raise CommandError(str(exc)) from None
        if options["as_json"]:
            self.stdout.write(json.dumps(result.as_dict(), sort_keys=True))
            return
        self.stdout.write(f"{scope}: {len(result.done)} ABs {result.decision}, "
                          f"{len(result.unchanged)} had that verdict already, "
                          f"{len(result.refused)} refused")  # fmt: skip
        for name, why in result.refused:
            self.stdout.write(self.style.WARNING(f"  {name}: {why}"))
        if result.refused and not result.done:
            raise CommandError("no AB was given the verdict")
