"""Ranking metrics for queries with a set of relevant chunks.

Plain functions over ranked id lists so they can be checked by hand in tests; the definitions
follow sentence-transformers' InformationRetrievalEvaluator (binary relevance, NDCG with the
ideal ranking of all relevant ids, MRR cut at k).
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence


def hit_rate_at_k(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """1 if any relevant id is in the top k."""
    return float(any(doc in relevant for doc in ranked[:k]))


def recall_at_k(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """Share of the relevant ids found in the top k."""
    return sum(doc in relevant for doc in ranked[:k]) / len(relevant)


def mrr_at_k(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """1 / rank of the first relevant id within the top k, else 0."""
    for rank, doc in enumerate(ranked[:k], start=1):
        if doc in relevant:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """Binary-relevance NDCG@k."""
    dcg = sum(1.0 / math.log2(rank + 1) for rank, doc in enumerate(ranked[:k], 1) if doc in relevant)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(relevant), k) + 1))
    return dcg / ideal


def score_query(ranked: Sequence[str], relevant: set[str], k_values: Iterable[int]) -> dict[str, float]:
    """All metrics of one query (MRR, NDCG and recall at the largest k)."""
    if not relevant:
        raise ValueError("A query needs at least one relevant chunk.")
    ks = sorted(set(k_values))
    k_max = max(ks)
    scores = {f"hit_rate@{k}": hit_rate_at_k(ranked, relevant, k) for k in ks}
    scores[f"mrr@{k_max}"] = mrr_at_k(ranked, relevant, k_max)
    scores[f"ndcg@{k_max}"] = ndcg_at_k(ranked, relevant, k_max)
    scores[f"recall@{k_max}"] = recall_at_k(ranked, relevant, k_max)
    return scores


def mean_scores(per_query: Sequence[dict[str, float]]) -> dict[str, float]:
    """Average each metric over queries."""
    if not per_query:
        raise ValueError("No queries to average.")
    return {key: sum(q[key] for q in per_query) / len(per_query) for key in per_query[0]}
