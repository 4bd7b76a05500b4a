"""kill -9 in the middle of generation, then rerun: no repeated request for a finished chunk."""

import json
import signal
import sqlite3
import subprocess
import sys
import time

from embedtune import schema
from embedtune.config import GenerationConfig
from embedtune.generation.runner import generate_queries
from tests.conftest import PROJECT_ROOT
from tests.generation.scripted_server import ScriptedServer, chat_completion, passage_of

N_CHUNKS = 16


def chunks():
    return [{schema.CHUNK_ID: f"c{i}", schema.TEXT: f"Chunk number {i} on driver incentives.",
             schema.DOCUMENT_ID: f"d{i}", schema.SOURCE: f"doc{i}.txt"} for i in range(N_CHUNKS)]


def answer(body):
    time.sleep(0.25)  # slow enough to kill the client between two answers
    number = passage_of(body).split()[2]
    return 200, chat_completion(json.dumps({
        "questions": [f"What incentive applies to item {number}?",
                      f"When was item {number} introduced?"],
        "unanswerable_question": f"Who audits item {number}?"}))


def settings(url, cache_dir):
    return {"backend": "openai_compatible", "base_url": url, "model": "scripted",
            "queries_per_chunk": 2, "concurrency": 2, "timeout_s": 10, "cache_dir": str(cache_dir)}


def finished_chunk_ids(cache_dir):
    path = cache_dir / "queries-train.sqlite"
    if not path.exists():
        return set()
    with sqlite3.connect(path) as db:
        try:
            return {row[0] for row in db.execute("SELECT chunk_id FROM answers")}
        except sqlite3.OperationalError:  # the table is not created yet
            return set()


def start(spec_path, out_path):
    return subprocess.Popen([sys.executable, "tests/generation/generate_in_subprocess.py",
                             str(spec_path), str(out_path)], cwd=PROJECT_ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def test_kill_9_then_rerun_repeats_no_finished_chunk_and_matches_an_uninterrupted_run(tmp_path):
    cache_dir = tmp_path / "resume"
    with ScriptedServer(answer) as server:
        spec = tmp_path / "spec.json"
        spec.write_text(json.dumps({"config": settings(server.base_url, cache_dir),
                                    "chunks": chunks(), "split": "train"}))
        process = start(spec, tmp_path / "killed.json")
        deadline = time.monotonic() + 120
        while len(finished_chunk_ids(cache_dir)) < 5 and time.monotonic() < deadline:
            assert process.poll() is None, process.stderr.read()
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert process.returncode == -signal.SIGKILL
        finished = finished_chunk_ids(cache_dir)
        assert 5 <= len(finished) < N_CHUNKS  # killed in the middle
        sent_before_kill = len(server.requests)

        rerun = start(spec, tmp_path / "rerun.json")
        assert rerun.wait(timeout=120) == 0, rerun.stderr.read()
        resent = [passage_of(body) for body in server.requests[sent_before_kill:]]

        uninterrupted = generate_queries(
            chunks(), GenerationConfig(**settings(server.base_url, tmp_path / "fresh")), "train")

    text_of = {row[schema.CHUNK_ID]: row[schema.TEXT] for row in chunks()}
    assert not {text_of[c] for c in finished} & set(resent)  # zero repeats of finished chunks
    assert sorted(resent) == sorted(text_of[c] for c in text_of if c not in finished)
    result = json.loads((tmp_path / "rerun.json").read_text())
    assert result["stats"]["cached_chunks"] == len(finished)
    ids = [row[schema.QUERY_ID] for row in result["queries"]]
    assert ids == [row[schema.QUERY_ID] for row in uninterrupted.queries]
    assert len(ids) == 2 * N_CHUNKS and not result["failures"]
