"""The launch form: phoenix's flags as fields, checked field by field before any dry run.

Instance, mode (--mode), scope (-d / -m / -r), one AB (-a), steps (-C, -P, -M). The scope
is parsed by processing.abs.scope.Scope, run IDs by processing.conventions.parse_run_id, so
the form says exactly what the command would say. The query string prefills it
(`?instance=NACO&date=2009-06-15`, as the AB monitor links here).
"""

from django import forms

from processing.abs.scope import Scope, ScopeError
from processing.choices import AbCategory, InstanceMode, ScopeKind
from processing.models import Instance

SCOPE_PARSERS = {ScopeKind.DATE: Scope.for_date, ScopeKind.MONTH: Scope.for_month,
                 ScopeKind.RUN: Scope.for_run}  # fmt: skip
MODES = [("", "CALIB and SCIENCE"), (AbCategory.CALIB, "CALIB only"),
         (AbCategory.SCIENCE, "SCIENCE only")]  # fmt: skip
SCOPE_KINDS = [(ScopeKind.DATE, "date (YYYY-MM-DD)"), (ScopeKind.MONTH, "month (YYYY-MM)"),
               (ScopeKind.RUN, "run ID (DEEP instances)")]  # fmt: skip
#: what the query string may prefill: parameter → (field, scope kind it implies)
PREFILL = {"date": ScopeKind.DATE, "month": ScopeKind.MONTH, "run": ScopeKind.RUN}


class LaunchForm(forms.Form):
    instance = forms.ModelChoiceField(Instance.objects.all(), to_field_name="name",
                                      empty_label="— choose —")  # fmt: skip
    mode = forms.ChoiceField(choices=MODES, required=False, label="Mode",
                             help_text="--mode: the CALIB part, the SCIENCE part, or both")
    scope_kind = forms.ChoiceField(choices=SCOPE_KINDS, initial=ScopeKind.DATE, label="Scope",
                                   widget=forms.RadioSelect)  # fmt: skip
    scope = forms.CharField(max_length=40, label="Date, month or run ID",
                            widget=forms.TextInput(attrs={"placeholder": "2009-06-15"}))
    ab_name = forms.CharField(max_length=120, required=False, label="Only the AB (-a)",
                              help_text="optional: one AB of the scope (DEEP: TARGET_SELECT)")
    create = forms.BooleanField(required=False, initial=True, label="C: create the ABs (createAB)")
    process = forms.BooleanField(required=False, initial=True,
                                 label="P: process them (queue in dependency order)")
    finish = forms.BooleanField(
        required=False, label="M: when the batch ends, certify (auto where QC allows) and move "
                              "the products, convert IDPs, queue their ingestion")  # fmt: skip
    finish_last = forms.BooleanField(
        required=False, label="DEEP: M takes only the last processed AB of the run (-M --last); "
                              "else all its processed ABs (-M --all)")  # fmt: skip

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    @staticmethod
    def initial_from(query):
        """Initial values from a query string: instance, date|month|run, ab, mode."""
        initial = {}
        if query.get("instance"):
            initial["instance"] = query["instance"]
        for parameter, kind in PREFILL.items():
            if query.get(parameter):
                initial["scope_kind"], initial["scope"] = kind, query[parameter]
        if query.get("ab"):
            initial["ab_name"] = query["ab"]
        if query.get("mode") in (AbCategory.CALIB, AbCategory.SCIENCE):
            initial["mode"] = query["mode"]
        return initial

    def clean(self):
        data = super().clean()
        instance, kind, text = data.get("instance"), data.get("scope_kind"), data.get("scope")
        if kind and text:
            try:
                data["scope_parsed"] = SCOPE_PARSERS[kind](text.strip())
            except ScopeError as exc:
                self.add_error("scope", str(exc))
        if instance and kind:
            deep = instance.mode == InstanceMode.DEEP
            if deep and kind != ScopeKind.RUN:
                self.add_error("scope_kind", f"{instance.name} is a DEEP instance: its scope is "
                                             "a run ID, e.g. 094.B-0298(A)")  # fmt: skip
            elif not deep and kind == ScopeKind.RUN:
                self.add_error("scope_kind", f"{instance.name} is in {instance.mode} mode: run "
                                             "IDs are the scope of DEEP instances; give a date "
                                             "or a month")  # fmt: skip
        if not (data.get("create") or data.get("process") or data.get("finish")):
            self.add_error(None, "Choose at least one step: C, P or M.")
        if data.get("finish") and self.user is not None and not self.user.has_perm(
            "processing.move_products"
        ):
            self.add_error("finish", f"{self.user.get_username()} may not certify and move "
                                     "products (certifier role needed): leave M out")  # fmt: skip
        if data.get("finish_last") and not (data.get("finish") and kind == ScopeKind.RUN):
            self.add_error("finish_last", "only the last processed AB is a choice of M on a run "
                                          "ID (DEEP): tick M and give a run, or leave it out")  # fmt: skip
        data["ab_name"] = (data.get("ab_name") or "").strip()
        return data

    def launch_arguments(self):
        """Keyword arguments of processing.queue.actions.launch (and of the preview)."""
        data = self.cleaned_data
        return {"create": data["create"], "process": data["process"], "finish": data["finish"],
                "category": data["mode"] or None, "ab_name": data["ab_name"] or None,
                "finish_last_only": data["finish_last"]}  # fmt: skip
