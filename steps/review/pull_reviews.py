from typing import Annotated, Any, Tuple

from datasets import Dataset
from zenml import log_metadata, step

import constants as C
from embedtune import schema
from embedtune.config import ArgillaConfig
from embedtune.datasets import to_dataset
from embedtune.review.client import connect
from embedtune.review.pull import apply_reviews, fetch_reviews


@step(enable_cache=False)
def pull_reviews(
    train_queries: Dataset, test_queries: Dataset, argilla: ArgillaConfig
) -> Tuple[
    Annotated[Dataset, C.REVIEWED_TRAIN_ARTIFACT],
    Annotated[Dataset, C.REVIEWED_TEST_ARTIFACT],
    Annotated[dict[str, Any], C.REVIEW_CHANGES_ARTIFACT],
]:
    """Generated queries with the reviews applied, and counts of what changed per split."""
    client = connect(argilla)
    train, test = train_queries.to_list(), test_queries.to_list()
    reviews = fetch_reviews(client, argilla, train + test)
    reviewed_train, train_counts = apply_reviews(train, reviews, argilla.unreviewed)
    reviewed_test, test_counts = apply_reviews(test, reviews, argilla.unreviewed)
    for split, rows in ((schema.TRAIN, reviewed_train), (schema.TEST, reviewed_test)):
        if not rows:
            raise RuntimeError(
                f"No {split} query is left after applying the Argilla reviews "
                f"(argilla.unreviewed={argilla.unreviewed.value}). Review more records or keep "
                "unreviewed ones."
            )
    changes = {schema.TRAIN: train_counts, schema.TEST: test_counts}
    log_metadata(changes)
    columns = [*train_queries.column_names, schema.REVIEW_STATUS, schema.ORIGINAL_QUERY]
    return to_dataset(reviewed_train, columns), to_dataset(reviewed_test, columns), changes
