"""Placeholder until this page is built (issue 6)."""

from django.http import HttpResponse


def page(request, *args, **kwargs):
    return HttpResponse("not built yet", status=501)


def status(request, *args, **kwargs):
    return HttpResponse("not built yet", status=501)


def log(request, *args, **kwargs):
    return HttpResponse("not built yet", status=501)


def log_tail(request, *args, **kwargs):
    return HttpResponse("not built yet", status=501)


def ab_file(request, *args, **kwargs):
    return HttpResponse("not built yet", status=501)


def action(request, *args, **kwargs):
    return HttpResponse("not built yet", status=501)
