import os
import shutil
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

import pytest

from processing.layout import TOP_LEVEL, ensure_layout, night_dir

ROOT = Path(__file__).resolve().parent.parent


def test_ensure_layout_is_idempotent(data_root):
    ensure_layout()
    ensure_layout()
    assert sorted(p.relative_to(data_root).as_posix() for p in data_root.rglob("*")) == sorted(
        TOP_LEVEL
    )


def test_night_dir(data_root):
    assert night_dir("sci", date(2009, 6, 15)) == data_root / "sci" / "2009-06-15"
    with pytest.raises(ValueError, match="'work' has no per-night"):
        night_dir("work", date(2009, 6, 15))


def test_check_reports_an_unwritable_data_root():
    # Root may write anywhere, so as root the check runs as the unprivileged user nobody.
    as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    parent = Path(tempfile.mkdtemp())
    try:
        parent.chmod(0o755)
        locked = parent / "locked"
        locked.mkdir(mode=0o555)
        # nobody gets a home of its own: astropy (imported by the URLconf's views) keeps its
        # configuration there, and root's home is closed to nobody
        home = parent / "home"
        home.mkdir()
        home.chmod(0o777)
        env = {key: value for key, value in os.environ.items() if not key.startswith("XDG_")}
        env.update(HOME=str(home), PHOENIX_DEBUG="1", PHOENIX_DATA_ROOT=str(locked / "data"))
        command = [sys.executable, "manage.py", "check"]
        done = subprocess.run((as_nobody if os.geteuid() == 0 else []) + command, cwd=ROOT,
                              env=env, capture_output=True, text=True)
    finally:
        shutil.rmtree(parent)
    assert done.returncode != 0
    assert "phoenix.E001" in done.stderr and str(locked / "data") in done.stderr


def test_check_passes_for_a_writable_root(tmp_path):
    env = {**os.environ, "PHOENIX_DEBUG": "1", "PHOENIX_DATA_ROOT": str(tmp_path / "new")}
    done = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
