"""Hold out a seeded share of the training chunks, with their generated queries, for validation.

The shipped retrieval's reading (one vector per chunk, windows, or both) is chosen on these
queries, never on the test queries, which only report the choice. They are held out by chunk:
a validation chunk is not trained on, not mined as a negative and not a round-trip candidate,
so its queries score the model the way the test's unseen chunks will.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Sequence

from embedtune import schema
from embedtune.curation.text import normalized


class ValidationSplitError(ValueError):
    """Too few training chunks with queries to hold some out."""


@dataclass
class ValidationSplit:
    train_rows: list[dict[str, Any]]
    validation_rows: list[dict[str, Any]]
    validation_chunk_ids: list[str]  # in corpus order
    dropped_as_train_duplicates: int = 0  # validation queries also written for a training chunk

    @property
    def report(self) -> dict[str, int]:
        return {"validation_chunks": len(self.validation_chunk_ids),
                "validation_queries": len(self.validation_rows),
                "validation_queries_also_in_train": self.dropped_as_train_duplicates}


def hold_out_validation(
    rows: Sequence[dict[str, Any]],
    chunk_ids: Sequence[str],
    fraction: float,
    seed: int,
) -> ValidationSplit:
    """Move the queries of ``round(fraction x chunks with queries)`` chunks (at least one when
    ``fraction > 0``) out of ``rows``.

    Only chunks that have queries are drawn, so the validation set is never empty by chance. A
    validation query whose text was also generated for a training chunk is dropped from
    validation: the model would have trained on it.
    """
    if not 0 <= fraction < 1:
        raise ValueError(f"fraction must be in [0, 1), got {fraction}")
    if fraction == 0:
        return ValidationSplit(list(rows), [], [])
    with_queries = sorted({r[schema.CHUNK_ID] for r in rows})
    if len(with_queries) < 2:
        raise ValidationSplitError(
            f"Only {len(with_queries)} training chunk(s) have generated queries, so none can be "
            "held out to choose the retrieval reading. Generate for more chunks, or set "
            "retrieval.validation_fraction: 0 with a single reading in retrieval.readings."
        )
    n = min(max(1, round(fraction * len(with_queries))), len(with_queries) - 1)
    held = set(random.Random(seed).sample(with_queries, n))
    train = [r for r in rows if r[schema.CHUNK_ID] not in held]
    train_texts = {normalized(r[schema.QUERY]) for r in train}
    validation, duplicates = [], 0
    for r in rows:
        if r[schema.CHUNK_ID] in held:
            if normalized(r[schema.QUERY]) in train_texts:
                duplicates += 1
            else:
                validation.append(r)
    order = [c for c in chunk_ids if c in held]
    return ValidationSplit(train, validation, order, duplicates)
