"""AuditEvents: the whole log (audit page) and one object's trail (on its page)."""

from processing.models import AuditEvent


def trail(obj, limit=50):
    """The latest events about `obj` (a model instance), newest first."""
    events = AuditEvent.objects.filter(object_type=obj._meta.label, object_id=str(obj.pk))
    return list(events[:limit])
