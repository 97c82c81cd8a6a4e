"""Placeholder until this page is built (issue 6)."""

from django.http import HttpResponse


def form(request, *args, **kwargs):
    return HttpResponse("not built yet", status=501)
