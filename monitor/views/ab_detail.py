"""The AB page: its DFOS text form, inputs, calibrations, dependency graph, attempts and logs,
products, QC with trends, certification history, audit trail — and the actions a user's role
and the AB's state allow (certify, reject, re-run with dependants, cancel, move, ingest).

Actions only call the ONE entry point in processing/ for each; a refusal (wrong state, missing
comment, the entry point's own check) comes back as that entry point's message with a 400,
a missing role as a 403 — in place through htmx, or on the page without it.
"""

from dataclasses import dataclass
from pathlib import Path

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header

from monitor import files, graphs
from monitor.access import requires
from monitor.live import partial
from monitor.selectors import ab_detail as selectors
from monitor.selectors.audit import trail
from processing import certification, finishing, moving
from processing.abs.files import format_ab
from processing.archive.access import ArchiveAccessError
from processing.archive.queueing import IngestError
from processing.choices import (
    ACTIVE_STATES,
    FINAL_STATES,
    AbStatus,
    CertificationDecision,
    Completeness,
    ProductKind,
    QcStatus,
)
from processing.naming import NamingError
from processing.queue import actions as queue_actions

#: lines of the log shown in the tail
TAIL_LINES = 200
#: bytes read from the end of a log for its tail (long recipe lines are cut there)
TAIL_BYTES = 256 * 1024
#: longest certification comment accepted
MAX_COMMENT = 2000
#: QC states in which the scores are still coming
QC_ACTIVE = ("queued", "running")
#: product kinds shown as FITS thumbnails when they hold an image
IMAGE_KINDS = (ProductKind.MASTER, ProductKind.SCIENCE, ProductKind.IDP)


class Refused(Exception):
    """The action was not done; the message says why (shown to the user as is)."""


# --- pages and partials ---------------------------------------------------------------------


def page(request, pk):
    ab = selectors.ab(pk)
    return render(request, "monitor/ab_detail/page.html", _page_context(request, ab))


def status(request, pk):
    """The live status block: polled while the AB or its QC job may still change."""
    ab = selectors.ab(pk)
    return partial(request, "monitor/ab_detail/status.html", _status_context(ab),
                   final=_final(ab))  # fmt: skip


def log_tail(request, pk):
    """The last lines of the current attempt's log; polling stops once the AB stops running."""
    ab = selectors.ab(pk)
    attempt = ab.attempt_rows.order_by("-number").first()
    context = {"ab": ab, "attempt": attempt, "running": ab.status == AbStatus.RUNNING}
    context.update(_tail(attempt))
    return partial(request, "monitor/ab_detail/log_tail.html", context,
                   final=ab.status != AbStatus.RUNNING)  # fmt: skip


def log(request, pk):
    """The full log of the latest attempt, or of `?attempt=N`: only the path recorded on the
    attempt row is served (monitor.files refuses anything outside the data root)."""
    ab = selectors.ab(pk)
    asked = request.GET.get("attempt", "")
    attempts = ab.attempt_rows.order_by("-number")
    if asked:
        if not asked.isdigit():
            return files.unavailable(request, f"log of {ab.ab_name}",
                                     f"attempt {asked[:40]!r} is not an attempt number")  # fmt: skip
        attempts = attempts.filter(number=int(asked))
    attempt = attempts.first()
    if attempt is None:
        reason = f"it has no attempt {asked}" if asked else "it has not run yet"
        return files.unavailable(request, f"log of {ab.ab_name}", reason)
    name = f"{ab.ab_name}.attempt-{attempt.number}.log"
    return files.send(request, attempt.log_path, download_name=name, content_type="text/plain",
                      label=f"log of {ab.ab_name} attempt {attempt.number}")  # fmt: skip


def ab_file(request, pk):
    """The AB in the DFOS text form (processing.abs.files.format_ab), as `<AB_NAME>.ab`."""
    ab = selectors.ab(pk)
    text = _ab_text(ab, selectors.inputs(ab), selectors.calibrations(ab))
    response = HttpResponse(text, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, f"{ab.ab_name}.ab")
    return response


# --- actions --------------------------------------------------------------------------------


