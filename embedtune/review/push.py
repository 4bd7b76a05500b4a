"""Push generated queries to Argilla for review (create the dataset once, then upsert records)."""

from __future__ import annotations

import logging
import time
from typing import Any, Sequence

from pydantic import BaseModel, ConfigDict

from embedtune.config import ArgillaConfig
from embedtune.review.client import RERUN_HINT, ArgillaReviewError
from embedtune.review.records import (
    base_model_features,
    dataset_name,
    review_settings,
    settings_differences,
    settings_signature,
    to_record,
)

logger = logging.getLogger(__name__)


class PushResult(BaseModel):
    """Where the queries went (the ``argilla_push`` artifact)."""

    model_config = ConfigDict(frozen=True)

    dataset: str
    workspace: str
    url: str
    records: int
    created: bool
    encode_seconds: float
    push_seconds: float


def get_or_create_dataset(client, config: ArgillaConfig, name: str, settings) -> tuple[Any, bool]:
    """The review dataset ``name``; created with ``settings`` if missing.

    An existing dataset whose settings differ (a question renamed, a different base model's
    vector size) is left untouched, with its responses: writing to it would fail half-way or
    mix incompatible reviews. The error says how to go on.
    """
    import argilla as rg

    existing = client.datasets(name=name, workspace=config.workspace)
    if existing is not None:
        differences = settings_differences(settings_signature(existing.settings), settings_signature(settings))
        if differences:
            raise ArgillaReviewError(
                f"Argilla dataset '{name}' (workspace '{config.workspace}') was pushed earlier with "
                f"other settings: {'; '.join(differences)}. It was left as it is, with its "
                "responses. To push with the new settings, pull its reviews first if you need "
                "them, then delete it in Argilla (dataset settings -> Delete) or set another "
                f"argilla.dataset_prefix. {RERUN_HINT}"
            )
        return existing, False
    dataset = rg.Dataset(name=name, workspace=config.workspace, settings=settings, client=client)
    return dataset.create(), True


def push_queries(client, config: ArgillaConfig, rows: Sequence[dict[str, Any]], model) -> PushResult:
    """Upsert one record per generated query (id = query id) into this data's review dataset.

    Records that exist are updated (fields, metadata, suggestions, vector); responses already
    given in Argilla are not touched, so pushing again never loses reviews.
    """
    if not rows:
        raise ValueError("No generated queries to push to Argilla.")
    started = time.perf_counter()
    features = base_model_features(model, rows)
    encoded = time.perf_counter()
    name = dataset_name(config.dataset_prefix, rows)
    settings = review_settings(len(features[0].query_embedding))
    dataset, created = get_or_create_dataset(client, config, name, settings)
    records = [to_record(row, feature) for row, feature in zip(rows, features)]
    from argilla._exceptions import ArgillaAPIError

    for start in range(0, len(records), config.batch_size):
        try:
            dataset.records.log(records[start:start + config.batch_size])
        except ArgillaAPIError as exc:
            raise ArgillaReviewError(
                f"Argilla refused records {start}-{start + config.batch_size - 1} of dataset '{name}' "
                f"({len(records)} in all; {start} pushed and kept): {str(exc)[:600]}"
            ) from None
        logger.info("Pushed %d/%d records to Argilla dataset '%s'.",
                    min(start + config.batch_size, len(records)), len(records), name)
    pushed = time.perf_counter()
    url = f"{config.api_url.rstrip('/')}/dataset/{dataset.id}/annotation-mode"
    return PushResult(dataset=name, workspace=config.workspace, url=url, records=len(records),
                      created=created, encode_seconds=round(encoded - started, 2),
                      push_seconds=round(pushed - encoded, 2))
