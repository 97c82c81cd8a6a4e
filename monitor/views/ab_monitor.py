"""The AB monitor of one date or DEEP run (DFOS getStatusAB): header figures, the table of
ABs (sort, filters and page kept in the URL; polled while anything shown runs) and the bulk
actions (plan → confirmation naming how many ABs change → the entry point in processing/)."""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from monitor import access, bulk, live
from monitor.selectors import ab_monitor as selectors
from processing.choices import AbCategory, AbStatus, IngestStatus, InstanceMode
from processing.models import Instance

ABS_PER_PAGE = 200
#: a posted selection of ids beyond this is refused ("select all matching" posts the filter)
MAX_IDS = 5 * ABS_PER_PAGE
#: comments longer than this are refused (they go into Certification and AuditEvent rows)
MAX_COMMENT = 2000


def page(request, instance, pseudo_date):
    context = _table_context(request, instance, pseudo_date, request.GET)
    abs_ = context["all_abs"]
    context.update(
        comment=selectors.comment(context["instance"], pseudo_date),
        choices=selectors.filter_choices(abs_),
        statuses=AbStatus.choices, categories=AbCategory.choices,
        certifications=selectors.CERTIFICATION_FILTERS, qc_filters=list(selectors.QC_FILTERS),
        month=None if context["is_run"] else pseudo_date[:7],
        launch_query=urlencode({"instance": instance,
                                "run" if context["is_run"] else "date": pseudo_date}),
    )  # fmt: skip
    return render(request, "monitor/ab_monitor/page.html", context)


def table(request, instance, pseudo_date):
    """The polled partial: header figures and the table; 286 once everything shown is final."""
    context = _table_context(request, instance, pseudo_date, request.GET)
    return live.partial(request, "monitor/ab_monitor/table.html", context, final=not context["live"])


@require_POST
def bulk_action(request, instance, pseudo_date):
    """Plan (no `confirm`) or carry out (`confirm`) a bulk action on the selected ABs."""
    instance_row = get_object_or_404(Instance, name=instance)
    if not any(request.user.has_perm(a.permission) for a in bulk.ACTIONS.values()):
        return access.refuse(request, f"{request.user.get_username()} may not change ABs "
                                      "(operator or certifier role needed).")  # fmt: skip
    name = request.POST.get("action", "")
    action = bulk.ACTIONS.get(name)
    if action is None:
        return _bad(request, f"unknown action {name[:40]!r}: choose one of {', '.join(bulk.ACTIONS)}",
                    instance, pseudo_date)
    if not request.user.has_perm(action.permission):
        role = access.ROLE_OF.get(action.permission, "admin")
        return access.refuse(request, f"{request.user.get_username()} may not {action.what} "
                                      f"({role} role needed).")  # fmt: skip
    abs_ = selectors.abs_of(instance_row, pseudo_date)
    selection, problem = _selection(request.POST, abs_, instance_row, pseudo_date)
    comment = request.POST.get("comment", "").strip()
    if not problem and action.needs_comment and not comment:
        problem = f"{action.name}: a comment saying why is required"
    if not problem and len(comment) > MAX_COMMENT:
        problem = f"the comment has {len(comment)} characters; at most {MAX_COMMENT}"
    if problem:
        return _bad(request, problem, instance, pseudo_date)
    plan = bulk.plan(action, selection)
    form = _carried(request.POST, comment)
    if not request.POST.get("confirm"):
        context = {"plan": plan, "comment": comment, "carried": form, "instance": instance_row,
                   "pseudo_date": pseudo_date, "is_run": selectors.is_run(pseudo_date)}  # fmt: skip
        template = ("monitor/ab_monitor/confirm.html" if request.htmx
                    else "monitor/ab_monitor/confirm_page.html")  # fmt: skip
        return render(request, template, context)
    outcome = bulk.run(plan, instance=instance_row, user=request.user, comment=comment)
    if not request.htmx:
        getattr(messages, outcome.level)(request, _said(plan, outcome))
        return redirect(_page_url(instance, pseudo_date, request.POST))
    context = _table_context(request, instance, pseudo_date, request.POST)
    context.update(plan=plan, outcome=outcome, oob=True)
    return render(request, "monitor/ab_monitor/result.html", context)