def action(request, pk, action):
    """POST /abs/<pk>/<action>/: unknown action 404, GET 405, missing role 403, refusal 400."""
    spec = ACTIONS.get(action)
    if spec is None:
        raise Http404(f"AB pages have no action {action[:40]!r}")
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    ab = selectors.ab(pk)
    return requires(spec.permission, spec.what)(_act)(request, ab, spec)


def _act(request, ab, spec):
    try:
        outcome, level = spec.run(request, ab), "success"
    except (Refused, certification.CertificationError, queue_actions.ActionError,
            moving.MoveError, NamingError, IngestError, ArchiveAccessError, OSError) as exc:
        outcome, level = f"{spec.label} {ab.ab_name}: {exc}", "error"
    status_code = 400 if level == "error" else 200
    ab = selectors.ab(ab.pk)
    if request.htmx:
        context = _status_context(ab) | {"outcome": outcome, "level": level,
                   "actions": _actions_for(request.user, ab, _has_products(ab)), "oob": True,
                   "certifications": selectors.certifications(ab)}  # fmt: skip
        return render(request, "monitor/ab_detail/action_result.html", context,
                      status=status_code)  # fmt: skip
    if level == "error":
        context = _page_context(request, ab) | {"outcome": outcome, "level": level}
        return render(request, "monitor/ab_detail/page.html", context, status=status_code)
    messages.success(request, outcome)
    return redirect("monitor:ab", pk=ab.pk)


def _comment(request, required=False):
    comment = (request.POST.get("comment") or "").strip()
    if len(comment) > MAX_COMMENT:
        raise Refused(f"the comment is {len(comment)} characters long, at most {MAX_COMMENT} "
                      "are kept")  # fmt: skip
    return comment


def _verdict(request, ab, give, decision):
    result = give([ab], comment=_comment(request), user=request.user)
    if result.refused:
        raise Refused(result.refused[0][1])
    if result.unchanged:
        return f"{ab.ab_name} was {decision} already; nothing changed."
    return f"{ab.ab_name} {decision} by {request.user.get_username()}."


def _certify(request, ab):
    return _verdict(request, ab, certification.certify, CertificationDecision.CERTIFIED)


def _reject(request, ab):
    return _verdict(request, ab, certification.reject, CertificationDecision.REJECTED)


def _rerun(request, ab):
    batch = queue_actions.rerun_with_dependants(ab, user=request.user)
    dependants = batch.abs.exclude(pk=ab.pk).count()
    return f"{ab.ab_name} re-runs with {dependants} dependants in batch #{batch.pk}."


def _cancel(request, ab):
    cancelled, stopping = queue_actions.cancel([ab], user=request.user)
    if cancelled:
        return f"{ab.ab_name} cancelled (its pending dependants are upstream failed)."
    if stopping:
        return f"{ab.ab_name} is being stopped: its worker kills the recipe within seconds."
    raise Refused(f"it is {ab.status}; only pending, queued or running ABs can be cancelled")


def _move(request, ab):
    result = moving.move([ab], user=request.user)
    if result.refused:
        raise Refused(result.refused[0][1])
    if ab.ab_name not in result.moved:
        raise Refused("its products were moved already")
    return f"{ab.ab_name}: {len(result.products)} products moved to their final place."


def _ingest(request, ab):
    if not ab.moved_at:
        raise Refused("its products are not moved yet; certify and move them first")
    result = finishing.convert_and_queue(ab.instance, [ab], user=request.user)
    failed = [f"{product}: {message}" for product, message in result.conversion_failures]
    created, held = result.requests("created"), result.requests("held")
    duplicates = result.requests("duplicates")
    if failed and not created:
        raise Refused("IDP conversion failed: " + "; ".join(failed))
    if not created and not duplicates:
        return f"{ab.ab_name}: every moved product has an ingestion request already."
    text = f"{ab.ab_name}: {created} ingestion requests queued"
    text += f" ({held} held for the replacement workflow)" if held else ""
    text += f", {duplicates} duplicates not queued again" if duplicates else ""
    text += f"; conversion failed for {'; '.join(failed)}" if failed else ""
    return text + "."


