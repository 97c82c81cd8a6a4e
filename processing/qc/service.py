"""run_qc: the QC job of one AB (DFOS processQC + scoreQC).

Reads the AB's master/science products, extracts their QC1 parameters, scores them against
the instance's thresholds, draws the plots, and replaces — in one transaction — the AB's
QcParameter rows, its plot Products, qc_score and auto_certify_proposed. It never touches
qc_status (processing.tasks.process_qc owns that) and never raises for a bad product file:
the file is named in a warning and the other products are still checked.
"""

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from processing.choices import ProductKind, ProductState
from processing.qc import plots
from processing.qc.extract import MEASURES, extract_product
from processing.qc.thresholds import ThresholdError, Thresholds, parse_thresholds

logger = logging.getLogger(__name__)

#: The products the QC job checks.
CHECKED_KINDS = (ProductKind.MASTER, ProductKind.SCIENCE)
#: PRO.CATG of the plot products.
PLOT_HTML = "QC_PLOT_HTML"
PLOT_PNG = "QC_PLOT_PNG"


@dataclass
class QcResult:
    """What run_qc did. `parameters` and `plots` are the saved QcParameter / Product rows;
    `score` is the AB's qc_score (1 any outlier, 0 all scored passed, None nothing scored);
    `proposed` its auto_certify_proposed; `failed` the product files that could not be read."""

    parameters: list = field(default_factory=list)
    score: int | None = None
    proposed: bool = False
    plots: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    checked: int = 0  # products whose file was read
    failed: list = field(default_factory=list)


def worst_score(scores):
    scored = [s for s in scores if s is not None]
    if not scored:
        return None
    return max(scored)


def _thresholds(instance, warnings):
    config = (instance.config or {}).get("qc") or {}
    try:
        return parse_thresholds(config.get("thresholds") or {})
    except ThresholdError as exc:
        warnings.append(f"instance {instance.name}: QC thresholds not usable ({exc}); "
                        "nothing is scored")
        return Thresholds()


def _plot_state(products):
    """Plots share the state of the AB's products (the most common one)."""
    states = Counter(p.state for p in products)
    return states.most_common(1)[0][0] if states else ProductState.VIRTUAL


def _parameters(ab, extracted, thresholds):
    """Unsaved QcParameter rows, scored. A header keyword that several products of the AB
    carry with the same value (e.g. the four naco_img_dark products) is kept once."""
    from processing.models import QcParameter

    rows, seen = [], set()
    for item in extracted:
        product = item.product
        for m in item.measurements:
            key = (m.name, m.value)
            if m.source == "header" and key in seen:
                continue
            seen.add(key)
            rule = thresholds.rule_for(m.name, item.pro_catg, item.keywords)
            rows.append(QcParameter(
                ab=ab, product=product, name=m.name[:80], value=m.value, unit=m.unit[:20],
                source=m.source, description=m.description[:200],
                low=rule.low if rule else None, high=rule.high if rule else None,
                score=rule.score(m.value) if rule else None,
                night=product.night or ab.night,
                mjd_obs=product.mjd_obs if product.mjd_obs is not None else ab.mjd_obs,
            ))
    return rows


def _trends(ab, rows):
    """Trend panels: scored parameters first, then computed, then header; one per name."""
    from processing.models import QcParameter

    order = sorted(rows, key=lambda r: (r.score is None, r.source != "computed", r.name))
    names = []
    for row in order:
        if row.value is not None and row.name not in names:
            names.append(row.name)
    trends = []
    for name in names[: plots.MAX_TRENDS]:
        own = [r for r in rows if r.name == name and r.value is not None]
        history = list(
            QcParameter.objects.filter(ab__instance_id=ab.instance_id, name=name,
                                       value__isnull=False, mjd_obs__lt=ab.mjd_obs)
            .exclude(ab_id=ab.pk)
            .order_by("-mjd_obs")
            .values_list("mjd_obs", "value", "score")[: plots.HISTORY_POINTS]
        )
        history.reverse()
        first = own[0]
        trends.append(plots.Trend(
            name=name, unit=first.unit, history=history,
            current=[(r.mjd_obs, r.value, r.score) for r in own if r.mjd_obs is not None],
            low=first.low, high=first.high,
        ))
    return trends


