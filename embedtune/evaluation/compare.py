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
from embedtune.evaluation.readings import (
    TEST,
    VALIDATION,
    QuerySet,
    choose_reading,
    readings_table,
    score_readings,
    system_label,
)
from embedtune.evaluation.comparison import Comparison
from embedtune.evaluation.retrieval import RetrievalResult, evaluate_retrieval
from embedtune.evaluation.significance import paired_bootstrap
from embedtune.retrieval.reading import CHUNK, Reading

BASE, FINETUNED, BM25, PRODUCTION, TEACHER = "base", "finetuned", "bm25", "production", "teacher"


def evaluate_systems(
    queries: Sequence[str],
    relevant: Sequence[set[str]],
    corpus_ids: Sequence[str],
    corpus_texts: Sequence[str],
    models: Mapping[str, SentenceTransformer],
    config: EvaluationConfig,
    reading: Reading = CHUNK,
) -> dict[str, RetrievalResult]:
    """Each model in one ``reading`` (and BM25, and each model fused with BM25, if configured)
    ranks the whole corpus for every query."""
    depth = config.hybrid_depth if config.keeps_rankings_for_fusion else 0
    results = {
        label: evaluate_retrieval(model, queries, relevant, corpus_ids, corpus_texts,
                                  config.k_values, config.batch_size, label=label, depth=depth,
                                  reading=reading)
        for label, model in models.items()
    }
    if config.bm25:
        results[BM25] = evaluate_bm25(queries, relevant, corpus_ids, corpus_texts,
                                      config.k_values, depth=depth)
        if config.fuses_with_bm25:
            add_hybrids(results, relevant, config)
    return results


def rank_changes(
    queries: Sequence[str],
    base_ranks: Sequence[int | None],
    tuned_ranks: Sequence[int | None],
    limit: int = 5,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Queries whose relevant chunk moved up / down the most (None = not in the top k)."""
    worst = 10**6

    def rank(value: int | None) -> int:
        return worst if value is None else value

    moves = [
        {"query": q, "base_rank": b, "finetuned_rank": t, "delta": rank(b) - rank(t)}
        for q, b, t in zip(queries, base_ranks, tuned_ranks)
        if rank(b) != rank(t)
    ]
    improved = sorted((m for m in moves if m["delta"] > 0), key=lambda m: -m["delta"])[:limit]
    worsened = sorted((m for m in moves if m["delta"] < 0), key=lambda m: m["delta"])[:limit]
    return improved, worsened


def hybrid_label(label: str) -> str:
    """The report's name for ``label`` fused with BM25."""
    return f"{label}+{BM25}"


def add_hybrids(results: dict[str, RetrievalResult], relevant: Sequence[set[str]],
                config: EvaluationConfig) -> None:
    """Add ``<model>+bm25`` (reciprocal rank fusion) for every embedding model in ``results``."""
    for label in [k for k, r in results.items() if r.relevant_scores is not None]:
        results[hybrid_label(label)] = fuse_results(results[label], results[BM25], relevant,
                                                    config.k_values, config.rrf_k)


def evaluate_readings(
    test: QuerySet,
    validation: QuerySet,
    corpus_ids: Sequence[str],
    corpus_texts: Sequence[str],
    models: Mapping[str, SentenceTransformer],
    readings: Sequence[Reading],
    config: EvaluationConfig,
    metric: str,
    candidate: str = FINETUNED,
    baseline: str = BASE,
    context: dict[str, Any] | None = None,
    readings_for: Mapping[str, Sequence[Reading]] | None = None,
    extra_options: Mapping[str, str] | None = None,
) -> Comparison:
    """The run's evaluation: every model under every reading, the reading of each chosen on
    ``validation``, BM25 and the hybrids on ``test``, and the shipped retrieval (``candidate``
    in its chosen reading) compared with every other system and with the best option that
    needs no finetuning.

    ``validation`` may be empty only when there is one candidate reading. The test queries are
    scored from the same encoding, for the report; ``choose_reading`` reads validation only.
    ``readings_for`` gives a model its own candidates (the teacher is read in fewer, as it is
    slow to encode); ``extra_options`` names more models a team could use without finetuning
    (label -> what it is): each, in its reading chosen on validation and fused with BM25, joins
    the no-training options.
    """
    if not len(validation) and len(readings) > 1:
        raise ValueError(f"{len(readings)} candidate readings but no validation queries to "
                         "choose among them.")
    depth = config.hybrid_depth if config.keeps_rankings_for_fusion else 0
    sets = {VALIDATION: validation, TEST: test}
    results: dict[str, RetrievalResult] = {}
    chosen: dict[str, Reading] = {}
    tables: dict[str, list[dict[str, Any]]] = {}
    for label, model in models.items():
        own = (readings_for or {}).get(label, readings)
        scored = score_readings(model, sets, corpus_ids, corpus_texts, own, config.k_values,
                                config.batch_size, depth, label=label)
        chosen[label] = choose_reading(scored, metric)
        tables[label] = readings_table(scored, chosen[label], metric)
        for name, reading in scored.readings.items():
            results[system_label(label, reading)] = scored.results[name][TEST]
    if config.bm25:
        results[BM25] = evaluate_bm25(test.texts, test.relevant, corpus_ids, corpus_texts,
                                      config.k_values, depth=depth)
        if config.fuses_with_bm25:
            add_hybrids(results, test.relevant, config)
    shipped = system_label(candidate, chosen[candidate])
    same = system_label(baseline, chosen[candidate])
    best_base = system_label(baseline, chosen[baseline])
    options = [best_base] + ([BM25] if BM25 in results else [])
    if hybrid_label(best_base) in results:
        options.append(hybrid_label(best_base))
    notes = {}
    for label, what in (extra_options or {}).items():
        best = system_label(label, chosen[label])
        options.append(best)
        notes[best] = f"{what}, reading {chosen[label].name} chosen on validation"
        if hybrid_label(best) in results:
            options.append(hybrid_label(best))
            notes[hybrid_label(best)] = f"{what} fused with BM25"
    comparison = compare(test.query_ids, test.texts, results, len(corpus_ids), config, metric,
                         candidate=shipped, baseline=same, context=context)
    comparison.shipped = {"system": shipped, "model": candidate,
                          "reading": chosen[candidate].model_dump(mode="json"),
                          "reading_name": chosen[candidate].name}
    comparison.no_training = {
        "options": options,
        "best": max(options, key=lambda s: (results[s].metrics[metric], -options.index(s))),
        "metric": metric,
        "notes": notes,
    }
    comparison.readings = {"metric": metric, "validation_queries": len(validation),
                           "chosen": {m: r.name for m, r in chosen.items()}, "models": tables}
    return comparison


def compare(
    query_ids: Sequence[str],
    queries: Sequence[str],
    results: Mapping[str, RetrievalResult],
    n_corpus: int,
    config: EvaluationConfig,
    metric: str,
    candidate: str = FINETUNED,
    context: dict[str, Any] | None = None,
    baseline: str = BASE,
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
        queries, results[baseline].first_relevant_rank, results[candidate].first_relevant_rank
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
        metric=metric,
        k_values=list(config.k_values),
        n_queries=len(queries),
        n_corpus=n_corpus,
        improved=improved,
        worsened=worsened,
        differences=differences,
        per_query=per_query,
        context=dict(context or {}),
        candidate=candidate,
        baseline=baseline,
    )