def _has_products(ab):
    """Whether the AB has products a verdict applies to."""
    return ab.products.filter(kind__in=certification.JUDGED_KINDS).exists()


def _judgeable(ab):
    return (ab.status == AbStatus.SUCCESS and ab.qc_status not in QC_ACTIVE
            and not ab.moved_at)  # fmt: skip


@dataclass(frozen=True)
class Action:
    label: str
    permission: str
    what: str  # completes "<user> may not …"
    run: object  # (request, ab) → message, or raises
    offered: object  # ab → whether the AB's state allows it (the entry point decides anyway)
    comment: str = ""  # "", "optional" or "required"
    confirm: str = ""  # asked before posting ("" : no confirmation)
    danger: bool = False


ACTIONS = {
    "certify": Action("Certify", "processing.certify_products", "certify products", _certify,
                      lambda ab: _judgeable(ab) and ab.certification != "certified",
                      comment="optional"),
    "reject": Action("Reject", "processing.certify_products", "reject products", _reject,
                     lambda ab: _judgeable(ab) and ab.certification != "rejected",
                     comment="required", danger=True),
    "rerun": Action("Re-run with dependants", "processing.operate_batches", "re-run ABs", _rerun,
                    lambda ab: ab.status in FINAL_STATES
                    and ab.completeness == Completeness.COMPLETE,
                    confirm="Re-run {name} and every AB that depends on it, in a new batch?"),
    "cancel": Action("Cancel", "processing.operate_batches", "cancel ABs", _cancel,
                     lambda ab: ab.status in ACTIVE_STATES and not ab.cancel_requested,
                     confirm="Cancel {name}? Its pending dependants become upstream failed.",
                     danger=True),
    "move": Action("Move", "processing.move_products", "move products", _move,
                   lambda ab: ab.certification == "certified" and not ab.moved_at,
                   confirm="Move the certified products of {name} to their final place?"),
    "ingest": Action("Ingest", "processing.ingest_products", "ingest products", _ingest,
                     lambda ab: bool(ab.moved_at),
                     confirm="Convert and queue the moved products of {name} for ingestion?"),
}  # fmt: skip


def _actions_for(user, ab, judged):
    """The actions the user may take on the AB in its state, for the buttons (`judged`: it has
    products a verdict applies to)."""
    return [{"name": name, "spec": spec, "confirm": spec.confirm.format(name=ab.ab_name)}
            for name, spec in ACTIONS.items()
            if user.has_perm(spec.permission) and spec.offered(ab)
            and (judged or name not in ("certify", "reject"))]  # fmt: skip


# --- helpers ---------------------------------------------------------------------------------


def _final(ab):
    return ab.status not in ACTIVE_STATES and ab.qc_status not in QC_ACTIVE


def _status_context(ab):
    return {"ab": ab, "final": _final(ab), "qc_colour": QcStatus.colour(ab.qc_status)}


def _delta_text(days):
    """Δt as a QC scientist reads it: signed days, with hours when under a day."""
    if abs(days) < 1:
        return f"{days:+.2f} d ({days * 24:+.1f} h)"
    return f"{days:+.1f} d"


def _ab_text(ab, inputs, calibrations, dependencies=None):
    if dependencies is None:
        dependencies = list(ab.depends_on.values_list("ab_name", flat=True))
    return format_ab(ab, inputs, calibrations, dependencies)


def _tail(attempt):
    """{"lines", "truncated", "problem"} of the last TAIL_LINES lines of an attempt's log."""
    if attempt is None:
        return {"lines": [], "problem": "it has not run yet"}
    try:
        real = files.resolve(attempt.log_path)
    except files.Unavailable as why:
        return {"lines": [], "problem": str(why)}
    with open(real, "rb") as handle:
        size = handle.seek(0, 2)
        handle.seek(max(0, size - TAIL_BYTES))
        lines = handle.read().decode("utf-8", errors="replace").splitlines()
    if size > TAIL_BYTES:
        lines = lines[1:]  # the first one is cut
    return {"lines": lines[-TAIL_LINES:], "truncated": len(lines) > TAIL_LINES or size > TAIL_BYTES}


