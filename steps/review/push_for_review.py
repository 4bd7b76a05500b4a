import logging
from typing import Annotated

from datasets import Dataset
from zenml import log_metadata, step

import constants as C
from embedtune.config import ArgillaConfig
from embedtune.review.client import connect
from embedtune.review.push import PushResult, push_queries
from embedtune.models import load_model

logger = logging.getLogger(__name__)


@step(enable_cache=False)
def push_for_review(
    train_queries: Dataset, test_queries: Dataset, argilla: ArgillaConfig, base_model: str,
    max_seq_length: int,
) -> Annotated[PushResult, C.ARGILLA_PUSH_ARTIFACT]:
    """Upsert every generated query into its Argilla review dataset (ids = query ids)."""
    client = connect(argilla)
    model = load_model(base_model, max_seq_length)
    result = push_queries(client, argilla, train_queries.to_list() + test_queries.to_list(), model)
    log_metadata(result.model_dump())
    logger.info("Review the %d queries in Argilla: %s", result.records, result.url)
    return result
