"""Launch a batch from the browser: the form, its dry-run preview, then the launch.

"Preview" runs what the launch would run without writing anything (processing.launching);
"Launch" posts the same parameters to processing.queue.actions.launch and goes to the new
batch's page. Both are operator actions; viewers see the form disabled, with the reason.
"""

from django.contrib import messages
from django.shortcuts import redirect, render

from monitor.access import refuse
from monitor.launch_form import LaunchForm
from processing.abs.create import CreateAbsError
from processing.launching import PreviewError, check, preview
from processing.models import Instance
from processing.queue.actions import ActionError, launch

PERMISSION = "processing.operate_batches"
#: fields the "Launch" button posts again, exactly as previewed
CARRIED = ("instance", "mode", "scope_kind", "scope", "ab_name", "create", "process", "finish",
           "finish_last")


def form(request):
    allowed = request.user.has_perm(PERMISSION)
    if request.method != "POST":
        launch_form = LaunchForm(initial=LaunchForm.initial_from(request.GET), user=request.user)
        return _render(request, launch_form, allowed)
    if not allowed:
        return refuse(request, f"{request.user.get_username()} may not launch batches "
                               "(operator role needed).")  # fmt: skip
    launch_form = LaunchForm(request.POST, user=request.user)
    if not launch_form.is_valid():
        return _render(request, launch_form, allowed, status=400)
    data = launch_form.cleaned_data
    instance, scope, arguments = data["instance"], data["scope_parsed"], launch_form.launch_arguments()
    try:
        if request.POST.get("action") == "launch":
            check(instance, scope, **arguments)
            result = launch(instance, scope, **arguments, user=request.user)
            batch = result.batch
            messages.success(request, f"Batch #{batch.pk} launched: phoenix -{batch.steps} "
                                      f"{scope}, {len(result.pending)} ABs to process "
                                      f"({len(result.queued)} queued at once).")  # fmt: skip
            return redirect("monitor:batch", batch.pk)
        shown = preview(instance, scope, **arguments)
    except PreviewError as exc:
        launch_form.add_error(exc.field, str(exc))
    except (CreateAbsError, ActionError) as exc:
        launch_form.add_error(None, str(exc))
    if launch_form.errors:
        return _render(request, launch_form, allowed, status=400)
    carried = [(name, request.POST.get(name, "")) for name in CARRIED if request.POST.get(name)]
    return _render(request, launch_form, allowed, preview=shown, carried=carried)


def _render(request, launch_form, allowed, status=200, **context):
    instance = launch_form.cleaned_data.get("instance") if launch_form.is_bound and hasattr(
        launch_form, "cleaned_data") else None  # fmt: skip
    return render(request, "monitor/launch/form.html", {
        "form": launch_form, "allowed": allowed, "instance": instance,
        "instances": Instance.objects.only("name", "mode", "complete_mode"),
        "may_finish": request.user.has_perm("processing.move_products"), **context,
    }, status=status)  # fmt: skip
