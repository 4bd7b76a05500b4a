"""An API key reaches the server and nothing else: not the logs, the config, the ZenML store and
artifacts (the queries dataset, the failure rows, step logs), nor the resume cache."""

import base64
import json
import os
import subprocess
import sys

import yaml

from embedtune import schema
from tests.conftest import PROJECT_ROOT
from tests.generation.scripted_server import ScriptedServer, chat_completion, passage_of

KEY = "sk-embedtune-test-5f0c2b7e9a41d6"
GOOD = json.dumps({"questions": ["What does Lyft Pink cost per month?",
                                 "Which perks come with Lyft Pink?"],
                   "unanswerable_question": "How many Lyft Pink members live in Ohio?"})


def files_containing(root, needles):
    hits = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            hits += [f"{path}: {needle!r}" for needle in needles if needle in data]
    return hits


def test_api_key_reaches_only_the_server(tmp_path):
    calls = {"n": 0, "chunk 0": 0}

    def respond(body):
        calls["n"] += 1
        # Keyed by chunk, not by arrival order: requests run concurrently, and a 429 landing on
        # chunk 1 (whose answer is unparsable) would change the attempts the logs report.
        if "number 0 " in passage_of(body):
            calls["chunk 0"] += 1
            if calls["chunk 0"] == 1:  # a retry, so retry logs are written too
                return 429, {"error": {"message": "slow down"}}, {"Retry-After": "0"}
        if "number 1 " in passage_of(body):  # a failure row with its raw answer
            return 200, chat_completion("{not json")
        return 200, chat_completion(GOOD)

    chunks = [{schema.CHUNK_ID: f"c{i}", schema.TEXT: f"Chunk number {i} about Lyft Pink.",
               schema.DOCUMENT_ID: f"d{i}", schema.SOURCE: f"doc{i}.txt"} for i in range(3)]
    with ScriptedServer(respond) as server:
        generation = {"backend": "openai_compatible", "base_url": server.base_url,
                      "model": "scripted", "api_key_env": "EMBEDTUNE_TEST_KEY",
                      "queries_per_chunk": 2, "backoff_initial_s": 0.01, "unparsable_retries": 0,
                      "cache_dir": str(tmp_path / "resume")}
        (tmp_path / "config.yaml").write_text(yaml.safe_dump({"generation": generation}))
        spec = tmp_path / "spec.json"
        spec.write_text(json.dumps({"generation": generation, "chunks": chunks}))
        env = {**os.environ, "EMBEDTUNE_TEST_KEY": KEY, "ZENML_CONFIG_PATH": str(tmp_path / "zen"),
               "ZENML_LOGGING_VERBOSITY": "DEBUG"}
        run = subprocess.run([sys.executable, "tests/generation/secret_key_pipeline.py", str(spec)],
                             cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-4000:]
    assert set(server.auth_headers) == {f"Bearer {KEY}"}  # the key was really used
    assert calls["n"] == 4  # 429 + retry, and the two other chunks

    logs = run.stdout + run.stderr
    assert "retry 1/4" in logs and "failed after 1 attempts" in logs  # the logs say things
    assert KEY not in logs
    stored = list((tmp_path / "zen").rglob("*"))
    assert any(p.suffix == ".db" for p in stored)  # ZenML's store and artifacts are really there
    assert any("queries" in str(p) for p in stored)
    needles = [KEY.encode(), base64.b64encode(KEY.encode()), KEY.encode("utf-16-le")]
    assert files_containing(tmp_path, needles) == []
