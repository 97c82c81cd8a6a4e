"""Placeholder until this page is built (issue 6)."""

from django.http import HttpResponse


def index(request, *args, **kwargs):
    return HttpResponse("not built yet", status=501)


def page(request, *args, **kwargs):
    return HttpResponse("not built yet", status=501)


def progress(request, *args, **kwargs):
    return HttpResponse("not built yet", status=501)


def cancel(request, *args, **kwargs):
    return HttpResponse("not built yet", status=501)
