"""``plan`` before a run, after a partial run (cached chunks counted), and the spending caps: a
cap stops generation cleanly with what was done kept, and a rerun finishes it. Against a real
HTTP server on loopback; the token count of the embedded model against its real server."""

import json

import pytest

from embedtune import schema
from embedtune.config import GenerationConfig
from embedtune.generation.backends import build_llm, request_generation_kwargs
from embedtune.generation.plan import estimated_prompt_tokens, messages_for, plan_for_chunks
from embedtune.generation.runner import GenerationCapReached, generate_queries
from tests.generation.scripted_server import ScriptedServer, chat_completion, passage_of

N = 8


def rows(n=N, prefix="c"):
    return [{schema.CHUNK_ID: f"{prefix}{i}", schema.TEXT: f"Passage {prefix}{i} about driver incentives in 2021.",
             schema.DOCUMENT_ID: f"d{i}", schema.SOURCE: f"doc{i}.txt"} for i in range(n)]


def answer(body):
    name = passage_of(body).split()[1]
    return 200, chat_completion(json.dumps({
        "questions": [f"What incentive applies to {name}?", f"When was {name} introduced?"],
        "unanswerable_question": f"Who audits {name}?"}))


@pytest.fixture
def server():
    with ScriptedServer(answer) as running:
        yield running


def settings(server, tmp_path, **extra):
    return GenerationConfig(backend="openai_compatible", base_url=server.base_url, model="scripted",
                            queries_per_chunk=2, concurrency=1, cache_dir=tmp_path / "cache",
                            max_retries=0, **extra)


def test_plan_before_a_run_counts_every_chunk_as_to_send(server, tmp_path):
    config = settings(server, tmp_path, price_per_million_input_tokens=2.0,
                      price_per_million_output_tokens=8.0)
    plan = plan_for_chunks({schema.TRAIN: rows(), schema.TEST: rows(3, "t")}, config, documents=11)

    [train, test] = plan.splits
    assert (train.chunks, train.cached, train.to_send) == (N, 0, N)
    assert (test.chunks, test.cached, test.to_send) == (3, 0, 3)
    expected = sum(estimated_prompt_tokens(messages_for(r, config)) for r in rows())
    assert train.prompt_tokens == expected and not plan.prompt_tokens_exact
    assert train.output_tokens == N * config.max_new_tokens  # no answer measured yet: the bound
    assert plan.cost() == pytest.approx((plan.prompt_tokens * 2 + plan.output_tokens * 8) / 1e6)
    text = "\n".join(plan.lines())
    assert "11 documents, 11 chunks" in text and "(estimated)" in text and "expected cost" in text
    assert server.requests == []  # planning sends nothing


def test_a_request_cap_stops_generation_the_plan_counts_what_is_done_and_a_rerun_finishes(server, tmp_path):
    capped = settings(server, tmp_path, max_requests=3)
    with pytest.raises(GenerationCapReached) as stopped:
        generate_queries(rows(), capped, schema.TRAIN)
    message = str(stopped.value)
    assert "generation.max_requests=3 reached" in message and "3 of 8 train chunks are done" in message
    assert "rerun the same command" in message and "resume cache" in message
    assert len(server.requests) == 3

    plan = plan_for_chunks({schema.TRAIN: rows()}, capped, documents=N)
    [train] = plan.splits
    assert (train.cached, train.to_send) == (3, 5)
    assert "mean of 3 cached answers" in plan.output_tokens_basis
    assert "this run will stop at a cap" in "\n".join(plan.lines())

    first = set(server.passages())
    result = generate_queries(rows(), settings(server, tmp_path, max_requests=5), schema.TRAIN)
    resent = server.passages()[3:]
    assert len(resent) == 5 and not first & set(resent)  # no request for a finished chunk
    assert result.stats.cached_chunks == 3 and len(result.queries) == 2 * N
    assert plan_for_chunks({schema.TRAIN: rows()}, capped, documents=N).splits[0].to_send == 0


def test_the_caps_count_both_splits_of_one_run_together(server, tmp_path):
    config = settings(server, tmp_path, max_requests=5)
    generate_queries(rows(3), config, schema.TRAIN, run_id="run-1")
    with pytest.raises(GenerationCapReached, match="2 of 4 test chunks are done"):
        generate_queries(rows(4, "t"), config, schema.TEST, run_id="run-1")
    assert len(server.requests) == 5
    # A new run (a rerun) has its own budget and finishes the test split.
    result = generate_queries(rows(4, "t"), config, schema.TEST, run_id="run-2")
    assert result.stats.cached_chunks == 2 and len(server.requests) == 7


def test_a_prompt_token_cap_stops_before_the_request_that_would_cross_it(server, tmp_path):
    # The scripted server reports 10 prompt tokens per request; each estimate is larger.
    estimate = estimated_prompt_tokens(messages_for(rows(1)[0], settings(server, tmp_path)))
    config = settings(server, tmp_path, max_prompt_tokens=10 + 10 + estimate - 1)
    with pytest.raises(GenerationCapReached, match="generation.max_prompt_tokens=.* reached"):
        generate_queries(rows(), config, schema.TRAIN)
    assert len(server.requests) == 2


def test_the_plans_cache_keys_are_the_runners(server, tmp_path):
    for config in (settings(server, tmp_path), GenerationConfig(),
                   GenerationConfig(structured_output="gbnf", temperature=0.3)):
        assert request_generation_kwargs(config) == build_llm(config, base_url="http://x/v1").generation_kwargs


@pytest.mark.llm
def test_the_embedded_prompt_count_matches_what_the_embedded_server_reports():
    """The plan counts prompt tokens with the embedded model's tokenizer and chat template; the
    real llama.cpp server reports its own count for the same messages."""
    from embedtune.generation.backends import llm_for
    from embedtune.generation.plan import prompt_counter

    config = GenerationConfig(max_new_tokens=16, structured_output="none")
    count, _, exact = prompt_counter(config)
    assert exact
    sample = [{schema.TEXT: text} for text in (
        "Lyft, Inc. started a movement to revolutionize transportation in 2012.",
        "We had 18.7 million Active Riders in the fourth quarter of 2021 " * 12,
    )]
    with llm_for(config) as (llm, _):
        for row in sample:
            messages = messages_for(row, config)
            output = llm.event_loop.run_until_complete(
                llm.agenerate(input=messages, num_generations=1, **llm.generation_kwargs))
            reported = output["statistics"]["input_tokens"]
            reported = reported[0] if isinstance(reported, list) else reported
            assert abs(count(messages) - reported) <= 0.05 * reported, (count(messages), reported)
