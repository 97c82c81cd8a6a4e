"""Date comments (DFOS "enter date comment"): the one way to set or clear one."""

from django.db import transaction

from processing import audit
from processing.models import DateComment

#: who may comment: anyone who may act on the processing (operators and certifiers)
PERMISSIONS = ("processing.operate_batches", "processing.certify_products")
MAX_LENGTH = 2000


class CommentError(Exception):
    """The comment cannot be set; the message says why."""


def set_date_comment(instance, pseudo_date, text, *, user=None, actor_name=None):
    """Set the comment of `pseudo_date` (a night or a run ID) of `instance`; an empty text
    removes it. Returns the DateComment, or None when removed."""
    if user is not None and not any(user.has_perm(p) for p in PERMISSIONS):
        raise CommentError(f"{user.get_username()} may not comment dates "
                           "(operator or certifier role needed)")  # fmt: skip
    text = (text or "").strip()
    if len(text) > MAX_LENGTH:
        raise CommentError(f"the comment has {len(text)} characters; at most {MAX_LENGTH}")
    actor = audit.actor_name_of(user, actor_name)
    with transaction.atomic():
        old = DateComment.objects.filter(instance=instance, pseudo_date=pseudo_date).first()
        if not text:
            if old:
                old.delete()
            comment = None
        else:
            comment, _ = DateComment.objects.update_or_create(
                instance=instance, pseudo_date=pseudo_date,
                defaults={"text": text, "author": user if user and user.is_authenticated else None,
                          "author_name": actor},
            )  # fmt: skip
        audit.record("comment date", user=user, actor_name=actor, object_type="processing.Instance",
                     object_id=str(instance.pk), object_repr=f"{instance.name} {pseudo_date}",
                     message=text or "comment removed",
                     detail={"pseudo_date": pseudo_date, "before": old.text if old else ""})  # fmt: skip
    return comment
