"""Hybrid search: an embedding model's ranking fused with BM25's, as many RAG stacks serve it.

Teams that deploy a finetuned model often put it behind hybrid search (Elasticsearch, OpenSearch,
Weaviate, Qdrant all offer one). Whether finetuning still pays once BM25 is fused in, and
whether hybrid beats the finetuned model alone, are deployment questions the report can answer
on the same held-out queries, so each embedding model is also scored fused with BM25.

Fusion is reciprocal rank fusion (Cormack, Clarke and Buettcher, SIGIR 2009): a chunk scores
``sum(1 / (k + rank))`` over the lists it appears in. It uses ranks only, so cosine similarities
and BM25 scores need no calibration against each other, and it has one constant (60 in the paper
and in those engines). The lists are fused deeper than the metrics' cut-off
(``evaluation.hybrid_depth``), since a chunk at rank 30 in both lists can belong in the top 10.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Sequence

from embedtune.evaluation.retrieval import RetrievalResult, score_rankings


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], k: int = 60) -> list[str]:
    """Ids of all lists, best first, by ``sum(1 / (k + rank))``; ties keep first-seen order."""
    if k < 1:
        raise ValueError(f"The RRF constant k must be at least 1, got {k}.")
    scores: dict[str, float] = defaultdict(float)
    for ranking in rankings:
        for rank, doc in enumerate(ranking, start=1):
            scores[doc] += 1.0 / (k + rank)
    return sorted(scores, key=lambda doc: -scores[doc])  # stable: ties stay in first-seen order


def fuse_results(
    dense: RetrievalResult,
    lexical: RetrievalResult,
    relevant: Sequence[set[str]],
    k_values: Sequence[int],
    rrf_k: int = 60,
) -> RetrievalResult:
    """Score the per-query fusion of two retrievers' rankings like any other system."""
    if dense.rankings is None or lexical.rankings is None:
        raise ValueError("Both results need their rankings to be fused.")
    if not len(dense.rankings) == len(lexical.rankings) == len(relevant):
        raise ValueError("Both results must rank the same queries as relevant lists.")
    fused = [reciprocal_rank_fusion([a, b], rrf_k) for a, b in zip(dense.rankings, lexical.rankings)]
    return score_rankings(fused, relevant, k_values, dense.seconds + lexical.seconds)
