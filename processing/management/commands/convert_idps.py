"""convert_idps: IDP conversion of the certified or moved science products of a scope."""

import json
import sys

from django.core.management.base import BaseCommand

from processing.choices import ConversionStatus, ProductKind
from processing.audit import cli_actor_name
from processing.idp import CONVERTIBLE_STATES, convert_product
from processing.management.arguments import add_scope_arguments, instance_named, scope_of
from processing.models import Product


class Command(BaseCommand):
    help = ("Convert the certified or moved science products of a date, a month or a run into "
            "IDPs (ESO SDP standard), those without a successful conversion yet (all with "
            "--force). Exit status 1 when a conversion failed or an IDP has validator "
            "errors.")  # fmt: skip

    def add_arguments(self, parser):
        parser.add_argument("--instance", required=True)
        add_scope_arguments(parser)
        parser.add_argument("--force", action="store_true",
                            help="convert again the products converted already")
        parser.add_argument("--json", action="store_true", dest="as_json",
                            help="print a JSON summary as the last line")

    def handle(self, *args, **options):
        instance, scope = instance_named(options["instance"]), scope_of(options)
        products = Product.objects.filter(
            instance=instance, kind=ProductKind.SCIENCE, state__in=CONVERTIBLE_STATES,
            ab__in=instance.abs.filter(scope.as_q()),
        ).select_related("ab")  # fmt: skip
        skipped = 0
        if not options["force"]:
            done = products.filter(conversions__status=ConversionStatus.OK)
            skipped = done.distinct().count()
            products = products.exclude(pk__in=done.values("pk"))
        products = list(products.order_by("night", "name", "pk"))
        out = self.stderr if options["as_json"] else self.stdout
        actor = cli_actor_name()
        conversions = []
        for product in products:  # one line per product as it is done
            conversions.append(convert_product(product, actor_name=actor))
            out.write(_line(conversions[-1]))
        failed = [c for c in conversions if c.status == ConversionStatus.FAILED]
        invalid = [c for c in conversions if c.status == ConversionStatus.OK
                   and c.detail.get("validation", {}).get("errors")]  # fmt: skip
        out.write(f"{scope}: {len(conversions) - len(failed)} converted ({len(invalid)} with "
                  f"Phase 3 validator errors), {len(failed)} failed, {skipped} converted "
                  f"already{' (--force converts them again)' if skipped else ''}")  # fmt: skip
        if options["as_json"]:
            self.stdout.write(json.dumps({
                "scope": str(scope), "converted": len(conversions) - len(failed),
                "failed": len(failed), "with_validator_errors": len(invalid),
                "already_converted": skipped,
                "products": [{"product": c.product.name, "status": c.status,
                              "idp": c.idp.path if c.idp else None,
                              "photzp_source": c.detail.get("photzp_source"),
                              "message": c.message} for c in conversions],
            }, sort_keys=True))  # fmt: skip
        if failed or invalid:
            sys.exit(1)


def _line(conversion):
    if conversion.status == ConversionStatus.FAILED:
        return f"FAILED  {conversion.message}"
    errors = conversion.detail.get("validation", {}).get("errors")
    flag = f"INVALID ({errors} validator errors)" if errors else "ok     "
    return f"{flag} {conversion.message}"
