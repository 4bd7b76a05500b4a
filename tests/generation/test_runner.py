"""Generation against a scripted OpenAI-compatible server on loopback (real HTTP, real client)."""

import json
import logging

import pytest

from embedtune import schema
from embedtune.config import GenerationConfig
from embedtune.generation.runner import GenerationAborted, generate_queries, query_id_for
from embedtune.generation.prompts import compact_json_grammar
import time

from tests.generation.scripted_server import ScriptedServer, chat_completion, passage_of

GOOD = json.dumps(
    {
        "questions": ["What does Lyft Pink cost?", "Which perks come with Lyft Pink?"],
        "unanswerable_question": "How many Lyft Pink members live in Ohio?",
    }
)


def chunks(n):
    return [
        {schema.CHUNK_ID: f"c{i}", schema.TEXT: f"Chunk number {i} about Lyft Pink.", schema.DOCUMENT_ID: f"d{i}",
         schema.SOURCE: f"doc{i}.txt"}
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
    assert [r[schema.QUERY_ID] for r in result.queries[:2]] == [query_id_for("c0", 0), query_id_for("c0", 1)]
    assert len(result.queries) == 6 and not result.failures
    row = result.queries[0]
    assert row[schema.POSITIVE] == "Chunk number 0 about Lyft Pink."
    assert row[schema.NEGATIVE_QUERY] == "How many Lyft Pink members live in Ohio?"
    assert row[schema.SPLIT] == "train"
    assert all(r["response_format"]["type"] == "json_schema" for r in server.requests)
    # Requests of one batch are concurrent, so they may arrive in any order.
    passages = sorted(r["messages"][1]["content"].split("Passage:\n")[1] for r in server.requests)
    assert passages == [f"Chunk number {i} about Lyft Pink." for i in range(3)]
    assert result.stats.requests == 3 and result.stats.input_tokens == 30


def test_gbnf_mode_sends_the_compact_grammar_instead_of_a_response_format(config):
    with ScriptedServer(lambda body: (200, chat_completion(GOOD))) as server:
        result = generate_queries(chunks(2), config(server.base_url, structured_output="gbnf"), "train")
    assert len(result.queries) == 4 and not result.failures
    assert all(r["grammar"] == compact_json_grammar(2) and "response_format" not in r
               for r in server.requests)


def test_unparsable_output_becomes_a_failure_row_not_a_none(config):
    answers = iter([GOOD, "{not json", GOOD, GOOD])
    with ScriptedServer(lambda body: (200, chat_completion(next(answers)))) as server:
        result = generate_queries(chunks(4), config(server.base_url, concurrency=1), "test")
    assert len(result.failures) == 1
    failure = result.failures[0]
    assert failure[schema.CHUNK_ID] == "c1" and "not valid JSON" in failure[schema.FAILURE_REASON]
    assert failure[schema.RAW_OUTPUT] == "{not json"
    assert all(r[schema.QUERY] for r in result.queries) and len(result.queries) == 6


def test_server_errors_fail_only_their_chunk(config):
    calls = {"n": 0}

    def respond(body):
        calls["n"] += 1
        if "Chunk number 1 " in body["messages"][1]["content"]:
            return 500, {"error": {"message": "boom"}}
        return 200, chat_completion(GOOD)

    with ScriptedServer(respond) as server:
        result = generate_queries(chunks(4), config(server.base_url), "train")
    assert [f[schema.CHUNK_ID] for f in result.failures] == ["c1"]
    assert "InternalServerError" in result.failures[0][schema.FAILURE_REASON]
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


def numbered_answer(body):
    """A deterministic answer that names the chunk it was asked about."""
    number = passage_of(body).split()[2]
    content = json.dumps({"questions": [f"What is said about item {number}?",
                                        f"Which fact concerns item {number}?"],
                          "unanswerable_question": f"Who audits item {number}?"})
    return 200, chat_completion(content)


def test_rerun_sends_no_request_for_finished_chunks_and_changes_regenerate_only_what_they_affect(config):
    with ScriptedServer(numbered_answer) as server:
        first = generate_queries(chunks(6), config(server.base_url), "train")
        assert len(server.requests) == 6 and first.stats.generated_chunks == 6

        again = generate_queries(chunks(6), config(server.base_url), "train")
        assert len(server.requests) == 6  # nothing sent
        assert again.stats.cached_chunks == 6 and again.stats.requests == 0
        assert again.queries == first.queries

        edited = chunks(6)
        edited[3][schema.TEXT] = "Chunk number 3 about Lyft Pink, edited."
        generate_queries(edited, config(server.base_url), "train")
        assert server.passages()[6:] == ["Chunk number 3 about Lyft Pink, edited."]

        generate_queries(chunks(6), config(server.base_url, domain_context="a changed prompt"), "train")
        generate_queries(chunks(6), config(server.base_url, max_new_tokens=200), "train")
        assert len(server.requests) == 7 + 6 + 6  # prompt or parameters changed: all regenerated

        generate_queries(chunks(6), config(server.base_url), "test")
        assert len(server.requests) == 19 + 6  # the test split never reuses train answers


def test_resume_off_always_asks(config):
    with ScriptedServer(numbered_answer) as server:
        for _ in range(2):
            generate_queries(chunks(3), config(server.base_url, resume=False), "train")
    assert len(server.requests) == 6


def test_failed_chunks_are_not_cached_and_are_asked_again(config):
    fail = {"on": True}

    def respond(body):
        if fail["on"] and "number 1 " in passage_of(body):
            return 500, {"error": {"message": "boom"}}
        return numbered_answer(body)

    with ScriptedServer(respond) as server:
        first = generate_queries(chunks(3), config(server.base_url), "train")
        assert [f[schema.CHUNK_ID] for f in first.failures] == ["c1"]
        fail["on"] = False
        second = generate_queries(chunks(3), config(server.base_url), "train")
    assert server.passages()[3:] == ["Chunk number 1 about Lyft Pink."]
    assert not second.failures and len(second.queries) == 6


def test_requests_stay_within_the_concurrency_bound_and_rows_keep_chunk_order(config):
    def slow(body):
        time.sleep(0.3 if "number 0 " in passage_of(body) else 0.1)
        return numbered_answer(body)

    with ScriptedServer(slow) as server:
        result = generate_queries(chunks(12), config(server.base_url, concurrency=4), "train")
    assert server.max_in_flight == 4
    assert [r[schema.CHUNK_ID] for r in result.queries] == [f"c{i}" for i in range(12) for _ in range(2)]


def test_rate_limit_retry_after_is_honoured_and_retries_are_counted(config):
    seen = {"n": 0}

    def respond(body):
        seen["n"] += 1
        if seen["n"] == 1:
            return 429, {"error": {"message": "slow down"}}, {"Retry-After": "1"}
        return numbered_answer(body)

    with ScriptedServer(respond) as server:
        result = generate_queries(
            chunks(2), config(server.base_url, concurrency=1, max_retries=2, backoff_initial_s=0.01),
            "train",
        )
    assert len(result.queries) == 4 and not result.failures
    assert result.stats.retries == 1 and result.stats.requests == 3
    assert server.arrivals[1] - server.arrivals[0] >= 1.0  # waited as the server asked


def test_a_chunk_that_keeps_failing_records_its_attempts(config):
    def respond(body):
        if "number 2 " in passage_of(body):
            return 503, {"error": {"message": "overloaded"}}
        return numbered_answer(body)

    with ScriptedServer(respond) as server:
        result = generate_queries(
            chunks(4), config(server.base_url, max_retries=3, backoff_initial_s=0.01), "train"
        )
    (failure,) = result.failures
    assert failure[schema.CHUNK_ID] == "c2" and failure[schema.ATTEMPTS] == 4
    assert "InternalServerError" in failure[schema.FAILURE_REASON]
    assert result.stats.retries == 3 and len(result.queries) == 6


def test_an_unparsable_answer_is_asked_again_once(config):
    answers = iter(["{cut", GOOD])
    with ScriptedServer(lambda body: (200, chat_completion(next(answers)))) as server:
        result = generate_queries(chunks(1), config(server.base_url, unparsable_retries=1), "train")
    assert len(server.requests) == 2 and len(result.queries) == 2 and result.stats.retries == 1


def test_summary_line_reports_requests_retries_failures_and_tokens(config, caplog):
    with ScriptedServer(numbered_answer) as server, caplog.at_level(logging.INFO):
        generate_queries(chunks(2), config(server.base_url), "train")
    summary = [r.getMessage() for r in caplog.records if "train generation:" in r.getMessage()]
    assert len(summary) == 1
    for part in ("2 chunks", "2 generated", "0 failed", "2 requests", "0 retries",
                 "tokens in/out 20/10", "chunks/s"):
        assert part in summary[0]


def test_one_loaded_llm_serves_several_calls(config):
    from embedtune.generation.backends import llm_for
    from embedtune.generation.runner import generate_with_llm

    with ScriptedServer(numbered_answer) as server:
        settings = config(server.base_url, resume=False)
        with llm_for(settings) as (llm, name):
            first = generate_with_llm(llm, name, chunks(2), settings, "train")
            second = generate_with_llm(llm, name, chunks(3), settings, "test")
    assert len(first.queries) == 4 and len(second.queries) == 6 and len(server.requests) == 5
