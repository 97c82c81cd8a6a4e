"""Create (or reset) the demo logins printed by `make demo`: the superuser and one account per
role, to see the pages as a viewer, an operator or a certifier sees them. Not for production
servers."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from processing import audit

USERNAME = "demo"
PASSWORD = "phoenix-demo"
#: one account per role (processing/roles.py), same password
ROLE_ACCOUNTS = {"viewer": ["viewer"], "operator": ["viewer", "operator"],
                 "certifier": ["viewer", "certifier"]}  # fmt: skip


class Command(BaseCommand):
    help = ("Create or reset the demo superuser demo / phoenix-demo and the accounts viewer, "
            "operator and certifier with the same password (only with PHOENIX_DEBUG=1).")

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError(
                "refusing to create a demo account with a known password when PHOENIX_DEBUG "
                "is off; use createsuperuser"
            )
        user, created = get_user_model().objects.get_or_create(username=USERNAME)
        user.is_staff = user.is_superuser = True
        user.set_password(PASSWORD)
        user.save()
        audit.record("demo_user", obj=user, message="created" if created else "reset")
        for name, roles in ROLE_ACCOUNTS.items():
            account, _ = get_user_model().objects.get_or_create(username=name)
            account.set_password(PASSWORD)
            account.save()
            account.groups.set(Group.objects.filter(name__in=roles))
        self.stdout.write(f"demo login: {USERNAME} / {PASSWORD} (roles: {', '.join(ROLE_ACCOUNTS)} "
                          f"/ {PASSWORD})")
