from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, render

from monitor.selectors import pool as selectors
from processing.models import RawFrame

NIGHTS_PER_PAGE = 100
FRAMES_PER_PAGE = 200


@login_required
def home(request):
    return render(
        request,
        "monitor/pool.html",
        {"instances": selectors.instances(), "pool": selectors.data_pool_overview()},
    )


@login_required
def nights(request, instrument):
    page = Paginator(selectors.nights_of(instrument), NIGHTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    if not page.object_list:
        raise Http404(f"No frames of instrument {instrument} in the data pool.")
    return render(request, "monitor/nights.html", {"instrument": instrument, "page": page})


@login_required
def night(request, instrument, night):
    page = Paginator(selectors.frames_of_night(instrument, night), FRAMES_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request, "monitor/night.html", {"instrument": instrument, "night": night, "page": page}
    )


@login_required
def frame(request, pk):
    frame = get_object_or_404(RawFrame, pk=pk)
    return render(
        request,
        "monitor/frame.html",
        {
            "frame": frame,
            "keywords": sorted(frame.keywords.items()),
            "changes": frame.header_changes.all(),
        },
    )
