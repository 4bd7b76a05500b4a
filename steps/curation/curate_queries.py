from typing import Annotated, Any, Optional, Tuple

from datasets import Dataset
from zenml import log_metadata, step

import constants as C
from embedtune import schema
from embedtune.config import CurationConfig, TeacherConfig
from embedtune.curation.curate import curate
from embedtune.curation.validation import hold_out_validation
from embedtune.datasets import to_dataset
from embedtune.encoding import encoder
from embedtune.teacher.embeddings import TeacherEmbeddings
from embedtune.models import load_model


@step
def curate_queries(
    train_queries: Dataset,
    train_chunks: Dataset,
    curation: CurationConfig,
    base_model: str,
    max_seq_length: int,
    validation_fraction: float,
    seed: int,
    teacher_embeddings: Optional[TeacherEmbeddings] = None,
    teacher: Optional[TeacherConfig] = None,
) -> Tuple[
    Annotated[Dataset, C.CURATED_QUERIES_ARTIFACT],
    Annotated[dict[str, Any], C.CURATION_REPORT_ARTIFACT],
    Annotated[Dataset, C.VALIDATION_QUERIES_ARTIFACT],
]:
    """Hold out the validation chunks' queries, then filter the rest and mine hard negatives
    from the remaining training chunks.

    The raw generated dataset stays an artifact of its own: curation settings can change and be
    rerun without paying for generation again. It takes only the base model and its length from
    the training settings, so that changing a learning rate or a seed reuses the curated data.
    Validation queries get only the rule filters, in the evaluation step, as test queries do.
    With the teacher's vectors, its rules apply too (``embedtune.curation.curate``).
    """
    rows = train_queries.to_list()
    split = hold_out_validation(rows, train_chunks[schema.CHUNK_ID], validation_fraction, seed)
    held = set(split.validation_chunk_ids)
    chunk_ids = [c for c in train_chunks[schema.CHUNK_ID] if c not in held]
    chunk_texts = [t for c, t in zip(train_chunks[schema.CHUNK_ID], train_chunks[schema.TEXT]) if c not in held]
    model = load_model(base_model, max_seq_length)
    result = curate(split.train_rows, chunk_ids, chunk_texts, curation, encoder(model),
                    teacher=teacher_embeddings, teacher_config=teacher)
    if not result.rows:
        raise ValueError(
            f"Curation dropped all {len(split.train_rows)} training queries "
            f"({result.report['dropped']}). Loosen curation.filtering (e.g. round_trip_top_k) or "
            "curation.hard_negatives (range_max, relative_margin) in the config."
        )
    report = {**result.report, **split.report, "dropped_examples": result.dropped[:50]}
    log_metadata({k: v for k, v in report.items() if k != "dropped_examples"})
    validation = to_dataset(split.validation_rows, train_queries.column_names)
    return to_dataset(result.rows, list(result.rows[0])), report, validation
