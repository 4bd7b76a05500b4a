"""The real embedded LLM (llama.cpp's server on loopback) behind a fault-injecting proxy.

429 with Retry-After, 500, a timeout, a malformed HTTP body and a malformed model answer each hit
one request; one chunk gets a 500 on every try. The run must complete, retry each fault visibly,
record the hopeless chunk as a failure row with its attempts, and lose no other chunk.
"""

import json

import pytest

from embedtune import schema
from embedtune.config import EmbeddedLLMConfig, GenerationConfig
from embedtune.bundled.llm import ensure_embedded_gguf
from embedtune.generation.embedded_server import MODEL_ALIAS, embedded_server
from embedtune.generation.runner import generate_queries
from tests.generation.fault_proxy import FaultProxy

pytestmark = pytest.mark.llm

PASSAGES = [
    "In 2012, Lyft launched its peer-to-peer marketplace for on-demand ridesharing. Today Lyft is "
    "one of the largest multimodal transportation networks in the United States and Canada.",
    "Lyft Pink is a membership program that gives riders 15% off rides, priority airport pickups, "
    "and free bike and scooter unlocks for a monthly fee of $19.99.",
    "Express Drive is a flexible car rental program for drivers who want to drive on the Lyft "
    "platform but do not have a vehicle that meets the platform's requirements.",
    "In November 2020, California voters approved Proposition 22, which classifies app-based "
    "drivers as independent contractors and gives them new earnings guarantees and benefits.",
    "Lyft's bike and scooter network operates in several major cities, including the Citi Bike "
    "system in New York City, which Lyft runs under an agreement with the city.",
]
HOPELESS = "This passage is always refused by the proxy with a 500 error, on every try."
SCRIPTED_FAULTS = ["429", "500", "timeout", "malformed_body", "malformed_content"]
TIMEOUT_S = 15


@pytest.fixture(scope="module")
def llama_server():
    config = EmbeddedLLMConfig(threads=2, parallel_slots=2, context_size=2048)
    with embedded_server(ensure_embedded_gguf(), config) as url:
        yield url


def test_run_survives_every_fault_retries_visibly_and_loses_nothing(llama_server, tmp_path):
    faults = iter(SCRIPTED_FAULTS)

    def choose_fault(body):
        if HOPELESS in body["messages"][-1]["content"]:
            return "500"
        return next(faults, None)  # the first five other requests get one fault each

    chunks = [{schema.CHUNK_ID: f"c{i}", schema.TEXT: text, schema.DOCUMENT_ID: f"d{i}", schema.SOURCE: "10-K"}
              for i, text in enumerate(PASSAGES + [HOPELESS])]
    with FaultProxy(llama_server, choose_fault, retry_after_s=1, hold_s=TIMEOUT_S + 3) as proxy:
        config = GenerationConfig(
            backend="openai_compatible", base_url=proxy.base_url, model=MODEL_ALIAS,
            queries_per_chunk=2, max_new_tokens=200, concurrency=2, timeout_s=TIMEOUT_S,
            max_retries=3, backoff_initial_s=0.2, unparsable_retries=1,
            max_failed_fraction=0.5, cache_dir=tmp_path / "resume",
            domain_context="Lyft's 2021 annual report (Form 10-K)",
        )
        result = generate_queries(chunks, config, "train")

    # Nothing lost: every answerable chunk has its queries, in chunk order.
    assert [r[schema.CHUNK_ID] for r in result.queries][::2] == [f"c{i}" for i in range(len(PASSAGES))]
    assert all(r[schema.QUERY].endswith("?") for r in result.queries)
    # The hopeless chunk is a failure row, kept apart, with every attempt counted.
    (failure,) = result.failures
    assert failure[schema.CHUNK_ID] == "c5" and failure[schema.ATTEMPTS] == 4
    assert "InternalServerError" in failure[schema.FAILURE_REASON]
    # Each scripted fault hit a chunk that was then asked again and answered.
    for fault in SCRIPTED_FAULTS:
        (hit,) = [e for e in proxy.log if e.fault == fault and e.passage != HOPELESS]
        later = [e for e in proxy.log if e.passage == hit.passage and e.arrived > hit.arrived]
        assert later and later[-1].fault is None and later[-1].status == 200, fault
        if fault == "429":
            assert later[0].arrived - hit.arrived >= 1.0  # Retry-After honoured
        if fault == "timeout":
            assert later[0].arrived - hit.arrived >= TIMEOUT_S - 0.5
    assert [e.fault for e in proxy.log if e.passage == HOPELESS] == ["500"] * 4
    assert result.stats.retries >= len(SCRIPTED_FAULTS) + 3
    assert result.stats.requests == len(proxy.log)
    assert result.stats.failed_chunks == 1 and result.stats.output_tokens > 0


def test_scale_out_vllm_config_runs_concurrently_against_a_served_llm_on_loopback(llama_server, tmp_path):
    """configs/vllm.yaml's generation settings (vllm backend, 32 requests in flight) against a real
    served model: here llama.cpp's OpenAI-compatible server stands in for `vllm serve`."""
    from embedtune.config import load_config
    from tests.conftest import PROJECT_ROOT

    settings = load_config(PROJECT_ROOT / "configs" / "vllm.yaml").generation
    assert settings.backend.value == "vllm" and settings.concurrency == 32
    chunks = [{schema.CHUNK_ID: f"c{i}", schema.TEXT: text, schema.DOCUMENT_ID: f"d{i}", schema.SOURCE: "10-K"}
              for i, text in enumerate(PASSAGES)]
    with FaultProxy(llama_server, lambda body: None) as proxy:
        config = settings.model_copy(update={
            "base_url": proxy.base_url, "model": MODEL_ALIAS, "max_new_tokens": 200,
            "cache_dir": tmp_path / "resume"})
        result = generate_queries(chunks, config, "train")
    assert result.stats.failed_chunks == 0
    assert {r[schema.CHUNK_ID] for r in result.queries} == {f"c{i}" for i in range(len(PASSAGES))}
    # All five requests were sent at once (a served engine batches them), not one by one.
    arrivals = sorted(e.arrived for e in proxy.log)
    assert len(arrivals) == len(PASSAGES) and arrivals[-1] - arrivals[0] < 2.0


def test_compact_grammar_is_obeyed_by_the_real_llama_cpp_server(llama_server, tmp_path):
    """structured_output: gbnf through the project's client: llama.cpp applies the grammar (the
    raw answer has no layout whitespace) and the rows parse like json_schema's."""
    import urllib.request

    from embedtune.generation.prompts import build_messages, compact_json_grammar

    body = {"model": MODEL_ALIAS, "max_tokens": 200, "temperature": 0.0,
            "messages": build_messages(PASSAGES[1], n_queries=3, domain_context="Lyft's 10-K"),
            "grammar": compact_json_grammar(3)}
    request = urllib.request.Request(llama_server + "/chat/completions", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    content = json.loads(urllib.request.urlopen(request, timeout=120).read())["choices"][0]["message"]["content"]
    assert content.startswith('{"questions":["') and "\n" not in content, content
    assert len(json.loads(content)["questions"]) == 3

    config = GenerationConfig(backend="openai_compatible", base_url=llama_server, model=MODEL_ALIAS,
                              structured_output="gbnf", max_new_tokens=200,
                              cache_dir=tmp_path / "resume")
    result = generate_queries([{schema.CHUNK_ID: "c0", schema.TEXT: PASSAGES[0], schema.DOCUMENT_ID: "d0",
                                schema.SOURCE: "a.txt"}], config, "train")
    assert not result.failures and len(result.queries) == 3
