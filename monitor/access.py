"""Who may do what in the browser. Every page needs a login (LoginRequiredMiddleware); actions
need a role's permission, checked here on the server before the entry point in processing/
checks it again. A refusal is a 403 page (or fragment, for htmx) that names the user and the
role needed — never a silent redirect."""

from functools import wraps

from django.shortcuts import render

#: permission → the role (group, processing/roles.py) that holds it, for the messages
ROLE_OF = {
    "processing.operate_batches": "operator",
    "processing.certify_products": "certifier",
    "processing.move_products": "certifier",
    "processing.ingest_products": "certifier",
}


def refuse(request, message, status=403):
    """The refusal page, or the fragment an htmx request swaps in."""
    template = "monitor/refused_fragment.html" if request.htmx else "monitor/refused.html"
    return render(request, template, {"message": message}, status=status)


def requires(permission, what):
    """View decorator: refuse unless the user holds `permission`; `what` completes
    "<user> may not …" (e.g. "certify products")."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.has_perm(permission):
                role = ROLE_OF.get(permission, "admin")
                return refuse(request, f"{request.user.get_username()} may not {what} "
                                       f"({role} role needed).")  # fmt: skip
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def roles_of(user):
    """The role names a user holds, for the header ("admin" for superusers)."""
    if user.is_superuser:
        return ["admin"]
    return sorted(user.groups.values_list("name", flat=True))
