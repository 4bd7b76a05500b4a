"""Base vs finetuned (vs BM25, vs production) on the same held-out queries and corpus.

One function used by the pipeline step and the quality benchmark, so the numbers a user sees in
the dashboard are computed exactly as the benchmark's. Query -> chunk, as in production: the
queries are the held-out ones, the corpus is every chunk.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from sentence_transformers import SentenceTransformer

from embedtune.config import EvaluationConfig
from embedtune.evaluation.bm25 import evaluate_bm25
from embedtune.evaluation.hybrid import fuse_results
from embedtune.evaluation.report import Comparison, rank_changes
from embedtune.evaluation.retrieval import RetrievalResult, evaluate_retrieval
from embedtune.evaluation.significance import paired_bootstrap

BASE, FINETUNED, BM25, PRODUCTION = "base", "finetuned", "bm25", "production"


def evaluate_systems(
    queries: Sequence[str],
    relevant: Sequence[set[str]],
    corpus_ids: Sequence[str],
    corpus_texts: Sequence[str],
    models: Mapping[str, SentenceTransformer],
    config: EvaluationConfig,
) -> dict[str, RetrievalResult]:
    """Each model (and BM25, and each model fused with BM25, if configured) ranks the whole
    corpus for every query."""
    depth = config.hybrid_depth if config.keeps_rankings_for_fusion else 0
    results = {
        label: evaluate_retrieval(model, queries, relevant, corpus_ids, corpus_texts,
                                  config.k_values, config.batch_size, label=label, depth=depth)
        for label, model in models.items()
    }
    if config.bm25:
        results[BM25] = evaluate_bm25(queries, relevant, corpus_ids, corpus_texts,
                                      config.k_values, depth=depth)
        if config.fuses_with_bm25:
            add_hybrids(results, relevant, config)
    return results


def hybrid_label(label: str) -> str:
    """The report's name for ``label`` fused with BM25."""
    return f"{label}+{BM25}"


def add_hybrids(results: dict[str, RetrievalResult], relevant: Sequence[set[str]],
                config: EvaluationConfig) -> None:
    """Add ``<model>+bm25`` (reciprocal rank fusion) for every embedding model in ``results``."""
    for label in [k for k, r in results.items() if r.relevant_scores is not None]:
        results[hybrid_label(label)] = fuse_results(results[label], results[BM25], relevant,
                                                    config.k_values, config.rrf_k)


def compare(
    query_ids: Sequence[str],
    queries: Sequence[str],
    results: Mapping[str, RetrievalResult],
    n_corpus: int,
    config: EvaluationConfig,
    candidate: str = FINETUNED,
    context: dict[str, Any] | None = None,
) -> Comparison:
    """Metrics per system, paired bootstrap of candidate minus every other system, per query."""
    differences = {}
    for other in results:
        if other == candidate:
            continue
        differences[f"{candidate}_vs_{other}"] = {
            metric: paired_bootstrap(
                [q[metric] for q in results[other].per_query],
                [q[metric] for q in results[candidate].per_query],
                metric, config.bootstrap_samples, config.confidence, config.seed,
            ).as_dict()
            for metric in results[candidate].metrics
        }
    improved, worsened = rank_changes(
        queries, results[BASE].first_relevant_rank, results[candidate].first_relevant_rank
    )
    scored = {label: r for label, r in results.items() if r.relevant_scores is not None}
    per_query = [
        {
            "query_id": qid,
            "query": text,
            "rank": {label: r.first_relevant_rank[i] for label, r in results.items()},
            "ndcg": {label: r.per_query[i][f"ndcg@{max(config.k_values)}"] for label, r in results.items()},
            # Cosine of the relevant chunk and of the best wrong one (embedding models only).
            "score": {label: {"relevant": r.relevant_scores[i], "best_wrong": r.best_wrong_scores[i]}
                      for label, r in scored.items()},
        }
        for i, (qid, text) in enumerate(zip(query_ids, queries))
    ]
    return Comparison(
        metrics={label: r.metrics for label, r in results.items()},
        n_queries=len(queries),
        n_corpus=n_corpus,
        improved=improved,
        worsened=worsened,
        differences=differences,
        per_query=per_query,
        k_max=max(config.k_values),
        context=dict(context or {}),
    )
