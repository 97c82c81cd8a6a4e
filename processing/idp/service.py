"""convert_product: the one entry point of the IDP conversion (CLI, -M, web pages, tests).

One call converts one certified science product: it builds the IDP and its ancillaries in
memory (build.py), writes them to sci/<date|run_ID>/idp/ (each through a temporary file and a
rename, the ancillaries first, so the IDP never names an ancillary that is not there), runs the
Phase 3 validator on the result, registers the files as Product rows (kind idp / ancillary,
source = the science product; a re-conversion updates them) and writes one IdpConversion row
(DFOS' CONVERTED log) and one AuditEvent, whether it succeeded or not. A failed conversion
leaves no partial file and an earlier IDP of the product as it was. The IDP of a product
that a re-processing superseded is taken over (and superseded) by its successor's.
"""

from pathlib import Path

from django.db import transaction
from django.utils import timezone

from processing import audit, layout
from processing.choices import ConversionStatus, IngestStatus, ProductKind, ProductState
from processing.files import atomic_write
from processing.idp.build import build_idp
from processing.idp.errors import ConversionError
from processing.models import AuditEvent, IdpConversion, IngestRequest, Product

CONVERTIBLE_STATES = (ProductState.CERTIFIED, ProductState.MOVED)
#: a product in these states owns its IDP path; a superseded one gives it up to its successor
LIVE_STATES = (ProductState.CERTIFIED, ProductState.MOVED, ProductState.INGESTED)
IDP_KINDS = (ProductKind.IDP, ProductKind.ANCILLARY)


def idp_dir(product):
    """<PHOENIX_DATA_ROOT>/sci/<date or run ID>/idp."""
    return layout.data_root() / "sci" / product.ab.pseudo_date / "idp"


def convert_product(product, *, user=None, actor_name=None, unless_converted=False):
    """Convert one science product; return the IdpConversion row written.

    `unless_converted` (-M, the bulk ingest): a product that has a valid IDP already keeps
    it, and its last successful conversion is returned — looked at under the product's lock,
    so two runs at once (a task delivered twice) convert it once. Without it (the product
    page's "convert"), the product is converted again."""
    actor = audit.actor_name_of(user, actor_name)
    try:
        with transaction.atomic():
            # one conversion of a product at a time: a second one waits, then replaces
            locked = (Product.objects.select_for_update(of=("self",))
                      .select_related("ab", "instance").get(pk=product.pk))  # fmt: skip
            if unless_converted:
                done = locked.conversions.filter(status=ConversionStatus.OK).order_by("-pk").first()
                if done is not None:
                    return done
            _check_convertible(locked)
            target = idp_dir(locked) / locked.name
            _check_not_taken(locked, target)
            built = build_idp(locked)
            paths = _write(built, target.parent)
            report = _validate(target)
            idp = _register(locked, built, paths, report)
            conversion = IdpConversion.objects.create(
                product=locked, idp=idp, status=ConversionStatus.OK, actor_name=actor,
                message=_message(locked, built, report), detail=built.detail | {
                    "idp": str(target), "validation": report},
            )  # fmt: skip
            audit.record("convert_idp", user=user, actor_name=actor, obj=locked,
                         message=conversion.message, detail={"idp": str(target),
                         "photzp_source": built.detail["photzp_source"],
                         "validation_errors": report.get("errors")})  # fmt: skip
            return conversion
    except (ConversionError, OSError) as exc:
        return _failed(product, exc, user, actor)


def convert_products(products, *, user=None, actor_name=None, unless_converted=False):
    """convert_product for each product; the IdpConversion rows in the same order."""
    actor = audit.actor_name_of(user, actor_name)
    return [convert_product(product, user=user, actor_name=actor,
                            unless_converted=unless_converted) for product in products]  # fmt: skip


def _check_convertible(product):
    if product.kind != ProductKind.SCIENCE:
        raise ConversionError(f"it is a {product.kind} product; only science products become IDPs")
    if product.state not in CONVERTIBLE_STATES:
        raise ConversionError(f"it is {product.state}; only certified or moved science products "
                              "are converted")  # fmt: skip
    if product.ab is None:
        raise ConversionError("it has no AB: its night and raw inputs are unknown")


def _check_not_taken(product, target):
    """The IDP path may hold the IDP of a product this one superseded (a re-processing of its
    AB, moved over it), not that of a live product: products not yet moved keep the recipe's
    file name, which the science products of other ABs of the night share."""
    other = Product.objects.filter(path=str(target), kind=ProductKind.IDP,
                                   source__state__in=LIVE_STATES).exclude(source=product).first()
    if other is not None:
        raise ConversionError(f"{target} is already the IDP of product {other.source_id} "
                              f"({other.source}); move the products first so that each has "
                              "its DFOS name")  # fmt: skip


