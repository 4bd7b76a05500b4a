"""Evaluate query -> chunk retrieval of a model over the whole corpus.

Queries are the held-out (test-split) generated queries; the corpus is every chunk, train and
test, so a model must find the right chunk among all of them, as in production. The corpus is
encoded once per model and reused for all queries.

Besides the ranks, an embedding model's result keeps two cosine scores per query: the relevant
chunk's and the best wrong chunk's. Their gap is what finetuning moves; ranks alone hide whether
a model separates right from wrong by a hair or by a margin.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from sentence_transformers import SentenceTransformer

from embedtune.evaluation.metrics import mean_scores, score_query
from embedtune.retrieval.index import chunk_scores, encode_corpus, encode_queries
from embedtune.retrieval.reading import CHUNK, Reading

logger = logging.getLogger(__name__)


@dataclass
class RetrievalResult:
    metrics: dict[str, float]
    per_query: list[dict[str, float]]
    first_relevant_rank: list[int | None]  # 1-based rank of the relevant chunk in the top k_max
    seconds: float
    # Per query, the ranked chunk ids as retrieved: the top k_max, or deeper when asked for
    # (``depth``), so that rankings can be fused (see ``hybrid``) beyond the metrics' cut-off.
    rankings: list[list[str]] | None = None
    # Embedding models only (BM25 scores are not cosines): per query, the cosine of the best
    # relevant chunk and of the best chunk that is not relevant.
    relevant_scores: list[float] | None = None
    best_wrong_scores: list[float | None] | None = None


def evaluate_retrieval(
    model: SentenceTransformer,
    queries: Sequence[str],
    relevant: Sequence[set[str]],
    corpus_ids: Sequence[str],
    corpus_texts: Sequence[str],
    k_values: Sequence[int],
    batch_size: int = 64,
    label: str = "model",
    depth: int = 0,
    reading: Reading = CHUNK,
) -> RetrievalResult:
    """Rank the corpus for each query under ``reading`` (one vector per chunk by default) and
    score the ranking.

    ``depth`` keeps that many ranked ids per query (at least the largest k) for fusion.
    """
    if len(queries) != len(relevant):
        raise ValueError("queries and relevant must have the same length")
    if not queries:
        raise ValueError("No evaluation queries: the test split produced no usable query.")
    started = time.monotonic()
    # encode_document / encode_query: each side with the model's own prompt, if it has one
    # (see embedtune.encoding); for a model without prompts both are plain encode.
    corpus = encode_corpus(model, corpus_ids, corpus_texts, [reading], batch_size,
                           show_progress_bar=True)
    scores = chunk_scores(encode_queries(model, queries, batch_size), corpus, reading)
    result = rank_scores(scores, corpus_ids, relevant, k_values, depth, time.monotonic() - started)
    logger.info("Evaluated %s on %d queries over %d chunks in %.0fs.", label, len(queries),
                len(corpus_ids), result.seconds)
    return result


def rank_scores(
    scores: np.ndarray,
    corpus_ids: Sequence[str],
    relevant: Sequence[set[str]],
    k_values: Sequence[int],
    depth: int = 0,
    seconds: float = 0.0,
) -> RetrievalResult:
    """Score a (queries x chunks) score matrix: rank every row (ties in corpus order, as
    ``ParentRetriever.search`` does) and keep the relevant and best wrong chunk's scores."""
    if scores.shape != (len(relevant), len(corpus_ids)):
        raise ValueError("scores must have one row per query and one column per chunk")
    n_ranked = min(max(max(k_values), depth), len(corpus_ids))
    order = np.argsort(-scores, axis=1, kind="stable")[:, :n_ranked]
    result = score_rankings([[corpus_ids[i] for i in row] for row in order], relevant, k_values,
                            seconds)
    position = {chunk_id: i for i, chunk_id in enumerate(corpus_ids)}
    result.relevant_scores, result.best_wrong_scores = relevant_and_best_wrong_scores(
        torch.from_numpy(np.ascontiguousarray(scores)),
        [[position[c] for c in rel if c in position] for rel in relevant],
    )
    return result


def relevant_and_best_wrong_scores(
    similarity: torch.Tensor, relevant_columns: Sequence[Sequence[int]]
) -> tuple[list[float], list[float | None]]:
    """Per query (row of ``similarity``), the highest score among its relevant corpus columns and
    the highest among all the others (None when every chunk is relevant).

    The first is below the second exactly when a wrong chunk outranks every relevant one, so the
    two distributions show how far apart a model holds right and wrong, not just who wins.
    """
    if similarity.shape[0] != len(relevant_columns):
        raise ValueError("one list of relevant columns per query is needed")
    if any(not columns for columns in relevant_columns):
        raise ValueError("every query needs a relevant chunk in the corpus")
    mask = torch.zeros_like(similarity, dtype=torch.bool)
    for row, columns in enumerate(relevant_columns):
        mask[row, list(columns)] = True
    relevant = similarity.masked_fill(~mask, float("-inf")).max(dim=1).values.tolist()
    wrong = similarity.masked_fill(mask, float("-inf")).max(dim=1).values.tolist()
    return relevant, [None if math.isinf(w) else w for w in wrong]


def score_rankings(
    rankings: Sequence[Sequence[str]],
    relevant: Sequence[set[str]],
    k_values: Sequence[int],
    seconds: float = 0.0,
) -> RetrievalResult:
    """Score ranked id lists (any retriever) against the relevant ids of each query.

    The lists may run deeper than the largest k (for fusion); metrics and ranks stop at it.
    """
    k_max = max(k_values)
    per_query, ranks = [], []
    for ranked, rel in zip(rankings, relevant):
        per_query.append(score_query(ranked, rel, k_values))
        ranks.append(next((r for r, doc in enumerate(ranked[:k_max], 1) if doc in rel), None))
    return RetrievalResult(mean_scores(per_query), per_query, ranks, seconds,
                           rankings=[list(r) for r in rankings])
