"""phoenixMonitor: the instances (home), an instance's years × months grid and calendar (or its
runs, DEEP), a month's lines (one per date), and the date comments entered on them."""

from datetime import date

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from monitor import calendar_heatmap, live
from monitor.access import refuse
from monitor.selectors import overview as selectors
from processing import comments
from processing.abs.scope import Scope, ScopeError

#: stands for the night in the AB monitor link the calendar's cells open
DATE_PLACEHOLDER = "0000-00-00"


@require_GET
def home(request):
    totals = selectors.instance_totals()
    rows = [(instance, totals.get(instance.pk, selectors.Line(""))) for instance in selectors.instances()]
    return render(request, "monitor/overview/home.html", {"rows": rows})


@require_GET
def instance(request, instance):
    instance = _instance(instance)
    if selectors.is_deep(instance):
        return render(request, "monitor/overview/runs.html", _runs_context(request, instance))
    nights = selectors.night_counts(instance)
    raw = selectors.raw_nights(instance)
    return render(request, "monitor/overview/instance.html", {
        **_grid_context(instance, nights, raw), "figure": calendar_heatmap.figure(nights, raw),
        "legend": calendar_heatmap.legend(),
        "date_url": reverse("monitor:date", args=[instance.name, DATE_PLACEHOLDER]),
        "date_placeholder": DATE_PLACEHOLDER,
    })  # fmt: skip


@require_GET
def instance_grid(request, instance):
    """The polled years × months grid, while some AB of the instance is pending, queued or
    running; 286 once none is."""
    instance = _instance(instance)
    if selectors.is_deep(instance):
        raise Http404(f"{instance.name} is a DEEP instance: it shows runs, not months.")
    context = _grid_context(instance, selectors.night_counts(instance), selectors.raw_nights(instance))
    return live.partial(request, "monitor/overview/grid.html", context, final=not context["live"])


def _grid_context(instance, nights, raw):
    months = selectors.month_grid(nights, raw)
    years = sorted({year for year, _ in months}, reverse=True)
    grid = [(year, [(f"{year:04d}-{number:02d}", months.get((year, number))) for number in range(1, 13)],
             _sum(line for (y, _), line in months.items() if y == year)) for year in years]  # fmt: skip
    return {"instance": instance, "grid": grid, "month_names": calendar_heatmap.MONTHS,
            "live": any(line.active for line in months.values() if line)}  # fmt: skip


@require_GET
def runs_table(request, instance):
    """The polled table of a DEEP instance's runs."""
    instance = _instance(instance)
    if not selectors.is_deep(instance):
        raise Http404(f"{instance.name} is not a DEEP instance: it has no runs.")
    context = _runs_context(request, instance)
    return live.partial(request, "monitor/overview/lines.html", context, final=not context["live"])


@require_GET
def month(request, instance, month):
    instance, scope = _instance(instance), _month(month)
    _no_deep(instance)
    return render(request, "monitor/overview/month.html", _month_context(request, instance, scope))


@require_GET
def month_table(request, instance, month):
    """The polled table of a month page: it stops (286) once every AB shown is final."""
    instance, scope = _instance(instance), _month(month)
    _no_deep(instance)
    context = _month_context(request, instance, scope)
    return live.partial(request, "monitor/overview/lines.html", context, final=not context["live"])


@require_POST
def comment(request, instance, month=None):
    """Set or clear the comment of one date of the month (or one run of a DEEP instance); the
    answer is the date's line, with the form and the message when the comment was refused."""
    instance = _instance(instance)
    if not may_comment(request.user):
        return refuse(request, f"{request.user.get_username()} may not comment dates "
                               "(operator or certifier role needed).")  # fmt: skip
    pseudo_date = request.POST.get("pseudo_date", "").strip()
    text = request.POST.get("text", "")
    reason = _pseudo_date_error(instance, month, pseudo_date)
    if reason:
        return _refused_line(request, instance, month, f"Comment not saved: {reason}.")
    try:
        comments.set_date_comment(instance, pseudo_date, text, user=request.user)
    except comments.CommentError as exc:
        return _line_response(request, instance, month, pseudo_date,
                              error=f"Comment on {pseudo_date} not saved: {exc}.", text=text,
                              status=422)  # fmt: skip
    return _line_response(request, instance, month, pseudo_date)


def may_comment(user):
    return any(user.has_perm(permission) for permission in comments.PERMISSIONS)


