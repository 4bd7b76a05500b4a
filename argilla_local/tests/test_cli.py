"""``run.py argilla-up`` / ``argilla-status`` / ``argilla-down`` as a user runs them: a real
local Argilla server (and Redis) in a temporary home on free ports."""

import subprocess
import sys

from argilla_local.local_server import PROJECT_ROOT
from argilla_local.tests.fixtures import free_port


def test_up_status_down_as_a_user_runs_them(tmp_path):
    where = ["--home", str(tmp_path / "argilla"), "--port", str(free_port()),
             "--redis-port", str(free_port())]

    def cli(command):
        return subprocess.run([sys.executable, "run.py", command, *where], cwd=PROJECT_ROOT,
                              capture_output=True, text=True, timeout=600)

    assert cli("argilla-status").returncode == 1  # nothing running yet
    try:
        up = cli("argilla-up")
        assert up.returncode == 0, up.stdout + up.stderr
        assert "Argilla is ready in" in up.stdout and "export ARGILLA_API_KEY=" in up.stdout
        status = cli("argilla-status")
        assert status.returncode == 0 and ": running." in status.stdout
        assert "already running" in cli("argilla-up").stdout
    finally:
        down = cli("argilla-down")
    assert down.returncode == 0 and down.stdout.startswith("Stopped ")
    after = cli("argilla-status")
    assert after.returncode == 1 and "not running" in after.stdout
