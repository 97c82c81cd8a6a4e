"""The arguments every phoenix command shares (--instance and the scope -d/-m/-r), parsed the
same way everywhere, with the same messages."""

from django.core.management.base import CommandError

from processing.abs.scope import Scope, ScopeError
from processing.models import Instance


def add_scope_arguments(parser, required=True):
    """-d DATE | -m YYYY-MM | -r RUN_ID, mutually exclusive."""
    scope = parser.add_mutually_exclusive_group(required=required)
    scope.add_argument("-d", "--date", help="a night, YYYY-MM-DD")
    scope.add_argument("-m", "--month", help="a month, YYYY-MM")
    scope.add_argument("-r", "--run", help="a run ID (DEEP instances), e.g. 094.B-0298(A)")
    return scope


def instance_named(name):
    """The Instance called `name`; a CommandError naming the loaded ones otherwise."""
    if not name:
        raise CommandError("--instance is required")
    chosen = Instance.objects.filter(name=name).first()
    if chosen is None:
        names = ", ".join(Instance.objects.values_list("name", flat=True)) or "none"
        raise CommandError(f"--instance: unknown instance {name!r} (loaded: {names})")
    return chosen


def scope_of(options):
    """The Scope the options name (None when none was given); a CommandError if it is wrong."""
    date, month, run = options.get("date"), options.get("month"), options.get("run")
    if not (date or month or run):
        return None
    try:
        return Scope.from_arguments(date, month, run)
    except ScopeError as exc:
        raise CommandError(str(exc)) from None
