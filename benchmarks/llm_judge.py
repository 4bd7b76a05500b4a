"""Could the embedded LLM judge relevance, as a teacher for hard negatives or GPL's pseudo-labels?

For a sample of row R's training questions (gpt-3.5's first-half questions, curated as in
``quality.py``), the embedded 1.5B model is asked whether the question's own chunk, and then
the first hard negative that mining finds for it (the base model's closest other train chunk,
below the configured margin), answers the question. It reads P(yes) from the first answer
token's log-probabilities. A teacher would need to say no to many mined candidates (to catch the
ones that are not false negatives) or at least to rank the own chunk above them; the cost per
judged pair bounds how many pairs fit in the recipe's time budget.

    .venv/bin/python benchmarks/llm_judge.py --data ../shared/data/seed-10k-lyft --sample 30
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402

import constants as C  # noqa: E402
from embedtune.config import load_config  # noqa: E402
from embedtune.curation.curate import HARD_NEGATIVE_IDS  # noqa: E402
from embedtune.generation.embedded_model import ensure_embedded_gguf  # noqa: E402
from embedtune.generation.embedded_server import embedded_server  # noqa: E402
from embedtune.training.models import load_model  # noqa: E402
from quality import curated_reference_rows, load_benchmark, split_benchmark  # noqa: E402

PROMPT = ("Passage from {domain}:\n\"\"\"\n{passage}\n\"\"\"\n\nQuestion: {question}\n\n"
          "Does the passage contain the answer to the question? Answer yes or no.")


def p_yes(client: httpx.Client, prompt: str) -> float:
    """P(yes) / (P(yes) + P(no)) over the first answer token's top log-probabilities."""
    response = client.post("/chat/completions", json={
        "model": "embedded", "temperature": 0, "max_tokens": 1, "logprobs": True,
        "top_logprobs": 10, "messages": [{"role": "user", "content": prompt}]})
    response.raise_for_status()
    top = response.json()["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
    mass = {answer: sum(math.exp(t["logprob"]) for t in top if t["token"].strip().lower() == answer)
            for answer in ("yes", "no")}
    if not mass["yes"] + mass["no"]:
        raise ValueError(f"Neither yes nor no among the top answer tokens: {top}")
    return mass["yes"] / (mass["yes"] + mass["no"])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", type=Path, default=Path("configs/lyft_10k.yaml"))
    p.add_argument("--data", type=Path, default=Path("../shared/data/seed-10k-lyft"))
    p.add_argument("--sample", type=int, default=30, help="training questions to judge")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    config = load_config(args.config)
    mining = config.curation.hard_negatives.model_copy(update={"enabled": True, "num_negatives": 1})
    curation = config.curation.model_copy(update={"hard_negatives": mining})
    corpus, qa = load_benchmark(args.data)
    _, first_half, _, _ = split_benchmark(corpus, qa)
    base = load_model(config.training.base_model, config.training.max_seq_length)
    rows = curated_reference_rows(qa, corpus, first_half, curation, base)
    sample = random.Random(1).sample([r for r in rows if r[HARD_NEGATIVE_IDS]], args.sample)
    words = config.generation.max_chunk_tokens  # the words of a chunk the LLM is shown

    def prompt(question: str, chunk_id: str) -> str:
        passage = " ".join(corpus[chunk_id].split()[:words])
        return PROMPT.format(domain=config.generation.domain_context, passage=passage,
                             question=question)

    own, mined = [], []
    with embedded_server(ensure_embedded_gguf(), config.generation.embedded) as url:
        client = httpx.Client(base_url=url, timeout=300)
        started = time.monotonic()
        for n, row in enumerate(sample, 1):
            own.append(p_yes(client, prompt(row[C.QUERY], row[C.CHUNK_ID])))
            mined.append(p_yes(client, prompt(row[C.QUERY], row[HARD_NEGATIVE_IDS][0])))
            print(f"{n}/{len(sample)}: own {own[-1]:.2f}, mined {mined[-1]:.2f}", flush=True)
        seconds = time.monotonic() - started
    higher = sum((a > b) + 0.5 * (a == b) for a, b in zip(own, mined))
    print(f"\n{len(sample)} questions, {seconds / (2 * len(sample)):.1f} s per judged pair.\n"
          f"Judged yes (P > 0.5): own chunk {sum(x > 0.5 for x in own)}, first mined candidate "
          f"{sum(x > 0.5 for x in mined)}. Mean P(yes): own {sum(own) / len(own):.2f}, mined "
          f"{sum(mined) / len(mined):.2f}. Own chunk judged more likely for {higher:g}.")


if __name__ == "__main__":
    main()