def _write(built, directory):
    """Write the ancillaries, then the IDP; {name: path}."""
    paths = {}
    for item in [*built.ancillaries, built.idp]:
        paths[item.name] = atomic_write(Path(directory) / item.name, item.data)
    return paths


def _validate(path):
    """The Phase 3 validator's report on the file just written (plain JSON)."""
    from processing.phase3 import validate_file

    return validate_file(path).as_dict()


def _register(product, built, paths, report):
    """Create or update the IDP and ancillary Product rows of `product`; return the IDP row.
    Ancillaries of an earlier conversion that this one did not write again are removed; the
    IDP of a product this one superseded is superseded with it."""
    now = timezone.now()
    _supersede_predecessors(product, paths[built.idp.name], {str(p) for p in paths.values()})
    idp = _upsert(product, built.idp, paths[built.idp.name], now,
                  validation=report, pro_catg=product.pro_catg)  # fmt: skip
    kept = []
    for item in built.ancillaries:
        validation = _validate(paths[item.name]) if item.is_fits else {}
        kept.append(_upsert(product, item, paths[item.name], now, validation=validation,
                            pro_catg=item.category).pk)  # fmt: skip
    stale = Product.objects.filter(source=product, kind=ProductKind.ANCILLARY).exclude(pk__in=kept)
    for row in stale:
        Path(row.path).unlink(missing_ok=True)
    stale.delete()
    return idp


def _supersede_predecessors(product, idp_path, written):
    """The IDP rows (and their ancillaries) of the superseded products whose IDP was at
    `idp_path`: superseded, their files that this conversion did not write again removed,
    their ingestion requests not yet executed refused (the archive keeps what it took)."""
    sources = Product.objects.filter(path=str(idp_path), kind=ProductKind.IDP).exclude(
        source=product).values("source")
    rows = list(Product.objects.filter(source__in=sources, kind__in=IDP_KINDS).exclude(
        state=ProductState.SUPERSEDED))
    for row in rows:
        if row.path not in written:
            Path(row.path).unlink(missing_ok=True)
    ids = [row.pk for row in rows]
    Product.objects.filter(pk__in=ids).update(state=ProductState.SUPERSEDED)
    pending = IngestRequest.objects.filter(product_id__in=ids,
                                           status__in=(IngestStatus.HELD, IngestStatus.OPEN))
    pending.update(
        status=IngestStatus.REFUSED,
        error=f"superseded: the IDP of a re-processing ({product.name}) replaced this file",
    )  # fmt: skip


def _upsert(product, item, path, now, *, validation, pro_catg):
    values = {
        "instance_id": product.instance_id, "ab_id": product.ab_id, "path": str(path),
        "pro_catg": pro_catg, "state": ProductState.MOVED, "night": product.night,
        "mjd_obs": product.mjd_obs, "keywords": item.keywords, "md5": item.md5,
        "size": len(item.data), "moved_at": now, "validation": validation,
        "provenance": product.provenance,
    }  # fmt: skip
    if item.kind == ProductKind.IDP:
        lookup = {"source": product, "kind": ProductKind.IDP}
    else:
        lookup = {"source": product, "kind": ProductKind.ANCILLARY, "name": item.name}
    row, _ = Product.objects.update_or_create(**lookup, defaults={**values, "name": item.name})
    return row


def _message(product, built, report):
    text = f"{product.name} → idp/{built.idp.name}: {built.summary}"
    if report.get("errors"):
        first = next((f for f in report.get("findings", []) if f.get("severity") == "error"), {})
        text += (f"; the Phase 3 validator finds {report['errors']} error(s), e.g. "
                 f"{first.get('rule', '')} {first.get('keyword', '')}: {first.get('message', '')}")
    return text


def _failed(product, exc, user, actor):
    reason = str(exc) if isinstance(exc, ConversionError) else f"{type(exc).__name__}: {exc}"
    ab = f", AB {product.ab.ab_name}" if product.ab_id else ""
    message = f"{product.name} (product {product.pk}{ab}) not converted: {reason}"
    conversion = IdpConversion.objects.create(
        product=product, status=ConversionStatus.FAILED, message=message,
        detail={"reason": reason}, actor_name=actor,
    )  # fmt: skip
    audit.record("convert_idp", user=user, actor_name=actor, obj=product,
                 result=AuditEvent.Result.FAILED, message=message)  # fmt: skip
    return conversion
