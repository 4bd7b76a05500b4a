"""``run.py schedule crontab --install/--uninstall`` on this user's real crontab (Debian ``cron``'s
``crontab``): other jobs are kept, installing again replaces the line, uninstalling removes it.
The user's crontab is saved first and restored afterwards."""

import os
import shutil
import subprocess
import sys

import pytest
import yaml

from embedtune.scheduling.cron import MARKER
from tests.conftest import PROJECT_ROOT, SAMPLE_CORPUS

pytestmark = pytest.mark.skipif(shutil.which("crontab") is None,
                                reason="needs crontab (Debian: cron; scripts/install_system_deps.sh)")

OTHER_JOBS = "MAILTO=ops@example.com\n15 * * * * /usr/bin/true  # someone else's backup\n"


def crontab() -> str:
    listed = subprocess.run(["crontab", "-l"], capture_output=True, text=True)
    return listed.stdout if listed.returncode == 0 else ""


def set_crontab(text: str) -> None:
    if text:
        subprocess.run(["crontab", "-"], input=text, text=True, check=True)
    else:
        subprocess.run(["crontab", "-r"], capture_output=True)


@pytest.fixture
def saved_crontab():
    original = crontab()
    yield
    set_crontab(original)


def schedule(*args, env):
    return subprocess.run([sys.executable, "run.py", "schedule", "crontab", *args], cwd=PROJECT_ROOT,
                          env=env, capture_output=True, text=True, timeout=300)


def test_install_replace_and_uninstall_on_a_real_crontab(tmp_path, saved_crontab):
    env = {**os.environ, "ZENML_CONFIG_PATH": str(tmp_path / "zenml")}
    config = {"corpus": {"path": str(SAMPLE_CORPUS)}, "output_dir": str(tmp_path / "out"),
              "schedule": {"cron": "17 3 * * 1"}}
    path = tmp_path / "weekly.yaml"
    path.write_text(yaml.safe_dump(config))
    set_crontab(OTHER_JOBS)

    installed = schedule("--config", str(path), "--install", env=env)
    assert installed.returncode == 0, installed.stderr
    lines = crontab().splitlines()
    ours = [line for line in lines if line.endswith(f"{MARKER}{path.resolve()}")]
    assert len(ours) == 1 and ours[0].startswith("17 3 * * 1 cd ")
    assert "\n".join(lines).startswith(OTHER_JOBS.strip())  # the other jobs, unchanged

    path.write_text(yaml.safe_dump({**config, "schedule": {"cron": "0 4 * * *"}}))
    again = schedule("--config", str(path), "--install", env=env)
    assert again.returncode == 0, again.stderr
    ours = [line for line in crontab().splitlines() if MARKER in line]
    assert len(ours) == 1 and ours[0].startswith("0 4 * * * cd ")  # replaced, not added

    removed = schedule("--config", str(path), "--uninstall", env=env)
    assert removed.returncode == 0 and "Removed 1 crontab line(s)" in removed.stdout
    assert crontab() == OTHER_JOBS