def _instance(name):
    instance = selectors.instance_named(name)
    if instance is None:
        raise Http404(f"No instance {name}: load it with manage.py load_instances.")
    return instance


def _month(text):
    try:
        return Scope.for_month(text)
    except (ScopeError, ValueError):  # e.g. 0000-01: no such year
        raise Http404(f"{text} is not a month.") from None


def _no_deep(instance):
    if selectors.is_deep(instance):
        raise Http404(f"{instance.name} is a DEEP instance: its ABs are listed by run ID on "
                      "its page, not by month.")  # fmt: skip


def _sum(lines):
    total = selectors.Line("")
    for line in lines:
        total.add(line)
    return total


def _month_context(request, instance, scope):
    settings = selectors.MonitorSettings.of(instance)
    lines, total = selectors.date_lines(instance, scope.first, scope.last, settings)
    year, number = scope.first.year, scope.first.month
    previous = f"{year - (number == 1):04d}-{(number - 2) % 12 + 1:02d}"
    following = f"{year + (number == 12):04d}-{number % 12 + 1:02d}"
    return {
        **_lines_context(request, instance, settings, lines, total,
                         reverse("monitor:month_table", args=[instance.name, scope.value]),
                         reverse("monitor:date_comment", args=[instance.name, scope.value])),
        "month": scope.value, "previous": previous if year > 1 or number > 1 else None,
        "following": following if year < 9999 or number < 12 else None,
    }  # fmt: skip


def _runs_context(request, instance):
    settings = selectors.MonitorSettings.of(instance)
    lines, total = selectors.run_lines(instance, settings)
    return _lines_context(request, instance, settings, lines, total,
                          reverse("monitor:runs_table", args=[instance.name]),
                          reverse("monitor:run_comment", args=[instance.name]))  # fmt: skip


def _lines_context(request, instance, settings, lines, total, table_url, comment_url):
    return {
        "instance": instance, "settings": settings, "lines": lines, "total": total,
        "deep": selectors.is_deep(instance), "live": total.active > 0,
        "files_bold": total.files > settings.max_total_number,
        "table_url": table_url, "comment_url": comment_url,
        "can_comment": may_comment(request.user), "max_length": comments.MAX_LENGTH,
    }  # fmt: skip


def _pseudo_date_error(instance, month, pseudo_date):
    """Why `pseudo_date` cannot carry a comment on this page, or None."""
    if selectors.is_deep(instance):
        try:
            Scope.for_run(pseudo_date)
        except ScopeError:
            return f"{pseudo_date!r} is not a run ID such as 094.B-0298(A)"
        return None
    try:
        night = date.fromisoformat(pseudo_date)
    except ValueError:
        return f"{pseudo_date!r} is not a date of the form YYYY-MM-DD"
    if month is None or night.isoformat()[:7] != month:
        return f"{pseudo_date} is not a date of {month or 'this page'}"
    return None


def _back(request, instance, month, message, level=messages.SUCCESS):
    """Without htmx (no JavaScript): back to the page, the outcome as a message."""
    messages.add_message(request, level, message)
    if month:
        return redirect("monitor:month", instance.name, month)
    return redirect("monitor:instance", instance.name)


def _refused_line(request, instance, month, error):
    """A comment on something that is no line of this page: the message in a row."""
    if not request.htmx:
        return _back(request, instance, month, error, messages.ERROR)
    return render(request, "monitor/overview/line_error.html", {"error": error}, status=400)


def _line_response(request, instance, month, pseudo_date, *, error=None, text=None, status=200):
    """The line of `pseudo_date` as it is now (with the form open and the message if the
    comment was refused), or back to the page without htmx."""
    if not request.htmx:
        if error:
            return _back(request, instance, month, error, messages.ERROR)
        return _back(request, instance, month, f"Comment on {pseudo_date} saved.")
    settings = selectors.MonitorSettings.of(instance)
    if selectors.is_deep(instance):
        lines, _ = selectors.run_lines(instance, settings, run_id=pseudo_date)
        comment_url = reverse("monitor:run_comment", args=[instance.name])
    else:
        night = date.fromisoformat(pseudo_date)
        lines, _ = selectors.date_lines(instance, night, night, settings)
        comment_url = reverse("monitor:date_comment", args=[instance.name, month])
    context = {
        **_lines_context(request, instance, settings, [], selectors.Line(""), "", comment_url),
        "line": lines[0] if lines else selectors.Line(pseudo_date), "error": error, "text": text,
    }  # fmt: skip
    return render(request, "monitor/overview/line.html", context, status=status)
