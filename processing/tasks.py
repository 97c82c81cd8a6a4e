"""Thin django-q2 entry points. Each calls one function of the processing package.

django-q2 delivers at least once, so every task here must be safe to run twice.
"""

import os
import socket

from django.utils import timezone


def heartbeat():
    """Scheduled every few minutes: its result rows show that a cluster is alive and where.

    Harmless when delivered twice.
    """
    return {"host": socket.gethostname(), "pid": os.getpid(), "at": timezone.now().isoformat()}
