"""One Ctrl-C (SIGINT) or SIGTERM ends a real run: a real pipeline run through ``run.py`` is
signalled in the middle of generation; it must exit within 15 s, start no later step, leave no
child process, keep the resume cache, say how to resume, and the rerun must send no request for a
finished chunk.

The LLM is a scripted OpenAI-compatible server on loopback that answers slowly (so the signal
lands mid-generation); the ``llm`` variant uses the embedded llama.cpp server, whose process must
be gone afterwards.

The run is started the way a shell starts a background job (``command &``): with SIGINT
ignored. Python then installs no handler of its own, and ZenML's per-step handler alone turned
the signal into a failure of that step, after which ZenML started the other split's generation
(the reported bug). With Python's default handler the run happened to stop anyway, so that
start would not show the bug.
"""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
import yaml

from tests.conftest import PROJECT_ROOT
from tests.e2e.tiny_pipeline import scripted_answer, tiny_config
from tests.generation.scripted_server import ScriptedServer

pytestmark = pytest.mark.e2e

LATER_STEPS = {"curate_queries", "finetune_model", "evaluate_models", "promote_model", "export_model",
               "write_report"}


def slow_answer(body):
    time.sleep(1.5)
    return scripted_answer(body)


def cached_answers(cache_dir: Path) -> set[str]:
    """Raw answers in the resume cache, over both splits."""
    found = set()
    for path in cache_dir.glob("queries-*.sqlite"):
        with sqlite3.connect(path) as db:
            try:
                found |= {row[0] for row in db.execute("SELECT raw_output FROM answers")}
            except sqlite3.OperationalError:
                pass
    return found


def last_run_steps(env) -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, "-c", "import json; from zenml.client import Client; "
         "run = Client().list_pipeline_runs(sort_by='desc:created', size=1).items[0]; "
         "print(json.dumps({name: str(step.status) for name, step in run.steps.items()}))"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def as_background_job() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def interrupt_mid_generation(config_path: Path, env: dict, cache_dir: Path, signum: int,
                             wait_for_child: str | None = None) -> dict:
    """Start a run, signal it once the first answer is in the resume cache, and report."""
    process = subprocess.Popen([sys.executable, "run.py", "--config", str(config_path)],
                               cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, preexec_fn=as_background_job)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()
    deadline = time.monotonic() + 900
    while not cached_answers(cache_dir):
        assert process.poll() is None, "".join(lines)[-5000:]
        assert time.monotonic() < deadline, "no answer was cached in time"
        time.sleep(0.1)
    children = psutil.Process(process.pid).children(recursive=True)
    if wait_for_child:
        assert any(wait_for_child in " ".join(child.cmdline()) for child in children), children
    cached_before = len(cached_answers(cache_dir))
    log_before = len(lines)
    sent = time.monotonic()
    process.send_signal(signum)
    code = process.wait(timeout=60)
    seconds = time.monotonic() - sent
    reader.join(timeout=10)
    return {"code": code, "seconds": seconds, "log": "".join(lines),
            "after_signal": "".join(lines[log_before:]), "children": children,
            "cached_before": cached_before}


def assert_stopped_cleanly(outcome: dict, signum: int, env: dict) -> None:
    log = outcome["log"]
    assert outcome["code"] == 128 + signum, log[-5000:]
    assert outcome["seconds"] < 15, outcome["seconds"]
    assert "has started" not in outcome["after_signal"], outcome["after_signal"][-3000:]
    name = signal.Signals(signum).name
    assert f"Run stopped by {name}; no later step was started" in log
    assert "Rerunning the same command resumes: python run.py --config" in log
    alive = [child for child in outcome["children"] if child.is_running()
             and child.status() != psutil.STATUS_ZOMBIE]
    assert not alive, alive
    steps = last_run_steps(env)
    generation = [name for name in steps if name.startswith("generate_")]
    assert len(generation) == 1, steps  # the step it was in; the other split's never started
    assert not set(steps) & LATER_STEPS, steps


@pytest.fixture
def workspace(tmp_path):
    env = {**os.environ, "ZENML_CONFIG_PATH": str(tmp_path / "zenml"), "ZENML_ANALYTICS_OPT_IN": "false"}
    return tmp_path, env


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_one_signal_mid_generation_ends_the_run_and_the_rerun_resends_no_finished_chunk(workspace, signum):
    root, env = workspace
    with ScriptedServer(slow_answer) as server:
        config = tiny_config(root, server.base_url, f"interrupt-{signum}")
        config["generation"]["concurrency"] = 1
        path = root / "tiny.yaml"
        path.write_text(yaml.safe_dump(config))
        cache_dir = root / "generation-cache"

        outcome = interrupt_mid_generation(path, env, cache_dir, signum)
        assert_stopped_cleanly(outcome, signum, env)
        finished = cached_answers(cache_dir)
        assert len(finished) >= outcome["cached_before"] >= 1  # the cache is intact
        sent_before = len(server.requests)

        rerun = subprocess.run([sys.executable, "run.py", "--config", str(path)], cwd=PROJECT_ROOT,
                               env=env, capture_output=True, text=True, timeout=1200)
        assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-5000:]
        resent = server.requests[sent_before:]

    answers_resent = {scripted_answer(body)[1]["choices"][0]["message"]["content"] for body in resent}
    assert not answers_resent & finished  # no request for a chunk that was finished
    assert len(resent) == 6 - len(finished)  # 3 chunks per split, each asked once
    assert "Stage times:" in rerun.stdout


@pytest.mark.llm
def test_ctrl_c_with_the_embedded_llm_leaves_no_server_process(workspace):
    root, env = workspace
    config = tiny_config(root, "http://unused.invalid/v1", "interrupt-embedded")
    config["generation"] = {"queries_per_chunk": 2, "max_new_tokens": 160, "max_chunks": 3,
                            "cache_dir": str(root / "generation-cache")}
    path = root / "embedded.yaml"
    path.write_text(yaml.safe_dump(config))

    outcome = interrupt_mid_generation(path, env, root / "generation-cache", signal.SIGINT,
                                       wait_for_child="embedtune.generation.embedded_server")
    assert_stopped_cleanly(outcome, signal.SIGINT, env)
