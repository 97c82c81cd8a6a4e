"""Django system checks: problems an operator must fix before Phoenix can work."""

import os

from django.conf import settings
from django.core.checks import Error, register


@register()
def data_root_is_writable(app_configs, **kwargs):
    root = settings.PHOENIX_DATA_ROOT
    existing = root
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not os.access(existing, os.W_OK):
        return [
            Error(
                f"PHOENIX_DATA_ROOT {root} cannot be written by this user "
                f"({existing} is not writable)",
                hint="Point PHOENIX_DATA_ROOT at a writable directory on the shared file system.",
                id="phoenix.E001",
            )
        ]
    return []
