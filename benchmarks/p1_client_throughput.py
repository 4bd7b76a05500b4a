"""P1: chunks/s of embedtune's generation client against a sequential client, on a latency server.

The server is one OpenAI-compatible endpoint on loopback that answers every request after a fixed
latency (``--latency``, default 2.2 s, a served LLM's measured seconds per chunk), so this
measures the client (concurrency, retries, resume cache, parsing), not an LLM. The sequential client is the plain way: the OpenAI SDK, one
``chat.completions.create`` at a time, with the same messages and parameters. embedtune's client
is ``generate_queries`` with the ``generation`` section of ``--config`` (default
``configs/default.yaml``; ``--set generation.concurrency=N`` and the like), pointed at the
endpoint. The chunks are cut from the shipped Lyft corpus.

    python -m benchmarks.p1_client_throughput
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path

import openai

from benchmarks.common import DATA, add_config_arguments, load_benchmark, run_config
from embedtune import schema
from embedtune.config import GenerationConfig
from embedtune.generation.backends import build_llm
from embedtune.generation.prompts import build_messages
from embedtune.generation.runner import generate_queries
from tests.generation.scripted_server import ScriptedServer, chat_completion

ANSWER = json.dumps({"questions": ["What is Lyft's mission?", "When did Lyft launch ridesharing?",
                                   "Where does Lyft operate?"],
                     "unanswerable_question": "How many bikes does Lyft own in Ohio?"})


def chunk_rows(n: int) -> list[dict]:
    words = " ".join(load_benchmark(DATA)[0].values()).split()
    return [{schema.CHUNK_ID: f"c{i}", schema.TEXT: f"Chunk {i}. " + " ".join(words[i * 50: i * 50 + 300]),
             schema.DOCUMENT_ID: "lyft", schema.SOURCE: "corpus.json"} for i in range(n)]


def sequential(rows: list[dict], config: GenerationConfig) -> float:
    """One request at a time with the OpenAI SDK. Returns chunks/s."""
    client = openai.OpenAI(base_url=config.base_url, api_key="unused", max_retries=0)
    kwargs = build_llm(config).generation_kwargs
    started = time.monotonic()
    for row in rows:
        messages = build_messages(row[schema.TEXT], n_queries=config.queries_per_chunk,
                                  domain_context=config.domain_context,
                                  extra_instructions=config.extra_instructions,
                                  max_chunk_words=config.max_chunk_words)
        reply = client.chat.completions.create(
            model=config.model, messages=messages, max_tokens=kwargs["max_new_tokens"],
            temperature=kwargs["temperature"], extra_body=kwargs["extra_body"])
        json.loads(reply.choices[0].message.content)
    return len(rows) / (time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_config_arguments(parser, "configs/default.yaml")
    parser.add_argument("--chunks", type=int, default=128, help="chunks for embedtune's client")
    parser.add_argument("--sequential-chunks", type=int, default=10)
    parser.add_argument("--latency", type=float, default=2.2, help="seconds per answer")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    generation = run_config(args).generation

    def slow_answer(body):
        time.sleep(args.latency)
        return 200, chat_completion(ANSWER)

    with ScriptedServer(slow_answer) as server, tempfile.TemporaryDirectory() as cache:
        config = GenerationConfig.model_validate({
            **generation.model_dump(mode="json"), "backend": "openai_compatible",
            "base_url": server.base_url, "model": "latency-server", "cache_dir": str(Path(cache))})
        seq_rate = sequential(chunk_rows(args.sequential_chunks), config)
        sent = len(server.requests)
        result = generate_queries(chunk_rows(args.chunks), config, schema.TRAIN)
        assert len(server.requests) - sent == args.chunks and not result.failures
        ours = result.stats.chunks / result.stats.seconds
    print(f"latency {args.latency} s per answer; concurrency {config.concurrency}")
    print(f"sequential client: {seq_rate:.3f} chunks/s ({args.sequential_chunks} chunks)")
    print(f"embedtune client:  {ours:.3f} chunks/s ({args.chunks} chunks, max in flight "
          f"{server.max_in_flight})")
    print(f"speed-up: {ours / seq_rate:.1f}x")


if __name__ == "__main__":
    main()