def _write_plots(ab, extracted, rows, result):
    """Write the HTML and PNG; return [(path, pro_catg)] of the files written."""
    directory = plots.plot_dir(ab)
    shown = [item for item in extracted if item.thumbnail is not None]
    # the products whose category we measure (not e.g. the hot-pixel maps beside a master
    # dark); the others only when there is nothing else to show
    shown = [item for item in shown if item.pro_catg in MEASURES] or shown
    images = [(item.product.name or item.path.name, item.thumbnail, item.histogram)
              for item in shown]
    title = f"{ab.ab_name} — QC ({ab.instance.name}, {ab.pseudo_date or 'undated'})"
    figure = plots.build_figure(title, images, _trends(ab, rows))
    written = []
    html = directory / f"{ab.ab_name}_qc.html"
    try:
        plots.write_html(figure, html)
        written.append((html, PLOT_HTML))
    except OSError as exc:
        result.warnings.append(f"{html}: not written: {exc}")
    png = directory / f"{ab.ab_name}_qc.png"
    try:
        warning = plots.write_png(figure, png, [t for _, t, _ in images[:plots.MAX_IMAGE_PRODUCTS]])
    except OSError as exc:
        warning = f"{png}: not written: {exc}"
    if warning:
        result.warnings.append(warning)
    if png.is_file() and not warning.endswith("no image to show"):
        written.append((png, PLOT_PNG))
    return written


def _plot_products(ab, written, state):
    import hashlib

    from processing.models import Product

    products = []
    for path, pro_catg in written:
        data = Path(path).read_bytes()
        products.append(Product(
            instance_id=ab.instance_id, ab=ab, name=Path(path).name, path=str(path),
            pro_catg=pro_catg, kind=ProductKind.PLOT, state=state, night=ab.night,
            mjd_obs=ab.mjd_obs, keywords={}, md5=hashlib.md5(data).hexdigest(), size=len(data),
        ))
    return products


#: products of an earlier processing of the AB, moved on already: not judged again
FINISHED_STATES = (ProductState.MOVED, ProductState.INGESTED, ProductState.SUPERSEDED)


def run_qc(ab):
    """Run the QC job of `ab` and store its results; return a QcResult."""
    from processing.models import AssociationBlock, Product, QcParameter

    result = QcResult()
    instance = ab.instance
    thresholds = _thresholds(instance, result.warnings)
    # the products of the last attempt: moved ones of an earlier processing are not judged again
    products = list(ab.products.filter(kind__in=CHECKED_KINDS).exclude(state__in=FINISHED_STATES)
                    .order_by("name", "pk"))  # fmt: skip
    extracted = []
    for product in products:
        item = extract_product(product)
        if item.error:
            result.failed.append(str(item.path))
            result.warnings.append(item.error)
            continue
        result.checked += 1
        result.warnings += item.warnings
        extracted.append(item)
    if not products:
        result.warnings.append(f"{ab.ab_name}: no master or science products to check")
    # products with computed parameters first: they get the thumbnails and, for header
    # keywords several products repeat, the parameter rows
    extracted.sort(key=lambda item: (item.pro_catg not in MEASURES, item.product.name))

    rows = _parameters(ab, extracted, thresholds)
    result.score = worst_score(r.score for r in rows)
    auto_certify = bool(((instance.config or {}).get("qc") or {}).get("auto_certify"))
    result.proposed = bool(auto_certify and result.score == 0 and not result.failed)

    written = []
    if extracted or rows:
        try:
            written = _write_plots(ab, extracted, rows, result)
        except Exception as exc:  # plots are an aid: their failure must not lose the scores
            logger.exception("QC plots of %s failed", ab.ab_name)
            result.warnings.append(f"{ab.ab_name}: plots failed: {type(exc).__name__}: {exc}")
    plot_rows = _plot_products(ab, written, _plot_state(products))

    with transaction.atomic():
        # lock the AB so that two QC runs of it (which the task prevents) would serialise
        list(AssociationBlock.objects.select_for_update().filter(pk=ab.pk).values_list("pk"))
        QcParameter.objects.filter(ab=ab).delete()
        Product.objects.filter(ab=ab, kind=ProductKind.PLOT).delete()
        result.plots = Product.objects.bulk_create(plot_rows)
        result.parameters = QcParameter.objects.bulk_create(rows)
        AssociationBlock.objects.filter(pk=ab.pk).update(
            qc_score=result.score, auto_certify_proposed=result.proposed
        )
    ab.qc_score, ab.auto_certify_proposed = result.score, result.proposed
    try:
        _remove_stale(plots.plot_dir(ab), ab.ab_name, {Path(p) for p, _ in written})
    except OSError as exc:
        result.warnings.append(f"{ab.ab_name}: old plot files not removed: {exc}")
    return result


def _remove_stale(directory, ab_name, keep):
    """Plot files of an earlier run that this run did not write again (e.g. its PNG)."""
    if not directory.is_dir():
        return
    for path in directory.iterdir():
        if path.name.startswith(f"{ab_name}_qc.") and path not in keep:
            try:
                path.unlink()
            except FileNotFoundError:
                pass
