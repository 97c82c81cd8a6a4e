"""On a terminal, import_headers shows a progress bar; in a pipe it prints only the summary."""

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
from datetime import date
from pathlib import Path

import pytest

from tests.factories import write_night
from tests.cluster import database_url

ROOT = Path(__file__).resolve().parent.parent


def run_import(path, on_terminal):
    env = {**os.environ, "DATABASE_URL": database_url(), "PHOENIX_DEBUG": "1"}
    command = [sys.executable, "manage.py", "import_headers", str(path)]
    if not on_terminal:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        return done.returncode, done.stderr
    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=secondary)
    os.close(secondary)
    output = b""
    while True:
        try:
            chunk = os.read(primary, 4096)
        except OSError:  # the terminal closed when the process ended
            break
        if not chunk:
            break
        output += chunk
    os.close(primary)
    return process.wait(timeout=60), output.decode(errors="replace")


@pytest.mark.django_db(transaction=True)
def test_progress_bar_only_on_a_terminal(tmp_path):
    from django.core.management import call_command

    call_command("load_instances", "NACO", stdout=open(os.devnull, "w"))
    write_night(tmp_path / "raw", date(2009, 6, 15), 5)
    code, terminal = run_import(tmp_path / "raw", on_terminal=True)
    assert code == 0
    assert "import: 100%" in terminal and "5/5" in terminal
    code, piped = run_import(tmp_path / "raw", on_terminal=False)
    assert code == 0
    assert "%" not in piped
