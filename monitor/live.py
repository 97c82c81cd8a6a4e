"""Live partials: htmx polls them (templatetag `poll`) while the tab is visible; a partial whose
content is final answers with status 286, htmx's "stop polling"."""

from django.shortcuts import render

#: htmx stops polling an element whose response has this status
STOP_POLLING = 286


def partial(request, template, context, final=False):
    """Render a polled partial; `final` tells htmx to stop polling it."""
    response = render(request, template, context)
    if final and request.htmx:
        response.status_code = STOP_POLLING
    return response
