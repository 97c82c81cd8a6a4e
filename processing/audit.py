"""The one way to write an AuditEvent, for views, commands and tasks alike."""

import getpass
import socket

from processing.models import AuditEvent


def cli_actor_name():
    """`cli:<os user>@<host>`: who ran a management command."""
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry in some containers
        user = "unknown"
    return f"cli:{user}@{socket.gethostname()}"


def actor_name_of(user=None, actor_name=None):
    """Who acts: the name given, else the user's, else the command-line user's."""
    return actor_name or (user.get_username() if user is not None else cli_actor_name())


def record(action, *, user=None, actor_name=None, obj=None, object_type="", object_id="",
           object_repr="", result=AuditEvent.Result.OK, message="", detail=None):
    if obj is not None:
        object_type = object_type or obj._meta.label
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)
    if actor_name is None:
        actor_name = user.get_username() if user is not None else cli_actor_name()
    return AuditEvent.objects.create(
        actor=user if user is not None and user.is_authenticated else None,
        actor_name=actor_name,
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr[:300],
        result=result,
        message=message,
        detail=detail or {},
    )
