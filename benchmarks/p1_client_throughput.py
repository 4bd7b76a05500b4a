"""P1: chunks/s of embedtune's generation client vs a sequential client, against one
OpenAI-compatible endpoint that answers every request after a fixed latency (default 2.2 s, the
seeds' measured seconds per chunk).

The endpoint is a latency server on loopback, so this measures the client (concurrency, no
batch barriers), not an LLM. The sequential client is what the seeds' tool does: the OpenAI SDK,
one ``chat.completions.create`` at a time, same messages and parameters.

    python benchmarks/p1_client_throughput.py            # default concurrency (GenerationConfig)
    python benchmarks/p1_client_throughput.py --chunks 128 --latency 2.2
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import openai  # noqa: E402

import constants as C  # noqa: E402
from embedtune.config import GenerationConfig  # noqa: E402
from embedtune.generation.backends import build_llm  # noqa: E402
from embedtune.generation.prompts import build_messages  # noqa: E402
from embedtune.generation.runner import generate_queries  # noqa: E402
from tests.generation.scripted_server import ScriptedServer, chat_completion  # noqa: E402

ANSWER = json.dumps({"questions": ["What is Lyft's mission?", "When did Lyft launch ridesharing?",
                                   "Where does Lyft operate?"],
                     "unanswerable_question": "How many bikes does Lyft own in Ohio?"})
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "lyft-10k-sample" / "lyft_10k_business.json"


def chunk_rows(n: int) -> list[dict]:
    texts = list(json.loads(SAMPLE.read_text()).values())
    words = " ".join(texts).split()
    return [{C.CHUNK_ID: f"c{i}", C.TEXT: f"Chunk {i}. " + " ".join(words[i * 50 : i * 50 + 300]),
             C.DOCUMENT_ID: "lyft", C.SOURCE: SAMPLE.name} for i in range(n)]


def sequential(rows: list[dict], config: GenerationConfig) -> float:
    """The seeds' way: one request at a time with the OpenAI SDK. Returns chunks/s."""
    client = openai.OpenAI(base_url=config.base_url, api_key="unused", max_retries=0)
    kwargs = build_llm(config).generation_kwargs
    started = time.monotonic()
    for row in rows:
        messages = build_messages(row[C.TEXT], n_queries=config.queries_per_chunk,
                                  domain_context=config.domain_context)
        reply = client.chat.completions.create(
            model=config.model, messages=messages, max_tokens=kwargs["max_new_tokens"],
            temperature=kwargs["temperature"], extra_body=kwargs["extra_body"])
        json.loads(reply.choices[0].message.content)
    return len(rows) / (time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=128, help="chunks for our client")
    parser.add_argument("--sequential-chunks", type=int, default=10)
    parser.add_argument("--latency", type=float, default=2.2, help="seconds per answer")
    parser.add_argument("--concurrency", type=int, default=None,
                        help="default: GenerationConfig's default")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")

    def slow_answer(body):
        time.sleep(args.latency)
        return 200, chat_completion(ANSWER)

    with ScriptedServer(slow_answer) as server, tempfile.TemporaryDirectory() as cache:
        overrides = {"concurrency": args.concurrency} if args.concurrency else {}
        config = GenerationConfig(backend="openai_compatible", base_url=server.base_url,
                                  model="latency-server", cache_dir=Path(cache), **overrides)
        seq_rate = sequential(chunk_rows(args.sequential_chunks), config)
        sent = len(server.requests)
        result = generate_queries(chunk_rows(args.chunks), config, "train")
        assert len(server.requests) - sent == args.chunks and not result.failures
        ours = result.stats.chunks / result.stats.seconds
    print(f"latency {args.latency} s per answer; concurrency {config.concurrency}")
    print(f"sequential client: {seq_rate:.3f} chunks/s ({args.sequential_chunks} chunks)")
    print(f"embedtune client:  {ours:.3f} chunks/s ({args.chunks} chunks, max in flight "
          f"{server.max_in_flight})")
    print(f"speed-up: {ours / seq_rate:.1f}x")


if __name__ == "__main__":
    main()