def _page_context(request, ab):
    inputs, calibrations = selectors.inputs(ab), selectors.calibrations(ab)
    products, parameters = selectors.products(ab), selectors.qc_parameters(ab)
    attempts = selectors.attempts(ab)
    graph = graphs.dependency_graph(ab)
    dependencies = [node.name for node in graph.direct(upstream=True)]
    names = sorted({p.name for p in parameters})
    judged = any(p.kind in certification.JUDGED_KINDS for p in products)
    for calibration in calibrations:
        calibration.delta_text = _delta_text(calibration.delta_t)
    for parameter in parameters:
        parameter.shown = "—" if parameter.value is None else f"{parameter.value:.6g}"
    return _status_context(ab) | {
        "running": ab.status == AbStatus.RUNNING, "trend_points": selectors.TREND_POINTS,
        "ab_text": _ab_text(ab, inputs, calibrations, dependencies),
        "inputs": inputs, "calibrations": calibrations,
        "graph": graph, "graph_svg": graphs.svg(graph) if len(graph.nodes) > 1 else "",
        "attempts": attempts, "tail": _tail(attempts[0] if attempts else None),
        "products": [_product_row(p) for p in products if p.kind != ProductKind.PLOT],
        "plots": [p for p in products if p.kind == ProductKind.PLOT],
        "parameters": parameters,
        "trends": _trend_figures(ab, parameters, selectors.trends(ab, names)),
        "certifications": selectors.certifications(ab),
        "audit_events": trail(ab),
        "actions": _actions_for(request.user, ab, judged),
    }  # fmt: skip


def _product_row(product):
    """A FITS master, science product or IDP gets a thumbnail. Whether it holds a 2-D image
    only the file tells (the registered keywords leave out NAXIS, processing/headers.py
    STRUCTURAL); one that has none answers the preview with an error and the page drops
    the thumbnail (onerror in the template)."""
    image = product.kind in IMAGE_KINDS and Path(product.path).suffix.lower() in (".fits", ".fit")
    return {"product": product, "image": image}


def _trend_figures(ab, parameters, trends):
    """A plotly figure per QC parameter: its values over the instance's history, this AB's
    value highlighted, the thresholds drawn."""
    figures = []
    for index, parameter in enumerate(parameters):
        points = trends.get(parameter.name) or []
        if not points:
            continue
        here = [pt for pt in points if pt[2] == ab.pk]
        shapes = [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": limit, "y1": limit,
                   "line": {"color": "#d62728", "dash": "dash", "width": 1}}
                  for limit in (parameter.low, parameter.high) if limit is not None]  # fmt: skip
        figures.append({
            "id": f"qc-trend-{index}", "name": parameter.name, "points": len(points),
            "data": [
                {"type": "scatter", "mode": "markers", "name": "instance history",
                 "x": [selectors.mjd_to_iso(pt[0]) for pt in points], "y": [pt[1] for pt in points],
                 "text": [pt[3] for pt in points],
                 "customdata": [reverse("monitor:ab", args=[pt[2]]) for pt in points],
                 "marker": {"size": 5, "color": "#1f5fa8"},
                 "hovertemplate": "%{text}<br>%{x}<br>%{y}<extra></extra>"},
                {"type": "scatter", "mode": "markers", "name": "this AB",
                 "x": [selectors.mjd_to_iso(pt[0]) for pt in here], "y": [pt[1] for pt in here],
                 "marker": {"size": 12, "color": "#ff7f0e", "symbol": "diamond",
                            "line": {"color": "#1d2733", "width": 1}},
                 "hoverinfo": "skip"},
            ],
            "layout": {"title": {"text": parameter.name, "font": {"size": 13}}, "height": 240,
                       "margin": {"l": 55, "r": 10, "t": 30, "b": 35}, "showlegend": False,
                       "xaxis": {"type": "date", "title": {"text": "UT"}},
                       "yaxis": {"title": {"text": parameter.unit}}, "shapes": shapes},
        })  # fmt: skip
    return figures
