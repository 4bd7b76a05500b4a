"""P2: seconds per chunk of the embedded LLM (3 questions + a negative per chunk) on this machine.

Runs the project's real generation path (``generate_queries`` with the embedded backend: the
GGUF served by xllamacpp on loopback, distilabel's client, JSON-schema or compact-grammar output) over the first
``--chunks`` chunks of the Lyft 10-K that have at least ``--min-words`` words, each shown to the
LLM cut to ``--max-chunk-words`` words (the chunk budget). The resume cache is off, so every chunk
is really generated. Server start-up is excluded (it is paid once per run); one warm-up chunk
fills the prompt-prefix cache first, as the first chunk of a real run does.

    flock /tmp/embedtune-cpu.lock python benchmarks/p2_embedded_speed.py --chunks 8
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import constants as C  # noqa: E402
from embedtune.config import EmbeddedLLMConfig, GenerationConfig  # noqa: E402
from embedtune.generation.backends import llm_for  # noqa: E402
from embedtune.generation.runner import generate_with_llm  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/seed-10k-lyft"))
    parser.add_argument("--chunks", type=int, default=8)
    parser.add_argument("--min-words", type=int, default=300)
    parser.add_argument("--max-chunk-words", type=int, default=None,
                        help="default: generation.max_chunk_tokens's default")
    parser.add_argument("--parallel-slots", type=int, default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--structured-output", default="json_schema",
                        help="generation.structured_output (gbnf: compact JSON grammar)")
    parser.add_argument("--server-binary", default=None,
                        help="generation.embedded.server_binary (e.g. .venv/bin/ik-llama-server)")
    parser.add_argument("--server-args", type=shlex.split, default=[],
                        help="generation.embedded.server_args as one string, e.g. "
                        "--server-args='--run-time-repack -fa on'")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")

    corpus = json.loads((args.data / "corpus.json").read_text())
    texts = [t for t in corpus.values() if len(t.split()) >= args.min_words][: args.chunks + 1]
    rows = [{C.CHUNK_ID: f"c{i}", C.TEXT: t, C.DOCUMENT_ID: "lyft", C.SOURCE: "corpus.json"}
            for i, t in enumerate(texts)]
    embedded = {"threads": args.threads, "server_binary": args.server_binary,
                "server_args": args.server_args}
    if args.parallel_slots:
        embedded["parallel_slots"] = args.parallel_slots
    overrides = {"max_chunk_tokens": args.max_chunk_words} if args.max_chunk_words else {}
    overrides["structured_output"] = args.structured_output
    config = GenerationConfig(resume=False, domain_context="Lyft's 2021 annual report (Form 10-K)",
                              embedded=EmbeddedLLMConfig(**embedded), **overrides)

    # Keep one server for the warm-up and the measured chunks: start-up is paid once per run.
    with llm_for(config) as (llm, name):
        generate_with_llm(llm, name, rows[:1], config, "train")  # warm-up: fills the prefix cache
        result = generate_with_llm(llm, name, rows[1:], config, "train")
    s = result.stats
    print(f"{s.chunks} chunks, {s.seconds:.1f} s: {s.seconds / s.chunks:.2f} s per chunk; "
          f"{s.input_tokens / s.chunks:.0f} prompt tokens and {s.output_tokens / s.chunks:.0f} "
          f"output tokens per chunk; {s.output_tokens / s.seconds:.1f} output tokens/s, "
          f"{(s.input_tokens + s.output_tokens) / s.seconds:.1f} tokens/s in+out; "
          f"{s.failed_chunks} failed; parallel slots {config.embedded.parallel_slots}, "
          f"chunk budget {config.max_chunk_tokens} words, {config.structured_output}, "
          f"runtime {config.embedded.server_binary or 'xllamacpp'} {' '.join(config.embedded.server_args)}")


if __name__ == "__main__":
    main()
