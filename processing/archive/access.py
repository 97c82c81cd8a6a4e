"""Who may change the archive: holders of processing.ingest_products (the certifier role).

`user` None is the command line or a task, whose access is that of the machine. Previews
and dry runs change nothing and need no permission.
"""

PERMISSION = "processing.ingest_products"


class ArchiveAccessError(Exception):
    """The user may not do this; the message names the user and the role needed."""


def check_permission(user, action):
    if user is not None and not user.has_perm(PERMISSION):
        raise ArchiveAccessError(f"{user.get_username()} may not {action} (certifier role needed)")
