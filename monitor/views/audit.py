"""The audit page: every AuditEvent, newest first, filtered by actor, action, object type,
result and date range (all kept in the URL), linking each object to its page."""

from django import forms
from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import reverse

from monitor.selectors import audit as selectors
from processing.models import AuditEvent

EVENTS_PER_PAGE = 100
#: object type → the page that shows such an object
PAGES = {"processing.AssociationBlock": "monitor:ab", "processing.Batch": "monitor:batch",
         "processing.Product": "monitor:product"}  # fmt: skip


class AuditFilter(forms.Form):
    actor = forms.CharField(required=False, max_length=150, label="Who")
    action = forms.ChoiceField(required=False)
    object_type = forms.ChoiceField(required=False, label="Object type")
    result = forms.ChoiceField(required=False, choices=[("", "any")] + AuditEvent.Result.choices)
    since = forms.DateField(required=False, label="From (UT)",
                            widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To (UT, included)",
                            widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, actions=(), object_types=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", "any")] + [(a, a) for a in actions]
        self.fields["object_type"].choices = [("", "any")] + [(t, t.split(".")[-1]) for t in object_types]

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "The end date lies before the start date.")
        return data


def page(request):
    actions, object_types = selectors.choices()
    filters = AuditFilter(request.GET, actions=actions, object_types=object_types)
    filters.is_valid()  # a field with a bad value is left out of cleaned_data; the form says why
    chosen = {name: value for name, value in filters.cleaned_data.items() if value}
    page = Paginator(selectors.events(**chosen), EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    for event in page.object_list:
        name = PAGES.get(event.object_type)
        event.link = reverse(name, args=[int(event.object_id)]) if (
            name and event.object_id.isdigit()) else ""  # fmt: skip
    return render(request, "monitor/audit/page.html", {"filters": filters, "page": page,
                                                        "filtered": bool(chosen)})  # fmt: skip
