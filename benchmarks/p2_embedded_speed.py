"""P2: seconds per chunk of the embedded LLM on this machine.

With ``configs/default.yaml`` the LLM writes 3 questions and a negative per chunk.

Runs the project's generation path (the embedded backend: the bundled GGUF served on loopback
by xllamacpp, or by ``generation.embedded.server_binary``; distilabel's client; the configured
output constraint) over the first ``--chunks`` chunks of the shipped Lyft 10-K that have at least
``--min-words`` words, each shown to the LLM cut to ``generation.max_chunk_words`` words. Every
setting comes from the ``generation`` section of ``--config`` and its ``--set`` overrides; the
resume cache is turned off so that every chunk is really generated. Server start-up is not
counted (it is paid once per run); one warm-up chunk fills the prompt-prefix cache first, as the
first chunk of a real run does.

    flock /tmp/embedtune-cpu.lock python -m benchmarks.p2_embedded_speed --chunks 6 \\
        --set generation.max_chunk_words=300
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from benchmarks.common import DATA, add_config_arguments, load_benchmark, run_config
from embedtune import schema
from embedtune.generation.backends import llm_for
from embedtune.generation.runner import generate_with_llm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_config_arguments(parser, "configs/default.yaml")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--chunks", type=int, default=6, help="chunks timed (after one warm-up)")
    parser.add_argument("--min-words", type=int, default=300)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    config = run_config(args).generation.model_copy(update={"resume": False})

    corpus, _ = load_benchmark(args.data)
    texts = [t for t in corpus.values() if len(t.split()) >= args.min_words][: args.chunks + 1]
    rows = [{schema.CHUNK_ID: f"c{i}", schema.TEXT: t, schema.DOCUMENT_ID: "lyft",
             schema.SOURCE: "corpus.json"} for i, t in enumerate(texts)]
    # One server for the warm-up and the timed chunks: start-up is paid once per run.
    with llm_for(config) as (llm, name):
        generate_with_llm(llm, name, rows[:1], config, schema.TRAIN)  # fills the prefix cache
        result = generate_with_llm(llm, name, rows[1:], config, schema.TRAIN)
    s = result.stats
    print(f"{s.chunks} chunks, {s.seconds:.1f} s: {s.seconds / s.chunks:.2f} s per chunk; "
          f"{s.input_tokens / s.chunks:.0f} prompt tokens and {s.output_tokens / s.chunks:.0f} "
          f"output tokens per chunk; {s.output_tokens / s.seconds:.1f} output tokens/s; "
          f"{s.failed_chunks} failed; {config.queries_per_chunk} questions per chunk, "
          f"{config.max_chunk_words} words shown, {config.structured_output}, parallel slots "
          f"{config.embedded.parallel_slots}, runtime {config.embedded.server_binary or 'xllamacpp'} "
          f"{' '.join(config.embedded.server_args)}")


if __name__ == "__main__":
    main()
