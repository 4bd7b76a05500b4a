"""Hit rate at every k from 1 to k_max, per system: the curve behind the hit_rate@k metrics.

The configured k values (say 1, 5, 10) are three points; the curve shows where a system gains,
e.g. a finetuned model that moves the right chunk from rank 4 to rank 1 while BM25 only catches
up by k = 10. It is computed from each query's rank of its first relevant chunk, which the
evaluation records up to k_max, so the curve at a configured k equals that k's hit rate.
"""

from __future__ import annotations

from typing import Any, Sequence


def hit_rate_curve(ranks: Sequence[int | None], k_max: int) -> list[float]:
    """Share of queries whose first relevant chunk is at rank <= k, for k = 1 .. k_max.

    ``None`` means "not in the top k_max" and never counts as a hit.
    """
    if k_max < 1:
        raise ValueError("k_max must be at least 1")
    if not ranks:
        raise ValueError("no queries: a hit-rate curve needs at least one rank")
    hits_at = [0] * (k_max + 1)
    for rank in ranks:
        if rank is not None and rank < 1:
            raise ValueError(f"ranks are 1-based, got {rank}")
        if rank is not None and rank <= k_max:
            hits_at[rank] += 1
    curve, found = [], 0
    for k in range(1, k_max + 1):
        found += hits_at[k]
        curve.append(found / len(ranks))
    return curve


def hit_rate_curves(per_query: Sequence[dict[str, Any]], k_max: int) -> dict[str, list[float]]:
    """One curve per system from the evaluation's per-query records (``{"rank": {system: r}}``),
    systems in the order of the first record."""
    if not per_query:
        raise ValueError("no per-query records to draw hit-rate curves from")
    systems = list(per_query[0]["rank"])
    return {s: hit_rate_curve([q["rank"][s] for q in per_query], k_max) for s in systems}
