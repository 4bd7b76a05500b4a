from typing import Annotated, Any, Tuple

from datasets import Dataset
from zenml import log_metadata, step

import constants as C
from embedtune.config import CurationConfig
from embedtune.curation.curate import curate
from embedtune.datasets import to_dataset
from embedtune.encoding import encoder
from embedtune.training.models import load_model


@step
def curate_queries(
    train_queries: Dataset,
    train_chunks: Dataset,
    curation: CurationConfig,
    base_model: str,
    max_seq_length: int,
) -> Tuple[
    Annotated[Dataset, C.CURATED_QUERIES_ARTIFACT],
    Annotated[dict[str, Any], C.CURATION_REPORT_ARTIFACT],
]:
    """Filter the training queries and mine hard negatives from the training chunks.

    The raw generated dataset stays an artifact of its own: curation settings can change and be
    rerun without paying for generation again. It takes only the base model and its length from
    the training settings, so that changing a learning rate or a seed reuses the curated data.
    """
    model = load_model(base_model, max_seq_length)
    result = curate(
        train_queries.to_list(), train_chunks[C.CHUNK_ID], train_chunks[C.TEXT], curation,
        encoder(model),
    )
    if not result.rows:
        raise ValueError(
            f"Curation dropped all {len(train_queries)} training queries "
            f"({result.report['dropped']}). Loosen curation.filtering (e.g. round_trip_top_k) or "
            "curation.hard_negatives (range_max, relative_margin) in the config."
        )
    report = {**result.report, "dropped_examples": result.dropped[:50]}
    log_metadata({k: v for k, v in result.report.items()})
    return to_dataset(result.rows, list(result.rows[0])), report
