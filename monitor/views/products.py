"""Placeholder until this page is built (issue 6)."""

from django.http import HttpResponse


def page(request, *args, **kwargs):
    return HttpResponse("not built yet", status=501)


def preview(request, *args, **kwargs):
    return HttpResponse("not built yet", status=501)


def download(request, *args, **kwargs):
    return HttpResponse("not built yet", status=501)
