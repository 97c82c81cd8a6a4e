"""A real browser on a real server: Debian's chromium driven by Playwright against
`manage.py runserver` in its own process, on the test database, with a real q2 cluster
(tests/cluster.py) doing the work behind the pages.

Tests using these fixtures carry the `browser` marker: without chromium they are skipped on a
workstation and fail on CI (tests/conftest.py).
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.cluster import ROOT

#: where Debian puts chromium (package `chromium`); PHOENIX_CHROMIUM overrides
CHROMIUM_NAMES = ("chromium", "chromium-browser")


def chromium_path():
    given = os.environ.get("PHOENIX_CHROMIUM")
    if given:
        return given
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebServer:
    """`manage.py runserver --noreload` on a free port with the cluster's environment."""

    def __init__(self, env, log_path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(log_path)
        self._log = open(self.log_path, "a")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{self.port}"],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self._wait_ready()

    def _wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the web server stopped:\n{self.log()}")
            try:
                urllib.request.urlopen(self.url + "/accounts/login/", timeout=2)
                return
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"the web server did not answer within {timeout} s:\n{self.log()}")

    def log(self):
        return self.log_path.read_text() if self.log_path.exists() else ""

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


@pytest.fixture(scope="session")
def chromium():
    """One headless chromium for the session.

    Playwright's sync API keeps an asyncio loop in this thread, which makes Django refuse ORM
    calls here (SynchronousOnlyOperation). The tests' ORM calls are plain synchronous code
    between browser steps, so Django is told that is fine while the browser is open.
    """
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(),
                                             args=["--no-sandbox", "--disable-dev-shm-usage"])  # fmt: skip
        yield browser
        browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def log_in(browser, server, username, password="a-long-password-1"):
    """A new browser context logged in through the login form, as a person does."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(server.url + "/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    return page
