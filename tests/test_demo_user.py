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
    for name in ("viewer", "operator", "certifier"):
        account = authenticate(username=name, password="phoenix-demo")
        assert account is not None and not account.is_superuser
        assert name in account.groups.values_list("name", flat=True)
    operator = authenticate(username="operator", password="phoenix-demo")
    assert operator.has_perm("processing.operate_batches")
    assert not operator.has_perm("processing.certify_products")
    assert AuditEvent.objects.first().actor_name.startswith("cli:")


@pytest.mark.django_db
def test_refuses_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="PHOENIX_DEBUG is off"):
        call_command("demo_user")
