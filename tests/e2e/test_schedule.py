"""Scheduled runs for real: the foreground loop runs a tiny pipeline twice on a seconds-level
schedule and stops cleanly; the crontab line's command runs under cron's bare environment; and
``schedule:`` reaches ZenML as a ``Schedule`` on an orchestrator that can schedule, while the local
orchestrator is refused with the local choices (as ZenML's own check refuses it).

The LLM is a scripted OpenAI-compatible server on loopback, so that each run takes seconds of
generation instead of minutes; everything else (ZenML, training, evaluation) is real.
"""

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import PROJECT_ROOT, SAMPLE_CORPUS
from tests.e2e.tiny_pipeline import scripted_answer, tiny_config
from tests.generation.scripted_server import ScriptedServer
from tests.scheduling.recording_orchestrator import RECORD_ENV

pytestmark = pytest.mark.e2e

ZENML = str(Path(sys.executable).parent / "zenml")
EVERY_5_SECONDS = "* * * * * */5"  # the sixth field is seconds (croniter's order)


@pytest.fixture(scope="module")
def llm():
    with ScriptedServer(scripted_answer) as server:
        yield server


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, llm):
    root = tmp_path_factory.mktemp("schedule")
    env = {**os.environ, "ZENML_CONFIG_PATH": str(root / "zenml"), "ZENML_ANALYTICS_OPT_IN": "false"}
    config = {**tiny_config(root, llm.base_url, "scheduled-test-model"),
              "schedule": {"cron": EVERY_5_SECONDS}}
    path = root / "scheduled.yaml"
    path.write_text(yaml.safe_dump(config))
    return {"root": root, "env": env, "config": config, "path": path}


