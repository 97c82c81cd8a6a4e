"""validate_product: the one entry point that runs the Phase 3 validator on a registered
product and keeps the report (product page's "validate now"; ingestion and IDP conversion
store their own reports the same way).

Only IDPs and FITS ancillaries are judged by the Phase 3 standard; a master calibration or a
raw science product would fail rules that were never meant for it, so they are refused with
the reason instead of given a misleading report.
"""

from pathlib import Path

from django.utils import timezone

from processing import audit
from processing.choices import ProductKind
from processing.models import Product
from processing.phase3.validator import validate_file

VALIDATED_KINDS = (ProductKind.IDP, ProductKind.ANCILLARY)
PERMISSION = "processing.certify_products"


class ValidationRefused(Exception):
    """The product cannot be validated; the message names it and says why."""


def validate_product(product, *, user=None, actor_name=None):
    """Validate `product`'s file, store the report in Product.validation ({file, prodcatg,
    errors, warnings, findings, at}) and write an AuditEvent; return the report.
    ValidationRefused (nothing stored) when the user lacks the certifier role, the product
    is not an IDP or ancillary, or its file is missing or not FITS."""
    if user is not None and not user.has_perm(PERMISSION):
        raise ValidationRefused(f"{user.get_username()} may not validate products "
                                "(certifier role needed)")  # fmt: skip
    if product.kind not in VALIDATED_KINDS:
        raise ValidationRefused(f"{product.name} is a {product.get_kind_display()}; the Phase 3 "
                                "validator judges IDPs and their ancillaries")  # fmt: skip
    path = Path(product.path)
    if not path.is_file():
        raise ValidationRefused(f"{product.name}: its file is missing")
    with open(path, "rb") as stream:
        if stream.read(9) != b"SIMPLE  =":
            raise ValidationRefused(f"{product.name} is not a FITS file; the Phase 3 standard "
                                    "judges non-FITS ancillaries through their IDP")  # fmt: skip
    report = validate_file(path).as_dict() | {"at": timezone.now().isoformat()}
    Product.objects.filter(pk=product.pk).update(validation=report)
    product.validation = report
    audit.record("validate_idp", user=user, actor_name=audit.actor_name_of(user, actor_name),
                 obj=product, message=f"{product.name}: {report['errors']} error(s), "
                 f"{report['warnings']} warning(s)",
                 detail={"errors": report["errors"], "warnings": report["warnings"]})  # fmt: skip
    return report
