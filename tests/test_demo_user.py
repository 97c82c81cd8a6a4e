from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command

from processing.models import AuditEvent


@pytest.mark.django_db
def test_creates_and_resets_the_demo_login(settings):
    settings.DEBUG = True
    out = StringIO()
    call_command("demo_user", stdout=out)
    call_command("demo_user", stdout=out)
    assert "demo / phoenix-demo" in out.getvalue()
    user = authenticate(username="demo", password="phoenix-demo")
    assert user is not None and user.is_superuser
    assert list(AuditEvent.objects.values_list("message", flat=True)) == ["reset", "created"]
    assert AuditEvent.objects.first().actor_name.startswith("cli:")


@pytest.mark.django_db
def test_refuses_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="PHOENIX_DEBUG is off"):
        call_command("demo_user")