def cli(*args, env, timeout=900):
    return subprocess.run([sys.executable, "run.py", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_loop_runs_the_pipeline_twice_on_schedule_and_the_second_run_is_cached(workspace):
    done = cli("schedule", "loop", "--config", str(workspace["path"]), "--max-runs", "2", env=workspace["env"])
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    log = done.stdout + done.stderr
    assert "Run 1 succeeded" in log and "Run 2 succeeded" in log
    assert "Scheduler done: 2 runs made" in log
    logs = sorted((workspace["root"] / "outputs" / "schedule-logs").glob("run-*.log"))
    assert len(logs) == 2
    first, second = (p.read_text() for p in logs)
    assert "Stage times:" in first and "Stage times:" in second
    assert "generate_train_queries" in first and "cached" not in _stage_line(first, "finetune_model")
    assert "cached" in _stage_line(second, "finetune_model")
    assert "cached" in _stage_line(second, "generate_train_queries")
    fire_seconds = re.findall(r"Run \d started \(scheduled for \S+ \d\d:\d\d:(\d\d)\)", log)
    assert len(fire_seconds) == 2 and all(int(s) % 5 == 0 for s in fire_seconds)


def test_loop_stops_cleanly_on_sigterm_while_waiting(workspace):
    config = {**workspace["config"], "schedule": {"cron": "0 0 1 1 *"}}  # next New Year
    path = workspace["root"] / "yearly.yaml"
    path.write_text(yaml.safe_dump(config))
    process = subprocess.Popen([sys.executable, "run.py", "schedule", "loop", "--config", str(path)],
                               cwd=PROJECT_ROOT, env=workspace["env"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    output = ""
    deadline = time.monotonic() + 120
    while "Next run at" not in output and time.monotonic() < deadline:
        output += process.stdout.readline()
    process.send_signal(signal.SIGTERM)
    rest, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output + rest
    assert "Scheduler stopped after 0 run(s)" in rest


def test_crontab_line_is_valid_and_its_command_runs_under_crons_environment(workspace):
    config = {**workspace["config"], "schedule": {"cron": "17 3 * * 1"}}
    path = workspace["root"] / "weekly.yaml"
    path.write_text(yaml.safe_dump(config))
    printed = cli("schedule", "crontab", "--config", str(path), env=workspace["env"])
    assert printed.returncode == 0, printed.stderr
    line = printed.stdout.splitlines()[0]
    assert line.startswith("17 3 * * 1 cd ")
    command = line.split(" ", 5)[5]
    # What cron does: /bin/sh -c with a bare environment, from the home directory.
    bare = {"HOME": os.environ.get("HOME", "/root"), "PATH": "/usr/bin:/bin", "SHELL": "/bin/sh"}
    ran = subprocess.run(["/bin/sh", "-c", command], env=bare, cwd=bare["HOME"],
                         capture_output=True, text=True, timeout=900)
    assert ran.returncode == 0, ran.stderr
    cron_log = Path(workspace["config"]["output_dir"]) / "schedule-logs" / "cron.log"
    assert "Stage times:" in cron_log.read_text()
    # It ran against the test's ZenML store (ZENML_CONFIG_PATH was carried on the line).
    assert shlex.quote(workspace["env"]["ZENML_CONFIG_PATH"]) in line or workspace["env"]["ZENML_CONFIG_PATH"] in line


def test_models_command_lists_the_version_with_its_metrics(workspace):
    listed = cli("models", "--config", str(workspace["path"]), env=workspace["env"])
    assert listed.returncode == 0, listed.stderr
    assert "Model 'scheduled-test-model'" in listed.stdout
    assert re.search(r"\*\s+1\s+data-\w+-cfg-\w+\s+production", listed.stdout), listed.stdout
    assert re.search(r"ndcg@10 ft \(base\)", listed.stdout)
    assert re.search(r"\d\.\d{3} \(\d\.\d{3}\)", listed.stdout)
    assert "version 2" not in listed.stdout  # the schedule changes when, not what: same version
    recorded = subprocess.run(
        [sys.executable, "-c", "import json; from zenml.client import Client; "
         "v = Client().get_model_version('scheduled-test-model', 'production'); "
         "print(json.dumps(v.run_metadata, default=str))"],
        cwd=PROJECT_ROOT, env=workspace["env"], capture_output=True, text=True, timeout=300)
    metadata = json.loads(recorded.stdout.strip().splitlines()[-1])
    assert 0.0 <= metadata["finetuned"]["ndcg@10"] <= 1.0
    assert metadata["base_model"].endswith("model") and metadata["run_config"]["training"]["max_steps"] == 2
    data = metadata["data"]
    assert data["corpus_path"] == str(SAMPLE_CORPUS) and len(data["corpus_fingerprint"]) >= 8
    assert data["generate_train_queries"]["artifact"] == "queries"
    assert {"chunk_documents", "curate_queries", "generate_test_queries"} <= set(data)


def test_local_stack_refuses_the_schedule_like_zenml_itself(workspace):
    refused = cli("--config", str(workspace["path"]), env=workspace["env"])
    assert refused.returncode == 2
    assert "cannot run schedules" in refused.stderr and "schedule loop" in refused.stderr
    # Our pass-through without the pre-check: ZenML's own check refuses it on the same stack.
    weekly = workspace["root"] / "weekly-refused.yaml"
    weekly.write_text(yaml.safe_dump({**workspace["config"], "schedule": {"cron": "0 3 * * 1"}}))
    zenml = subprocess.run([sys.executable, "tests/scheduling/schedule_without_precheck.py", str(weekly)], cwd=PROJECT_ROOT, env=workspace["env"],
                           capture_output=True, text=True, timeout=300)
    assert zenml.returncode != 0 and "does not support scheduling" in zenml.stderr, zenml.stderr[-3000:]


def test_schedule_reaches_an_orchestrator_that_can_schedule(workspace):
    root, env = workspace["root"], dict(workspace["env"])
    env[RECORD_ENV] = str(root / "recorded-schedule.json")
    config = {**workspace["config"], "schedule": {"cron": "0 3 * * 1", "name": "weekly-retrain"}}
    path = root / "remote.yaml"
    path.write_text(yaml.safe_dump(config))
    for args in (
        ["orchestrator", "flavor", "register", "tests.scheduling.recording_orchestrator.RecordingOrchestratorFlavor"],
        ["orchestrator", "register", "scheduler", "--flavor", "recording_scheduler"],
        ["stack", "register", "schedulable", "-o", "scheduler", "-a", "default", "--set"],
    ):
        done = subprocess.run([ZENML, *args], cwd=PROJECT_ROOT, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
    try:
        scheduled = cli("--config", str(path), env=env)
        assert scheduled.returncode == 0, scheduled.stdout[-2000:] + scheduled.stderr[-3000:]
        assert "Scheduled '0 3 * * 1' on stack 'schedulable'" in scheduled.stdout
        recorded = json.loads(Path(env[RECORD_ENV]).read_text())
        assert recorded["cron_expression"] == "0 3 * * 1" and recorded["schedule_name"] == "weekly-retrain"
        assert recorded["model"] == "scheduled-test-model"
        assert {"generate_train_queries", "finetune_model", "evaluate_models"} <= set(recorded["steps"])
        stored = subprocess.run(
            [sys.executable, "-c", "from zenml.client import Client; "
             "print([(s.name, s.cron_expression) for s in Client().list_schedules().items])"],
            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert "('weekly-retrain', '0 3 * * 1')" in stored.stdout, stored.stderr
    finally:
        subprocess.run([ZENML, "stack", "set", "default"],
                       cwd=PROJECT_ROOT, env=env, capture_output=True, timeout=300)


def _stage_line(log: str, step: str) -> str:
    return next(line for line in log.splitlines() if line.strip().startswith(step + " "))
