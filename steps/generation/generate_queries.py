from typing import Annotated, Any, Tuple

from datasets import Dataset
from zenml import get_step_context, log_metadata, step

import constants as C
from embedtune import schema
from embedtune.config import GenerationConfig
from embedtune.datasets import to_dataset
from embedtune.generation.runner import generate_queries as run_generation
from embedtune.generation.summary import split_summary

QUERY_COLUMNS = [
    schema.QUERY_ID, schema.QUERY, schema.CHUNK_ID, schema.DOCUMENT_ID, schema.SOURCE, schema.POSITIVE, schema.NEGATIVE_QUERY,
    schema.SPLIT, schema.MODEL_NAME,
]


@step
def generate_queries(
    chunks: Dataset, generation: GenerationConfig, split: str
) -> Tuple[
    Annotated[Dataset, C.QUERIES_ARTIFACT],
    Annotated[list[dict[str, Any]], "generation_failures"],
    Annotated[dict[str, Any], "generation_summary"],
]:
    """Synthetic queries (and a negative query) per chunk; failed chunks kept apart with reasons;
    the split's counts and the run's costs for the evaluation report.

    Failures are a plain list (stored as JSON): usually empty, and an empty HF Dataset cannot be
    read back by ``datasets.load_from_disk``.
    """
    rows = chunks.to_list()
    # The run's id lets generation.max_requests/max_prompt_tokens count both splits together.
    run_id = str(get_step_context().pipeline_run.id)
    result = run_generation(rows, generation, split, run_id=run_id)
    log_metadata({"split": split, **result.stats.as_dict()})
    if not result.queries:
        raise RuntimeError(
            f"No usable {split} query was generated from {len(chunks)} chunks "
            f"({len(result.failures)} failed; first reason: "
            f"{result.failures[0][schema.FAILURE_REASON] if result.failures else 'none'})."
        )
    summary = split_summary(split, rows, result.queries, result.failures, result.stats)
    return to_dataset(result.queries, QUERY_COLUMNS), result.failures, summary
