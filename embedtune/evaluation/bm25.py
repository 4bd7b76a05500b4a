"""BM25 baseline on the same queries and corpus as the embedding models.

A finetuned embedding model that does not beat BM25 on a team's own documents is not worth
deploying; synthetic queries often share words with their chunk, which favours BM25, so the
comparison also shows how lexical the held-out queries are. ``bm25s`` is a maintained,
dependency-light implementation (sparse matrices, numpy only).
"""

from __future__ import annotations

import logging
import time
from typing import Sequence

import bm25s
import numpy as np

from embedtune.evaluation.retrieval import RetrievalResult, score_rankings

logger = logging.getLogger(__name__)
# bm25s logs "Building index from IDs objects" at INFO on every index; our own line says more.
logging.getLogger("bm25s").setLevel(logging.WARNING)


def evaluate_bm25(
    queries: Sequence[str],
    relevant: Sequence[set[str]],
    corpus_ids: Sequence[str],
    corpus_texts: Sequence[str],
    k_values: Sequence[int],
    depth: int = 0,
) -> RetrievalResult:
    """Rank the corpus with BM25 (English stopwords removed) and score it like the models.

    ``depth`` keeps that many ranked ids per query (at least the largest k) for fusion.
    """
    if not queries:
        raise ValueError("No evaluation queries: the test split produced no usable query.")
    started = time.monotonic()
    n_ranked = min(max(max(k_values), depth), len(corpus_ids))
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(list(corpus_texts), stopwords="en", show_progress=False),
                    show_progress=False)
    query_tokens = bm25s.tokenize(list(queries), stopwords="en", show_progress=False, return_ids=False)
    rankings = [
        [corpus_ids[i] for i in top_k_stable(retriever.get_scores(tokens), n_ranked)]
        for tokens in query_tokens
    ]
    result = score_rankings(rankings, relevant, k_values, time.monotonic() - started)
    logger.info("Evaluated BM25 on %d queries over %d chunks in %.1fs.", len(queries),
                len(corpus_ids), result.seconds)
    return result


def top_k_stable(scores: np.ndarray, k: int) -> list[int]:
    """Indexes of the ``k`` best positive scores, ties broken by corpus order.

    BM25 ties often (equal term statistics, repeated boilerplate). ``bm25s.retrieve`` orders tied
    chunks as numpy's partition leaves them, which differs between CPUs (AVX-512 or not), so the
    same run scored differently on two machines. Chunks scoring 0 share no term with the query
    and are not retrieved.
    """
    k = min(k, int((scores > 0).sum()))
    if k == 0:
        return []
    kth = np.partition(scores, len(scores) - k)[len(scores) - k]  # the k-th best score
    candidates = np.flatnonzero(scores >= kth)  # ascending index: corpus order among ties
    return [int(i) for i in candidates[np.argsort(-scores[candidates], kind="stable")][:k]]
