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


@pytest.fixture
def data_root(tmp_path, settings):
    """A fresh PHOENIX_DATA_ROOT per test."""
    root = tmp_path / "data"
    root.mkdir()
    settings.PHOENIX_DATA_ROOT = root
    return root
