from collections import Counter
from typing import Annotated, Any, Tuple

from datasets import Dataset
from sentence_transformers import SentenceTransformer
from zenml import log_metadata, step

import constants as C
from embedtune import schema
from embedtune.config import (
    CurationConfig,
    EvaluationConfig,
    RetrievalConfig,
    TeacherConfig,
    TrainingConfig,
)
from embedtune.curation.curate import rule_filter
from embedtune.datasets import to_dataset
from embedtune.evaluation.compare import (
    BASE,
    FINETUNED,
    TEACHER,
    evaluate_readings,
    evaluate_systems,
)
from embedtune.evaluation.comparison import Comparison
from embedtune.evaluation.readings import QuerySet
from embedtune.evaluation.regression import load_qa_set
from embedtune.retrieval.reading import Reading
from embedtune.teacher.model import load_teacher
from embedtune.models import load_model


def _query_set(rows: list[dict[str, Any]]) -> QuerySet:
    return QuerySet([q[schema.QUERY_ID] for q in rows], [q[schema.QUERY] for q in rows],
                    [{q[schema.CHUNK_ID]} for q in rows])


@step
def evaluate_models(
    finetuned_model: SentenceTransformer,
    test_queries: Dataset,
    validation_queries: Dataset,
    chunks: Dataset,
    curation_report: dict[str, Any],
    train_failures: list[dict[str, Any]],
    test_failures: list[dict[str, Any]],
    training: TrainingConfig,
    curation: CurationConfig,
    evaluation: EvaluationConfig,
    retrieval: RetrievalConfig,
    teacher: TeacherConfig = TeacherConfig(),
) -> Tuple[Annotated[Comparison, C.EVALUATION_ARTIFACT], Annotated[Dataset, C.EVALUATED_TEST_ARTIFACT]]:
    """Base vs the model this run just trained, each under every candidate reading, vs BM25 and
    the hybrids, on held-out queries over all chunks; the shipped reading is chosen on the
    validation queries. Also returns the test queries it scored, which the gate and the exports
    score again.

    Test and validation queries get the rule filters only (length, copies, duplicates): the
    round-trip check uses the base model and would keep only queries it already gets right.
    With ``teacher.enabled`` the teacher is one more option that needs no finetuning, read in
    ``teacher.readings`` (its vectors come from the embedding cache when they exist).
    """
    queries, dropped, _ = rule_filter(test_queries.to_list(), curation)
    if not queries:
        raise ValueError(f"All {len(test_queries)} test queries were filtered out; see curation.filtering.")
    validation, validation_dropped, _ = rule_filter(validation_queries.to_list(), curation)
    readings = retrieval.candidates(training.max_seq_length)
    if len(readings) > 1 and not validation:
        raise ValueError(
            f"No validation queries survived ({len(validation_queries)} held out, "
            f"{len(validation_dropped)} filtered), so the reading cannot be chosen among "
            f"{len(readings)}. Raise retrieval.validation_fraction or list one reading."
        )
    base = load_model(training.base_model, training.max_seq_length)
    models = {BASE: base, FINETUNED: finetuned_model}
    readings_for, extra_options = {}, {}
    if teacher.enabled:
        models[TEACHER] = load_teacher(teacher)
        readings_for[TEACHER] = [r for r in retrieval.candidates(teacher.max_seq_length)
                                 if r.kind.value in teacher.readings]
        extra_options[TEACHER] = f"teacher {teacher.model}"
    comparison = evaluate_readings(
        _query_set(queries), _query_set(validation), chunks[schema.CHUNK_ID], chunks[schema.TEXT],
        models, readings, evaluation, retrieval.metric,
        readings_for=readings_for, extra_options=extra_options,
        context={
            "base_model": training.base_model,
            "max_seq_length": training.max_seq_length,
            "loss": training.loss.value,
            "train_generation_failures": len(train_failures),
            "test_generation_failures": len(test_failures),
            "test_queries_generated": len(test_queries),
            "test_queries_filtered_out": len(dropped),
            "test_queries_dropped": dict(Counter(d[schema.FAILURE_REASON] for d in dropped)),
            "validation_queries_filtered_out": len(validation_dropped),
            "curation": {k: v for k, v in curation_report.items() if k != "dropped_examples"},
        },
    )
    reading = Reading(**comparison.shipped["reading"])
    no_bm25 = evaluation.model_copy(update={"bm25": False})
    for path in evaluation.regression_sets:
        qa = load_qa_set(path)
        scored = evaluate_systems(qa.queries, qa.relevant, qa.corpus_ids, qa.corpus_texts,
                                  {BASE: base, FINETUNED: finetuned_model}, no_bm25, reading=reading)
        comparison.regression[qa.name] = {
            "n_queries": len(qa.queries), "reading": reading.name,
            "metrics": {k: r.metrics for k, r in scored.items()}}
    metrics = {
        FINETUNED: comparison.metrics[comparison.candidate],  # the shipped retrieval
        BASE: comparison.metrics[comparison.baseline],  # the base model read the same way
        **{label: comparison.metrics[label] for label in comparison.no_training["options"]},
        "shipped_system": comparison.candidate,
        "retrieval": {**comparison.shipped["reading"], "name": reading.name},
        "readings": comparison.readings,
    }
    log_metadata(metrics)  # on the step run
    log_metadata(metrics, infer_model=True)  # on the model version this run produces
    return comparison, to_dataset(queries, test_queries.column_names)
