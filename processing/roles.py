"""The three roles of Phoenix as Django groups, kept in step with the code on every migrate.

viewer: reads every page · operator: launches, cancels and re-runs processing · certifier:
certifies and rejects products, moves, ingests and hides them. Accounts get a role by joining
its group (one account may hold several); superusers may do everything.
"""

from django.contrib.auth.models import Group, Permission

ROLES = {
    "viewer": [],
    "operator": ["operate_batches"],
    "certifier": ["certify_products", "move_products", "ingest_products"],
}


def ensure_roles(**kwargs):
    """post_migrate hook: create the groups and give them exactly their permissions."""
    for role, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set(
            Permission.objects.filter(content_type__app_label="processing", codename__in=codenames)
        )
