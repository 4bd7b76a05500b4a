"""How should a model read chunks longer than it was trained on? Base vs finetuned per reading.

The quality benchmark's chunks come with the dataset (``corpus.json``), cut by another tool:
47% of them are longer than 510 of all-MiniLM-L6-v2's tokens (up to ~1,000; tables of
numbers take many word pieces), so a model reading 512 tokens never sees their second half.
all-MiniLM-L6-v2 was also trained on inputs of at most 128 tokens. This script scores the same
test questions (gpt-3.5's, on the second half of the chunks; see ``quality.py``) under several
ways of turning a chunk into a score, none of which needs training:

- ``first512``: one embedding of the chunk's first 512 tokens (what ``quality.py`` measures);
- ``max{W}``: the chunk cut into windows of W tokens (half-window stride), the chunk's score is
  its best window's (MaxP, Dai and Callan 2019; "parent-document retrieval" in RAG stacks);
- ``first512+max{W}``: the sum of the two, so a chunk needs both a good start and a good window.

Each reading is applied to the base model and to each finetuned model given (folders written by
``quality.py --save-model``), and each finetuned model is compared with the base model read the
same way (paired bootstrap on NDCG@10), and with the best base reading. Both comparisons are
also made on the questions whose chunk fits in 510 tokens: every reading sees all of their
chunk, so truncation cannot hide the answer from either model.

    python benchmarks/chunk_reading.py --data ../shared/data/seed-10k-lyft --models outputs/quality/model-L
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from embedtune.config import TrainingConfig  # noqa: E402
from embedtune.evaluation.metrics import mean_scores, score_query  # noqa: E402
from embedtune.evaluation.significance import paired_bootstrap  # noqa: E402
from embedtune.training.models import load_model  # noqa: E402
from quality import load_benchmark, split_benchmark  # noqa: E402  (benchmarks/, this script's folder)

K_VALUES = [1, 5, 10]
NDCG = "ndcg@10"
BASE = "base"
FITS = 510  # tokens of text a 512-token reading sees, besides [CLS] and [SEP]


def windows(tokenizer, text: str, size: int) -> list[str]:
    """``text`` cut into windows of ``size`` tokens that overlap by half, as exact substrings."""
    offsets = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    if len(offsets) <= size:
        return [text]
    out, start, stride = [], 0, size // 2
    while True:
        end = min(start + size, len(offsets))
        out.append(text[offsets[start][0]:offsets[end - 1][1]])
        if end == len(offsets):
            return out
        start += stride


def chunk_scores(model, queries: np.ndarray, chunks: list[str], size: int) -> np.ndarray:
    """(queries x chunks) cosine of each chunk's best window of ``size`` tokens."""
    pieces, owner = [], []
    for k, chunk in enumerate(chunks):
        cut = windows(model.tokenizer, chunk, size)
        pieces += cut
        owner += [k] * len(cut)
    model.max_seq_length = size + 2  # [CLS] and [SEP]
    emb = model.encode(pieces, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
    sims, owner_ids = queries @ emb.T, np.asarray(owner)
    return np.stack([sims[:, owner_ids == k].max(axis=1) for k in range(len(chunks))], axis=1)


def readings(model, questions: list[str], chunks: list[str], sizes: list[int]) -> dict[str, np.ndarray]:
    """Score matrices for each reading of ``chunks``."""
    model.max_seq_length = 512
    queries = model.encode(questions, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
    first = queries @ model.encode(chunks, batch_size=16, normalize_embeddings=True,
                                   show_progress_bar=False).T
    out = {"first512": first}
    for size in sizes:
        best = chunk_scores(model, queries, chunks, size)
        out[f"max{size}"] = best
        out[f"first512+max{size}"] = first + best
    model.max_seq_length = 512
    return out


def per_query(scores: np.ndarray, ids: list[str], relevant: list[set[str]]) -> list[dict[str, float]]:
    order = np.argsort(-scores, axis=1)[:, : max(K_VALUES)]
    return [score_query([ids[j] for j in row], rel, K_VALUES) for row, rel in zip(order, relevant)]


def _ndcg(rows: list[dict[str, float]], mask: list[bool] | None = None) -> list[float]:
    """Per-question NDCG@10, of the questions where ``mask`` is true (all without one)."""
    return [q[NDCG] for k, q in enumerate(rows) if mask is None or mask[k]]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path("../shared/data/seed-10k-lyft"))
    p.add_argument("--base-model", default=TrainingConfig().base_model)
    p.add_argument("--models", nargs="*", default=[], help="finetuned model folders")
    p.add_argument("--window-sizes", type=int, nargs="*", default=[254, 126],
                   help="window lengths in tokens, without [CLS] and [SEP]; none (the flag "
                   "alone) scores the first512 reading only")
    args = p.parse_args()
    corpus, qa = load_benchmark(args.data)
    ids, _, _, test = split_benchmark(corpus, qa)
    questions, relevant = [t for _, t in test], [set(qa["relevant_docs"][q]) for q, _ in test]
    chunks = [corpus[i] for i in ids]
    base = load_model(args.base_model, 512)
    lengths = {i: len(base.tokenizer(corpus[i], add_special_tokens=False)["input_ids"]) for i in ids}
    values = np.array(list(lengths.values()))
    print(f"{len(questions)} test questions over {len(chunks)} chunks; chunk tokens: median "
          f"{np.median(values):.0f}, max {values.max()}, {(values > FITS).mean():.0%} longer than {FITS}")

    scores: dict[str, dict[str, list[dict[str, float]]]] = {}
    for name in [BASE, *args.models]:
        model = base if name == BASE else load_model(name, 512)
        scores[name] = {reading: per_query(s, ids, relevant)
                        for reading, s in readings(model, questions, chunks, args.window_sizes).items()}

    long = [max(lengths[c] for c in rel) > FITS for rel in relevant]
    metrics = list(mean_scores(scores[BASE]["first512"]))
    fits = [not is_long for is_long in long]
    print(f"\nLast columns: NDCG@10 of the {sum(long)} questions whose chunk is longer than {FITS} "
          f"tokens, and of the {sum(fits)} whose chunk fits.")
    print("\n| model | reading | " + " | ".join(metrics) + " | ndcg@10, long chunks | ndcg@10, chunks that fit |")
    print("|---|---|" + "---:|" * (len(metrics) + 2))
    for name, by_reading in scores.items():
        for reading, rows in by_reading.items():
            means = mean_scores(rows)
            on_long, on_fits = (np.mean(_ndcg(rows, mask)) for mask in (long, fits))
            print(f"| {Path(name).name} | {reading} | " + " | ".join(f"{means[m]:.3f}" for m in metrics)
                  + f" | {on_long:.3f} | {on_fits:.3f} |")
    best_reading = max(scores[BASE], key=lambda r: mean_scores(scores[BASE][r])[NDCG])
    print(f"\nBest base reading: {best_reading} "
          f"({np.mean(_ndcg(scores[BASE][best_reading])):.3f} NDCG@10).")
    for name in args.models:
        for reading, rows in scores[name].items():
            for subset, mask in (("all questions", None), ("chunks that fit", fits)):
                ndcg = _ndcg(rows, mask)
                same = paired_bootstrap(_ndcg(scores[BASE][reading], mask), ndcg, NDCG)
                best = paired_bootstrap(_ndcg(scores[BASE][best_reading], mask), ndcg, NDCG)
                print(f"- {Path(name).name}, {reading}, {subset}: {np.mean(ndcg):.3f}; vs base read the "
                      f"same way {same.mean:+.3f} ({same.low:+.3f}..{same.high:+.3f}), vs the best base "
                      f"reading {best.mean:+.3f} ({best.low:+.3f}..{best.high:+.3f})")


if __name__ == "__main__":
    main()
