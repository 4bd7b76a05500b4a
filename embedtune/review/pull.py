"""Read reviews back from Argilla and apply them to the generated queries.

The generated rows stay the source of truth; Argilla only holds decisions about them, keyed by
query id. Rules, for each generated query:

- a *discarded* response, or a submitted "the chunk does not answer the query": the pair is
  dropped (one reviewer's veto is enough: a wrong pair teaches the model the wrong thing);
- a submitted corrected query that differs from the generated one replaces it;
- a submitted "the chunk answers the negative": the negative is dropped (the pair stays);
- no submitted or discarded response (draft or nothing): kept or dropped by
  ``argilla.unreviewed``.

When reviewers disagree on a correction, the first one in Argilla's response order is used and
the disagreement is counted.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Sequence

from embedtune import schema
from embedtune.config import ArgillaConfig, UnreviewedPolicy
from embedtune.review.client import RERUN_HINT, ArgillaReviewError
from embedtune.review.records import (
    ANSWERS_QUESTION,
    CORRECTED_QUESTION,
    NEGATIVE_QUESTION,
    NO,
    dataset_name,
)



@dataclass
class Review:
    """The decisions of all submitted/discarded responses to one record."""

    discarded: bool = False
    rejected: bool = False
    negative_answerable: bool = False
    corrections: list[str] = field(default_factory=list)


def fetch_reviews(client, config: ArgillaConfig, rows: Sequence[dict[str, Any]]) -> dict[str, Review]:
    """Submitted and discarded responses of this data's review dataset, by query id."""
    name = dataset_name(config.dataset_prefix, rows)
    dataset = client.datasets(name=name, workspace=config.workspace)
    if dataset is None:
        raise ArgillaReviewError(
            f"No Argilla dataset '{name}' in workspace '{config.workspace}' at {config.api_url}: "
            "these generated queries were never pushed (the name hashes their content, so "
            "regenerated queries get a new dataset). Run the pipeline with `argilla: {push: true}` "
            f"first, review, then pull. {RERUN_HINT}"
        )
    reviews: dict[str, Review] = {}
    for record in dataset.records(with_responses=True, with_suggestions=False, with_vectors=False):
        review = Review()
        seen = False
        for response in record.responses:
            status = str(getattr(response.status, "value", response.status))
            if status == "discarded":
                review.discarded = seen = True
            elif status == "submitted":
                seen = True
                if response.question_name == ANSWERS_QUESTION and response.value == NO:
                    review.rejected = True
                elif response.question_name == NEGATIVE_QUESTION and response.value == NO:
                    review.negative_answerable = True
                elif response.question_name == CORRECTED_QUESTION and str(response.value or "").strip():
                    review.corrections.append(" ".join(str(response.value).split()))
        if seen:
            reviews[str(record.id)] = review
    return reviews


def apply_reviews(
    rows: Sequence[dict[str, Any]], reviews: dict[str, Review], unreviewed: UnreviewedPolicy
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The reviewed training rows and counts of what changed (see the module docstring)."""
    counts: Counter[str] = Counter(generated=len(rows))
    result = []
    for row in rows:
        review = reviews.get(row[schema.QUERY_ID])
        if review is None:
            if unreviewed is UnreviewedPolicy.drop:
                counts["unreviewed_dropped"] += 1
                continue
            counts["unreviewed_kept"] += 1
            result.append({**row, schema.REVIEW_STATUS: "unreviewed", schema.ORIGINAL_QUERY: None})
            continue
        counts["reviewed"] += 1
        if review.discarded:
            counts["dropped_discarded"] += 1
            continue
        if review.rejected:
            counts["dropped_not_answered"] += 1
            continue
        new = {**row, schema.REVIEW_STATUS: "reviewed", schema.ORIGINAL_QUERY: None}
        changed = [c for c in dict.fromkeys(review.corrections) if c != " ".join(row[schema.QUERY].split())]
        if changed:
            new[schema.QUERY], new[schema.ORIGINAL_QUERY] = changed[0], row[schema.QUERY]
            counts["queries_corrected"] += 1
            counts["conflicting_corrections"] += len(changed) > 1
        if review.negative_answerable and row.get(schema.NEGATIVE_QUERY):
            new[schema.NEGATIVE_QUERY] = None
            counts["negatives_dropped"] += 1
        result.append(new)
    counts["kept"] = len(result)
    keys = ["generated", "reviewed", "kept", "dropped_discarded", "dropped_not_answered", "queries_corrected",
            "conflicting_corrections", "negatives_dropped", "unreviewed_kept", "unreviewed_dropped"]
    return result, {key: int(counts[key]) for key in keys}
