"""AuditEvents: the whole log (audit page) and one object's trail (on its page)."""

from processing.models import AuditEvent


def trail(obj, limit=50):
    """The latest events about `obj` (a model instance), newest first."""
    events = AuditEvent.objects.filter(object_type=obj._meta.label, object_id=str(obj.pk))
    return list(events[:limit])


def events(actor="", action="", object_type="", result="", since=None, until=None):
    """Every AuditEvent matching the filters (each optional), newest first; `until` is the
    last day included (UT)."""
    rows = AuditEvent.objects.all()
    if actor:
        rows = rows.filter(actor_name__icontains=actor)
    if action:
        rows = rows.filter(action=action)
    if object_type:
        rows = rows.filter(object_type=object_type)
    if result:
        rows = rows.filter(result=result)
    if since:
        rows = rows.filter(created_at__date__gte=since)
    if until:
        rows = rows.filter(created_at__date__lte=until)
    return rows


def choices():
    """The actions and object types that occur, for the filter menus."""
    distinct = AuditEvent.objects.order_by()
    return (sorted(distinct.values_list("action", flat=True).distinct()),
            sorted(t for t in distinct.values_list("object_type", flat=True).distinct() if t))
