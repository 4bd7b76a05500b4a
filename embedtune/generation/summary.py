"""What one split's query generation produced, for the evaluation report and the dashboard.

A metric table is only as good as the data behind it: the report shows, per split, how many
documents and chunks there were, how many chunks went to the LLM (``generation.max_chunks`` can
cap it), how many came back with usable queries, how many failed and why, and what the run cost.
The failure reasons are grouped by kind (the text before any parenthesised detail), so that
"not valid JSON (Expecting value at char 0)" and "(... at char 7)" count as one reason.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any, Sequence

from embedtune import schema

if TYPE_CHECKING:  # the runner imports distilabel; this module needs only the type
    from embedtune.generation.runner import GenerationStats

REQUEST_FAILED = "request failed: "


def failure_kind(reason: str) -> str:
    """A failure reason without its instance detail: ``"not valid JSON (… at char 5)"`` ->
    ``"not valid JSON"``, ``"request failed: APITimeoutError: Request timed out."`` ->
    ``"request failed: APITimeoutError"``."""
    kind = reason.split(" (", 1)[0].strip()
    if kind.startswith(REQUEST_FAILED):
        error_type = kind[len(REQUEST_FAILED):].split(":", 1)[0].strip()
        kind = REQUEST_FAILED + error_type
    return kind or "no reason given"


def split_summary(
    split: str,
    chunks: Sequence[dict[str, Any]],
    queries: Sequence[dict[str, Any]],
    failures: Sequence[dict[str, Any]],
    stats: GenerationStats,
) -> dict[str, Any]:
    """Counts for one split: its chunks (all of them, before ``generation.max_chunks``), the
    queries and failure rows generation returned, and the run's statistics.

    ``unparsable_chunks`` are failed chunks for which the LLM did answer, but with nothing usable
    (the answer is kept in the failure row's ``raw_output``); the others never got an answer.
    """
    reasons = Counter(failure_kind(str(f[schema.FAILURE_REASON])) for f in failures)
    return {
        "split": split,
        "documents": len({c[schema.DOCUMENT_ID] for c in chunks}),
        "chunks": len(chunks),
        "chunks_sent_to_llm": stats.chunks,
        "chunks_with_queries": len({q[schema.CHUNK_ID] for q in queries}),
        "failed_chunks": len(failures),
        "unparsable_chunks": sum(1 for f in failures if f.get(schema.RAW_OUTPUT)),
        "queries": len(queries),
        "negative_queries": stats.negatives,
        "chunks_from_resume_cache": stats.cached_chunks,
        "requests": stats.requests,
        "retries": stats.retries,
        "input_tokens": stats.input_tokens,
        "output_tokens": stats.output_tokens,
        "seconds": round(stats.seconds, 1),
        "failure_reasons": dict(reasons.most_common()),
    }
