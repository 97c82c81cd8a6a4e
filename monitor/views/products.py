"""The product page, its preview, its download and "validate now". Files are found through the
Product row (by id), never through a path in the URL; monitor/files.py checks the recorded
path before anything is read."""

from datetime import datetime

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from monitor import files, previews
from monitor.access import requires
from monitor.selectors import products as selectors
from processing.phase3.service import VALIDATED_KINDS, ValidationRefused, validate_product

#: the stretches the page offers, in the order shown
STRETCH_CHOICES = list(previews.STRETCHES)


def page(request, pk):
    product = selectors.product(pk)
    headers = selectors.headers(product)
    context = {
        "product": product,
        "headers": headers,
        "keywords": sorted(product.keywords.items()) if headers.fallback else [],
        "shown_path": files.shown(product.path),
        "previewable": previews.is_fits(product.name) or product.name.lower().endswith(".png"),
        "stretches": STRETCH_CHOICES,
        "validatable": product.kind in VALIDATED_KINDS,
        **validation_context(product),
        **selectors.page(product),
    }
    return render(request, "monitor/products/page.html", context)


def validation_context(product):
    """The stored Phase 3 report, split for the table (errors first)."""
    report = product.validation or {}
    findings = sorted(report.get("findings") or [],
                      key=lambda f: (f.get("severity") != "error", f.get("hdu") is None,
                                     f.get("hdu") or 0, f.get("rule", "")))  # fmt: skip
    return {"validation": report, "findings": findings, "validated_at": _when(report.get("at"))}


def _when(text):
    """The report's ISO time stamp as a datetime (None when absent or garbled)."""
    try:
        return datetime.fromisoformat(text) if text else None
    except (TypeError, ValueError):
        return None


def preview(request, pk):
    """The PNG preview: a FITS image rendered (?stretch, ?percentile, ?size), a PNG plot as
    it is. Bad options → 400, nothing to show → 422, no file → 404; each names the product."""
    product = selectors.product(pk)
    try:
        path = files.resolve(product.path)
    except files.Unavailable as refusal:
        return files.unavailable(request, product.name, str(refusal))
    if path.suffix.lower() == ".png":
        return files.send(request, product.path, as_attachment=False, download_name=product.name,
                          content_type="image/png", label=product.name)  # fmt: skip
    if not previews.is_fits(path.name):
        return files.unavailable(request, product.name, "it is not an image; download it instead",
                                 status=422)  # fmt: skip
    try:
        options = previews.Options.from_query(request.GET)
        png = previews.preview_png(product, path, options)
    except previews.PreviewError as error:
        return files.unavailable(request, product.name, str(error), status=error.status)
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "private, max-age=300"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def download(request, pk):
    """The product file as an attachment, under the name it has now."""
    product = selectors.product(pk)
    return files.send(request, product.path, download_name=product.name, label=product.name)


@require_POST
@requires("processing.certify_products", "validate products")
def validate(request, pk):
    """Run the Phase 3 validator now (processing.phase3.service) and show its report."""
    product = selectors.product(pk)
    error = ""
    try:
        validate_product(product, user=request.user)
    except ValidationRefused as refusal:
        error = str(refusal)
    context = {"product": product, "validatable": product.kind in VALIDATED_KINDS,
               "validation_error": error, **validation_context(product)}  # fmt: skip
    if request.htmx:
        return render(request, "monitor/products/validation.html", context,
                      status=422 if error else 200)  # fmt: skip
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"{product.name} validated: {product.validation['errors']} "
                                  f"error(s), {product.validation['warnings']} warning(s).")
    return redirect("monitor:product", pk=product.pk)
