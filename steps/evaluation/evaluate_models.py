from collections import Counter
from typing import Annotated, Any

from datasets import Dataset
from sentence_transformers import SentenceTransformer
from zenml import log_metadata, step

import constants as C
from embedtune.config import CurationConfig, EvaluationConfig, TrainingConfig
from embedtune.curation.curate import rule_filter
from embedtune.evaluation.compare import BASE, FINETUNED, compare, evaluate_systems
from embedtune.evaluation.regression import load_qa_set
from embedtune.training.models import load_model


@step
def evaluate_models(
    finetuned_model: SentenceTransformer,
    test_queries: Dataset,
    chunks: Dataset,
    curation_report: dict[str, Any],
    train_failures: list[dict[str, Any]],
    test_failures: list[dict[str, Any]],
    training: TrainingConfig,
    curation: CurationConfig,
    evaluation: EvaluationConfig,
) -> Annotated[dict[str, Any], C.EVALUATION_ARTIFACT]:
    """Base vs the model this run just trained vs BM25 (and the hybrids), on held-out queries,
    over all chunks.

    Test queries get the rule filters only (length, copies, duplicates): the round-trip check
    uses the base model and would keep only queries the base model already gets right.
    """
    queries, dropped, _ = rule_filter(test_queries.to_list(), curation)
    if not queries:
        raise ValueError(f"All {len(test_queries)} test queries were filtered out; see curation.filtering.")
    texts = [q[C.QUERY] for q in queries]
    relevant = [{q[C.CHUNK_ID]} for q in queries]
    base = load_model(training.base_model, training.max_seq_length)
    results = evaluate_systems(
        texts, relevant, chunks[C.CHUNK_ID], chunks[C.TEXT],
        {BASE: base, FINETUNED: finetuned_model}, evaluation,
    )
    comparison = compare(
        [q[C.QUERY_ID] for q in queries], texts, results, len(chunks), evaluation,
        context={
            "base_model": training.base_model,
            "max_seq_length": training.max_seq_length,
            "loss": training.loss.value,
            "train_generation_failures": len(train_failures),
            "test_generation_failures": len(test_failures),
            "test_queries_generated": len(test_queries),
            "test_queries_filtered_out": len(dropped),
            "test_queries_dropped": dict(Counter(d[C.FAILURE_REASON] for d in dropped)),
            "curation": {k: v for k, v in curation_report.items() if k != "dropped_examples"},
        },
    )
    no_bm25 = evaluation.model_copy(update={"bm25": False})
    for path in evaluation.regression_sets:
        qa = load_qa_set(path)
        scored = evaluate_systems(qa.queries, qa.relevant, qa.corpus_ids, qa.corpus_texts,
                                  {BASE: base, FINETUNED: finetuned_model}, no_bm25)
        comparison.regression[qa.name] = {
            "n_queries": len(qa.queries), "metrics": {k: r.metrics for k, r in scored.items()}}
    metrics = {label: r.metrics for label, r in results.items()}
    log_metadata(metrics)  # on the step run
    log_metadata(metrics, infer_model=True)  # on the model version this run produces
    return comparison.as_dict()
