"""Placeholder until this page is built (issue 6)."""

from django.http import HttpResponse


def home(request, *args, **kwargs):
    return HttpResponse("not built yet", status=501)


def instance(request, *args, **kwargs):
    return HttpResponse("not built yet", status=501)


def month(request, *args, **kwargs):
    return HttpResponse("not built yet", status=501)


def comment(request, *args, **kwargs):
    return HttpResponse("not built yet", status=501)
