"""Shared test fixtures.

Real parts only: tests run on the database DATABASE_URL names (SQLite by default, PostgreSQL
in the second pass of `make test`), real files on disk, real esorex where installed. On CI
(CI=true) a missing esorex is a failure, not a skip.
"""

import os
import shutil

import pytest

ON_CI = os.environ.get("CI", "").lower() == "true"


def pytest_runtest_setup(item):
    if "esorex" in item.keywords and not shutil.which("esorex"):
        message = "esorex is not installed (apt-get install esorex cpl-plugin-naco)"
        if ON_CI:
            pytest.fail(f"{message}; it is mandatory on CI", pytrace=False)
        pytest.skip(message)
    if "browser" in item.keywords:
        from tests.browser import chromium_path

        if not chromium_path():
            message = "chromium is not installed (apt-get install chromium)"
            if ON_CI:
                pytest.fail(f"{message}; it is mandatory on CI", pytrace=False)
            pytest.skip(message)


@pytest.fixture
def data_root(tmp_path, settings):
    """A fresh PHOENIX_DATA_ROOT per test."""
    root = tmp_path / "data"
    root.mkdir()
    settings.PHOENIX_DATA_ROOT = root
    return root


def _member(django_user_model, name, *roles):
    """An account in the role groups (processing/roles.py makes them on migrate)."""
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user(name, password="a-long-password-1")
    user.groups.set(Group.objects.filter(name__in=roles))
    return user


@pytest.fixture
def viewer(db, django_user_model):
    return _member(django_user_model, "viewer", "viewer")


@pytest.fixture
def operator(db, django_user_model):
    return _member(django_user_model, "olga", "viewer", "operator")


@pytest.fixture
def certifier(db, django_user_model):
    return _member(django_user_model, "carl", "viewer", "certifier")


@pytest.fixture
def viewer_client(client, viewer):
    client.force_login(viewer)
    return client


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


@pytest.fixture
def certifier_client(client, certifier):
    client.force_login(certifier)
    return client


@pytest.fixture
def pool(db, tmp_path):
    """A small data pool: two NACO nights (darks, a science frame) and one of another run."""
    from datetime import date

    from django.core.management import call_command

    from processing.data_pool import import_headers
    from tests.factories import write_night

    call_command("load_instances", "NACO", stdout=open(os.devnull, "w"))
    write_night(tmp_path / "a", date(2009, 6, 15), 3)
    write_night(tmp_path / "b", date(2009, 6, 16), 2, catg="SCIENCE", type_="OBJECT",
                tech="IMAGE,JITTER", prog_id="083.D-0123(A)")
    import_headers([tmp_path])
    return tmp_path
