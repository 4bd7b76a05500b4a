"""``execution:`` reaches ZenML: the training step, and only it, runs through a step operator with
the configured resource settings; a config meant for another stack or step operator stops before
anything runs. The step operator is a test flavor that runs the step in a separate local process
(tests/e2e/subprocess_step_operator.py), standing in for a GPU node."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import PROJECT_ROOT
from tests.e2e.subprocess_step_operator import LOG_ENV
from tests.e2e.tiny_pipeline import scripted_answer, tiny_config
from tests.generation.scripted_server import ScriptedServer

pytestmark = pytest.mark.e2e

ZENML = str(Path(sys.executable).parent / "zenml")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("remote")
    env = {**os.environ, "ZENML_CONFIG_PATH": str(root / "zenml"), "ZENML_ANALYTICS_OPT_IN": "false",
           LOG_ENV: str(root / "step-operator.jsonl")}
    with ScriptedServer(scripted_answer) as llm:
        yield {"root": root, "env": env, "config": tiny_config(root, llm.base_url, "remote-test-model")}


def write(workspace, name, **overrides):
    path = workspace["root"] / name
    path.write_text(yaml.safe_dump({**workspace["config"], **overrides}))
    return path


def cli(path, env, *extra):
    return subprocess.run([sys.executable, "run.py", "--config", str(path), *extra], cwd=PROJECT_ROOT,
                          env=env, capture_output=True, text=True, timeout=900)


def test_a_config_for_another_stack_or_step_operator_stops_before_running(workspace):
    wrong_stack = cli(write(workspace, "k8s.yaml", execution={"stack": "k8s-gpu"}), workspace["env"])
    assert wrong_stack.returncode == 2
    assert "meant for the ZenML stack 'k8s-gpu'" in wrong_stack.stderr and "zenml stack set k8s-gpu" in wrong_stack.stderr
    no_operator = cli(write(workspace, "gpu.yaml", execution={"training_step_operator": "gpu"}), workspace["env"])
    assert no_operator.returncode == 2
    assert "has no step operator" in no_operator.stderr
    assert not Path(workspace["env"][LOG_ENV]).exists()


def test_training_step_runs_on_the_step_operator_with_its_settings(workspace):
    env = workspace["env"]
    for args in (
        ["step-operator", "flavor", "register", "tests.e2e.subprocess_step_operator.SubprocessStepOperatorFlavor"],
        ["step-operator", "register", "gpu", "--flavor", "subprocess_test"],
        ["stack", "register", "with-gpu", "-o", "default", "-a", "default", "-s", "gpu", "--set"],
    ):
        done = subprocess.run([ZENML, *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
    path = write(workspace, "with-gpu.yaml", execution={
        "stack": "with-gpu", "training_step_operator": "gpu",
        "training_settings": {"resources": {"cpu_count": 2, "memory": "4GB"}}})
    ran = cli(path, env)
    assert ran.returncode == 0, ran.stdout[-2000:] + ran.stderr[-4000:]
    launched = [json.loads(line) for line in Path(env[LOG_ENV]).read_text().splitlines()]
    assert [entry["step"] for entry in launched] == ["finetune_model"]
    assert launched[0]["returncode"] == 0
    assert launched[0]["resources"]["cpu_count"] == 2 and launched[0]["resources"]["memory"] == "4GB"
    assert json.loads((Path(workspace["config"]["output_dir"]) / "evaluation.json").read_text())["n_queries"] > 0
