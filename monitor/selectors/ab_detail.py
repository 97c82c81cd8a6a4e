"""Read queries of the AB page: one query per section, whatever the number of inputs,
calibrations, products or QC parameters (the page's query count does not grow with them)."""

from datetime import datetime, timedelta

from django.db.models import F, Value, Window
from django.db.models.functions import Abs, RowNumber
from django.shortcuts import get_object_or_404

from processing.models import AbAttempt, AbCalibration, AbInput, AssociationBlock, Product, QcParameter

#: QC trend: points per parameter name, the nearest in time to the AB (its history around it)
TREND_POINTS = 400
#: MJD 0
MJD_EPOCH = datetime(1858, 11, 17)


def ab(pk):
    """The AB with its instance and batch (without the instance's long config texts)."""
    return get_object_or_404(
        AssociationBlock.objects.select_related("instance", "batch")
        .defer("instance__config_text", "instance__rules_text"), pk=pk)  # fmt: skip


def inputs(ab):
    """The raw frames in SOF order, without their headers."""
    return list(AbInput.objects.filter(ab=ab).select_related("frame").only(
        "ab_id", "tag", "position", "frame__arcfile", "frame__path", "frame__night",
        "frame__mjd_obs", "frame__dpr_catg", "frame__dpr_type", "frame__dpr_tech",
        "frame__exptime", "frame__object",
    ))  # fmt: skip


def calibrations(ab):
    """The associated calibrations, with the product or frame used and the AB that made them."""
    return list(AbCalibration.objects.filter(ab=ab).select_related("product", "frame", "source_ab")
                .only("ab_id", "tag", "kind", "name", "pro_catg", "delta_t", "level", "position",
                      "product__name", "product__state", "frame__arcfile", "frame__path",
                      "source_ab__ab_name", "source_ab__status", "source_ab__certification"))  # fmt: skip


def attempts(ab):
    """Every attempt, the latest first."""
    return list(AbAttempt.objects.filter(ab=ab).order_by("-number"))


def products(ab):
    return list(Product.objects.filter(ab=ab).defer("provenance", "validation")
                .order_by("kind", "pro_catg", "name"))  # fmt: skip


def qc_parameters(ab):
    return list(QcParameter.objects.filter(ab=ab).select_related("product")
                .only("ab_id", "name", "value", "unit", "source", "description", "low", "high",
                      "score", "night", "mjd_obs", "product__name").order_by("name"))  # fmt: skip


def certifications(ab):
    return list(ab.certifications.all())


def trends(ab, names):
    """{parameter name: [(MJD-OBS, value, AB id, AB name)]} over the instance's ABs, in time
    order: for each name the TREND_POINTS values nearest in time to `ab` — one query."""
    if not names or ab.mjd_obs is None:
        return {}
    nearest = Window(RowNumber(), partition_by=[F("name")],
                     order_by=Abs(F("mjd_obs") - Value(ab.mjd_obs)).asc())  # fmt: skip
    rows = (QcParameter.objects
            .filter(ab__instance_id=ab.instance_id, name__in=names, value__isnull=False,
                    mjd_obs__isnull=False)
            .annotate(rank=nearest).filter(rank__lte=TREND_POINTS)
            .values_list("name", "mjd_obs", "value", "ab_id", "ab__ab_name"))  # fmt: skip
    found = {}
    for name, mjd, value, ab_id, ab_name in rows:
        found.setdefault(name, []).append((mjd, value, ab_id, ab_name))
    return {name: sorted(points) for name, points in found.items()}


def mjd_to_iso(mjd):
    """An MJD as an ISO date-time (UT), the x of a trend plot."""
    return (MJD_EPOCH + timedelta(days=mjd)).isoformat(timespec="seconds")
