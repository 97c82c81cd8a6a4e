"""Scheduled tasks, registered idempotently after every migrate (InvenTree's pattern)."""

from django_q.models import Schedule

#: name → (function, minutes between runs)
SCHEDULES = {
    "phoenix-heartbeat": ("processing.tasks.heartbeat", 5),
    "phoenix-reaper": ("processing.tasks.reap", 1),
    "phoenix-ingest": ("processing.tasks.ingest", 5),
    "phoenix-prune-previews": ("monitor.tasks.prune_previews", 60),
    "phoenix-housekeeping": ("processing.tasks.housekeeping", 24 * 60),
}


def register_schedules(**kwargs):
    """Create or update each schedule by name; never duplicate one."""
    for name, (func, minutes) in SCHEDULES.items():
        Schedule.objects.update_or_create(
            name=name,
            defaults={
                "func": func,
                "schedule_type": Schedule.MINUTES,
                "minutes": minutes,
                "repeats": -1,
            },
        )
