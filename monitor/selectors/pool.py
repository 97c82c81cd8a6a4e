"""Read queries for the monitor pages (no writes here)."""

from django.db.models import Count, Max, Min, Q

from processing.models import Instance, RawFrame


def data_pool_overview():
    """Per instrument: frames, nights, first and last night — one grouped query."""
    return list(
        RawFrame.objects.values("instrument")
        .annotate(
            frames=Count("id"),
            nights=Count("night", distinct=True),
            first_night=Min("night"),
            last_night=Max("night"),
        )
        .order_by("instrument")
    )


def nights_of(instrument):
    """One row per night: frame counts by DPR.CATG — one grouped query."""
    return (
        RawFrame.objects.filter(instrument=instrument)
        .values("night")
        .annotate(
            frames=Count("id"),
            science=Count("id", filter=Q(dpr_catg="SCIENCE")),
            calib=Count("id", filter=Q(dpr_catg="CALIB")),
            other=Count("id", filter=~Q(dpr_catg__in=["SCIENCE", "CALIB"])),
            runs=Count("run_id", distinct=True, filter=~Q(run_id="")),
            with_warnings=Count("id", filter=~Q(warnings=[])),
        )
        .order_by("-night")
    )


def frames_of_night(instrument, night):
    return (
        RawFrame.objects.filter(instrument=instrument, night=night)
        .defer("header", "keywords")
        .order_by("mjd_obs", "arcfile")
    )


def instances():
    return Instance.objects.all()
