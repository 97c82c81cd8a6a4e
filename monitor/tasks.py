"""Thin django-q2 entry points of the web pages' housekeeping (scheduled in
processing/schedules.py); safe to run twice."""


def prune_previews():
    """Remove the cached preview PNGs of products that no longer exist."""
    from monitor.previews import remove_orphans

    return {"removed": remove_orphans()}
