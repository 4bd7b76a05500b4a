"""The ``ollama`` backend against a real Ollama-style server on loopback, through the real
``ollama`` client and distilabel's ``OllamaLLM``: the request it sends, the queries it yields,
the tokens it counts, and that a 500 or 429 is retried like on the other backends while a 404
(unknown model) stops the run."""

import json

import pytest

pytest.importorskip("ollama")

from embedtune import schema  # noqa: E402
from embedtune.config import GenerationConfig  # noqa: E402
from embedtune.generation.runner import GenerationAborted, generate_queries  # noqa: E402
from tests.generation.loopback import passage_of  # noqa: E402
from tests.generation.ollama_server import OllamaServer, chat_response  # noqa: E402


def rows(n=3):
    return [{schema.CHUNK_ID: f"c{i}", schema.TEXT: f"Passage p{i} on driver incentives.", schema.DOCUMENT_ID: f"d{i}",
             schema.SOURCE: f"doc{i}.txt"} for i in range(n)]


def good(body):
    name = passage_of(body).split()[1]
    return 200, chat_response(json.dumps({"questions": [f"What incentive does {name} offer?",
                                                        f"When was {name} introduced?"],
                                          "unanswerable_question": f"Who owns {name}?"}))


def config(server, **extra):
    settings = {"backend": "ollama", "model": "qwen2.5:1.5b", "base_url": server.host,
                "queries_per_chunk": 2, "concurrency": 2, "backoff_initial_s": 0.01,
                "resume": False, **extra}
    return GenerationConfig(**settings)


def test_generation_through_the_ollama_client_and_api():
    with OllamaServer(good) as server:
        result = generate_queries(rows(), config(server, temperature=0.2, max_new_tokens=99), schema.TRAIN)
    assert [q[schema.QUERY] for q in result.queries][:2] == [
        "What incentive does p0 offer?", "When was p0 introduced?"]
    assert len(result.queries) == 6 and not result.failures
    request = server.requests[0]
    assert request["path"] == "/api/chat" and request["model"] == "qwen2.5:1.5b"
    assert request["format"] == "json" and request["stream"] is False
    assert request["options"] == {"temperature": 0.2, "num_predict": 99}
    assert result.stats.input_tokens == 3 * 12 and result.stats.output_tokens == 3 * 7


@pytest.mark.parametrize("status", [500, 429])
def test_a_transient_error_is_retried(status):
    failed = []

    def flaky(body):
        if not failed:
            failed.append(status)
            return status, {"error": "overloaded"}
        return good(body)

    with OllamaServer(flaky) as server:
        result = generate_queries(rows(2), config(server, concurrency=1), schema.TRAIN)
    assert not result.failures and len(result.queries) == 4
    assert result.stats.retries == 1 and len(server.requests) == 3


def test_an_unknown_model_stops_the_run():
    with OllamaServer(lambda body: (404, {"error": "model 'x' not found"})) as server:
        with pytest.raises(GenerationAborted, match="not found"):
            generate_queries(rows(), config(server, max_retries=3), schema.TRAIN)
        assert len(server.requests) <= 2  # not retried: one per worker at most