def _table_context(request, instance, pseudo_date, query):
    instance_row = get_object_or_404(Instance, name=instance)
    if selectors.is_run(pseudo_date) and instance_row.mode != InstanceMode.DEEP:
        raise Http404(f"{instance} is not a DEEP instance: its AB monitors are per date, "
                      f"not per run ({pseudo_date})")  # fmt: skip
    filters = selectors.Filters.from_query(query)
    all_abs = selectors.abs_of(instance_row, pseudo_date)
    shown = filters.apply(all_abs)
    paginator = Paginator(selectors.rows(shown).order_by(*filters.ordering()), ABS_PER_PAGE)
    abs_page = paginator.get_page(query.get("page"))
    rows = selectors.complete(list(abs_page.object_list))
    summary = selectors.summary(all_abs)
    here = filters.as_params(page=abs_page.number if abs_page.number > 1 else "")
    return {
        "instance": instance_row, "pseudo_date": pseudo_date,
        "is_run": selectors.is_run(pseudo_date), "filters": filters, "all_abs": all_abs,
        "abs_page": abs_page, "rows": rows, "matching": paginator.count, "summary": summary,
        "present": [(s, summary[f"n_{s}"]) for s in AbStatus.values
                    if s not in ("success", "failed", "created") and summary[f"n_{s}"]],
        "qc": selectors.qc_parameters(all_abs), "ingestion": _ingestion(all_abs),
        "workers": selectors.live_workers(all_abs), "live": selectors.is_live(rows),
        "table_url": _url("monitor:date_table", instance, pseudo_date, here),
        "here": here, "sort_urls": _sort_urls(filters), "page_urls": _page_urls(filters, abs_page),
        "can": {name: request.user.has_perm(a.permission) for name, a in bulk.ACTIONS.items()},
    }  # fmt: skip


def _ingestion(abs_):
    by_status = selectors.ingestion(abs_)
    return {"total": sum(by_status.values()), "done": by_status.get(IngestStatus.DONE, 0),
            "by_status": sorted(by_status.items())}  # fmt: skip


def _selection(post, abs_, instance, pseudo_date):
    """(queryset of the selected ABs, None) or (None, what is wrong with the selection)."""
    if post.get("select") == "all":
        filters = selectors.Filters.from_query(post)
        if filters.problems:  # acting on more ABs than the user saw would be worse than a refusal
            return None, f"the filter is not valid ({'; '.join(filters.problems)}): reload the page"
        return filters.apply(abs_), None
    raw = [value.strip() for value in post.getlist("ids") if value.strip()]
    if not raw:
        return None, "no AB selected: tick ABs in the table, or choose all ABs matching the filter"
    if len(raw) > MAX_IDS:
        return None, (f"{len(raw)} ABs ticked, at most {MAX_IDS}: choose all ABs matching "
                      "the filter instead")  # fmt: skip
    bad = [value for value in raw if not (value.isascii() and value.isdigit() and len(value) < 16)]
    if bad:
        return None, f"{bad[0][:40]!r} is not an AB id"
    ids = {int(value) for value in raw}
    found = set(abs_.filter(pk__in=ids).values_list("pk", flat=True))
    foreign = sorted(ids - found)
    if foreign:
        listed = ", ".join(str(pk) for pk in foreign[:10]) + (" …" if len(foreign) > 10 else "")
        return None, f"{len(foreign)} selected ids are not ABs of {instance} {pseudo_date}: {listed}"
    return abs_.filter(pk__in=ids), None


def _carried(post, comment):
    """The fields the confirmation posts again: action, selection, filter, sort, page, comment."""
    fields = [("action", post.get("action", "")), ("comment", comment)]
    if post.get("select") == "all":
        fields.append(("select", "all"))
    else:
        fields += [("ids", value) for value in post.getlist("ids")]
    fields += [(name, post.get(name, "")) for name in (*selectors.Filters.FIELDS, "sort", "page")]
    return [(name, value) for name, value in fields if value]


def _bad(request, message, instance, pseudo_date):
    """Nonsense input: the message, status 400 (a fragment for htmx, a page with the way back
    else)."""
    template = ("monitor/ab_monitor/problem.html" if request.htmx
                else "monitor/ab_monitor/problem_page.html")  # fmt: skip
    back = _page_url(instance, pseudo_date, request.POST)
    return render(request, template, {"message": message, "back": back}, status=400)


def _said(plan, outcome):
    refused = "; ".join(f"{name}: {why}" for name, why in outcome.refused[:5])
    return outcome.message + (f" ({refused}{' …' if len(outcome.refused) > 5 else ''})" if refused else "")


def _url(name, instance, pseudo_date, params):
    url = reverse(name, args=[instance, pseudo_date])
    return f"{url}?{urlencode(params)}" if params else url


def _page_url(instance, pseudo_date, query):
    filters = selectors.Filters.from_query(query)
    return _url("monitor:date", instance, pseudo_date, filters.as_params(page=query.get("page", "")))


def _sort_urls(filters):
    """?sort= link of each column: ascending first, descending when sorted ascending already."""
    urls = {}
    for key in selectors.SORTS:
        sort = f"-{key}" if filters.sort == key else key
        urls[key] = "?" + urlencode(filters.as_params(sort=sort))
    return urls


def _page_urls(filters, abs_page):
    def url(number):
        return "?" + urlencode(filters.as_params(page=number))

    return {"previous": url(abs_page.previous_page_number()) if abs_page.has_previous() else "",
            "next": url(abs_page.next_page_number()) if abs_page.has_next() else "",
            "first": url(1), "last": url(abs_page.paginator.num_pages)}  # fmt: skip
