from typing import Annotated, Any, Tuple

from datasets import Dataset
from sentence_transformers import SentenceTransformer
from zenml import log_metadata, step
from zenml.types import HTMLString, MarkdownString

import constants as C
from embedtune.config import EvaluationConfig, TrainingConfig
from embedtune.evaluation.report import Comparison, html_report, markdown_table, rank_changes
from embedtune.evaluation.retrieval import evaluate_retrieval
from embedtune.training.models import load_model


@step
def evaluate_models(
    finetuned_model: SentenceTransformer,
    test_queries: Dataset,
    chunks: Dataset,
    train_failures: list[dict[str, Any]],
    test_failures: list[dict[str, Any]],
    training: TrainingConfig,
    evaluation: EvaluationConfig,
) -> Tuple[
    Annotated[dict[str, Any], C.EVALUATION_ARTIFACT],
    Annotated[HTMLString, C.REPORT_ARTIFACT],
    Annotated[MarkdownString, C.SUMMARY_ARTIFACT],
]:
    """Base vs the model this run just trained, on held-out queries, over the whole corpus."""
    queries = test_queries.to_list()
    texts = [q[C.QUERY] for q in queries]
    relevant = [{q[C.CHUNK_ID]} for q in queries]
    corpus_ids, corpus_texts = chunks[C.CHUNK_ID], chunks[C.TEXT]
    base = load_model(training.base_model, training.max_seq_length)
    results = {
        label: evaluate_retrieval(
            model, texts, relevant, corpus_ids, corpus_texts, evaluation.k_values,
            evaluation.batch_size, label=label,
        )
        for label, model in (("base", base), ("finetuned", finetuned_model))
    }
    improved, worsened = rank_changes(
        texts, results["base"].first_relevant_rank, results["finetuned"].first_relevant_rank
    )
    comparison = Comparison(
        metrics={label: r.metrics for label, r in results.items()},
        n_queries=len(texts),
        n_corpus=len(corpus_ids),
        improved=improved,
        worsened=worsened,
        context={
            "base_model": training.base_model,
            "max_seq_length": training.max_seq_length,
            "train_generation_failures": len(train_failures),
            "test_generation_failures": len(test_failures),
        },
    )
    metrics = {"base": results["base"].metrics, "finetuned": results["finetuned"].metrics}
    log_metadata(metrics)  # on the step run
    log_metadata(metrics, infer_model=True)  # on the model version this run produces
    return comparison.as_dict(), HTMLString(html_report(comparison)), MarkdownString(
        markdown_table(comparison)
    )
