"""The product page, its preview and its download. Files are found through the Product row
(by id), never through a path in the URL; monitor/files.py checks the recorded path."""

from django.shortcuts import get_object_or_404

from monitor import files
from processing.models import Product


def page(request, pk):
    from django.http import HttpResponse

    return HttpResponse("not built yet", status=501)


def preview(request, pk):
    from django.http import HttpResponse

    return HttpResponse("not built yet", status=501)


def download(request, pk):
    """The product file as an attachment, under the name it has now."""
    product = get_object_or_404(Product, pk=pk)
    return files.send(request, product.path, download_name=product.name, label=product.name)
