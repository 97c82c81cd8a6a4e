"""Create (or reset) the demo login printed by `make demo`. Not for production servers."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from processing import audit

USERNAME = "demo"
PASSWORD = "phoenix-demo"


class Command(BaseCommand):
    help = "Create or reset the demo superuser demo / phoenix-demo (only with PHOENIX_DEBUG=1)."

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
        self.stdout.write(f"demo login: {USERNAME} / {PASSWORD}")
