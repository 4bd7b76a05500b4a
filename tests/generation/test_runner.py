"""Generation against a scripted OpenAI-compatible server on loopback (real HTTP, real client)."""

import json
import logging

import pytest

import constants as C
from embedtune.config import GenerationConfig
from embedtune.generation.runner import GenerationAborted, generate_queries, query_id_for
from tests.generation.scripted_server import ScriptedServer, chat_completion

GOOD = json.dumps(
    {
        "questions": ["What does Lyft Pink cost?", "Which perks come with Lyft Pink?"],
        "unanswerable_question": "How many Lyft Pink members live in Ohio?",
    }
)


def chunks(n):
    return [
        {C.CHUNK_ID: f"c{i}", C.TEXT: f"Chunk number {i} about Lyft Pink.", C.DOCUMENT_ID: f"d{i}",
         C.SOURCE: f"doc{i}.txt"}
        for i in range(n)
    ]


@pytest.fixture
def config(tmp_path):
    """A served-backend config whose resume cache lives in the test's own folder."""

    def make(url, **overrides):
        values = dict(
            backend="openai_compatible", base_url=url, model="scripted", queries_per_chunk=2,
            max_retries=0, unparsable_retries=0, timeout_s=10, concurrency=2,
            cache_dir=tmp_path / "resume",
        )
        values.update(overrides)
        return GenerationConfig(**values)

    return make


def test_rows_ids_and_structured_output_request(config):
    with ScriptedServer(lambda body: (200, chat_completion(GOOD))) as server:
        result = generate_queries(chunks(3), config(server.base_url), "train")
    assert [r[C.QUERY_ID] for r in result.queries[:2]] == [query_id_for("c0", 0), query_id_for("c0", 1)]
    assert len(result.queries) == 6 and not result.failures
    row = result.queries[0]
    assert row[C.POSITIVE] == "Chunk number 0 about Lyft Pink."
    assert row[C.NEGATIVE_QUERY] == "How many Lyft Pink members live in Ohio?"
    assert row[C.SPLIT] == "train"
    assert all(r["response_format"]["type"] == "json_schema" for r in server.requests)
    # Requests of one batch are concurrent, so they may arrive in any order.
    passages = sorted(r["messages"][1]["content"].split("Passage:\n")[1] for r in server.requests)
    assert passages == [f"Chunk number {i} about Lyft Pink." for i in range(3)]
    assert result.stats.requests == 3 and result.stats.input_tokens == 30


def test_unparsable_output_becomes_a_failure_row_not_a_none(config):
    answers = iter([GOOD, "{not json", GOOD, GOOD])
    with ScriptedServer(lambda body: (200, chat_completion(next(answers)))) as server:
        result = generate_queries(chunks(4), config(server.base_url, concurrency=1), "test")
    assert len(result.failures) == 1
    failure = result.failures[0]
    assert failure[C.CHUNK_ID] == "c1" and "not valid JSON" in failure[C.FAILURE_REASON]
    assert failure[C.RAW_OUTPUT] == "{not json"
    assert all(r[C.QUERY] for r in result.queries) and len(result.queries) == 6


def test_server_errors_fail_only_their_chunk(config):
    calls = {"n": 0}

    def respond(body):
        calls["n"] += 1
        if "Chunk number 1 " in body["messages"][1]["content"]:
            return 500, {"error": {"message": "boom"}}
        return 200, chat_completion(GOOD)

    with ScriptedServer(respond) as server:
        result = generate_queries(chunks(4), config(server.base_url), "train")
    assert [f[C.CHUNK_ID] for f in result.failures] == ["c1"]
    assert "InternalServerError" in result.failures[0][C.FAILURE_REASON]
    assert len(result.queries) == 6


def test_bad_api_key_stops_the_run_at_once(config, monkeypatch, caplog):
    monkeypatch.setenv("SCRIPTED_KEY", "sk-secret-value-123")
    reject = lambda body: (401, {"error": {"message": "invalid api key"}})  # noqa: E731
    with ScriptedServer(reject) as server, caplog.at_level(logging.DEBUG):
        with pytest.raises(GenerationAborted, match="AuthenticationError"):
            generate_queries(chunks(5), config(server.base_url, api_key_env="SCRIPTED_KEY"), "train")
    assert len(server.requests) <= 2  # one batch, not one request per chunk
    assert server.auth_headers[0] == "Bearer sk-secret-value-123"
    assert "sk-secret-value-123" not in caplog.text


def test_too_many_failures_abort_with_the_last_reason(config):
    with ScriptedServer(lambda body: (200, chat_completion("nonsense"))) as server:
        with pytest.raises(GenerationAborted, match="not valid JSON"):
            generate_queries(
                chunks(20), config(server.base_url, failure_check_after=4, concurrency=1), "train"
            )
    assert len(server.requests) == 4


def test_max_chunks_limits_requests(config):
    with ScriptedServer(lambda body: (200, chat_completion(GOOD))) as server:
        result = generate_queries(chunks(5), config(server.base_url, max_chunks=2), "train")
    assert len(server.requests) == 2 and result.stats.chunks == 2
