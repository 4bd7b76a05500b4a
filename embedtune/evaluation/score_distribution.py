"""How far apart a model holds the relevant chunk and the best wrong chunk, in cosine score.

Per query the evaluation records two cosines per embedding model: the relevant chunk's and the
highest-scoring chunk that is not relevant. Finetuning should push the first up and the second
down; the histograms (base vs finetuned, on one shared range so they can be compared by eye) and
the mean margin show whether it did, including where the ranks did not change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

RELEVANT, BEST_WRONG = "relevant", "best_wrong"


@dataclass(frozen=True)
class ScoreHistogram:
    """Counts per bin; ``edges`` has one more entry than each count list."""

    edges: list[float]
    counts: dict[str, dict[str, list[int]]]  # system -> RELEVANT / BEST_WRONG -> counts


@dataclass(frozen=True)
class ScoreSummary:
    mean_relevant: float
    mean_best_wrong: float
    mean_margin: float  # mean of (relevant - best wrong) over queries with a wrong chunk
    n_queries: int


def scores_of(per_query: Sequence[dict[str, Any]], system: str) -> tuple[list[float], list[float]]:
    """The relevant and best-wrong cosines of ``system`` from the per-query records; queries
    without a wrong chunk (every chunk relevant) have no best-wrong score and are left out of that
    list only."""
    relevant = [q["score"][system][RELEVANT] for q in per_query]
    wrong = [q["score"][system][BEST_WRONG] for q in per_query
             if q["score"][system][BEST_WRONG] is not None]
    return relevant, wrong


def shared_edges(values: Sequence[float], bin_width: float = 0.05) -> list[float]:
    """Bin edges on multiples of ``bin_width`` covering every value (at least one bin)."""
    if not values:
        raise ValueError("no scores to bin")
    if bin_width <= 0:
        raise ValueError("bin_width must be positive")
    # Round before floor/ceil so 0.15 / 0.05 = 2.9999999999999996 still lands on edge 3.
    low = math.floor(round(min(values) / bin_width, 9)) * bin_width
    high = math.ceil(round(max(values) / bin_width, 9)) * bin_width
    bins = max(1, round((high - low) / bin_width))
    return [round(low + i * bin_width, 10) for i in range(bins + 1)]


def score_histogram(
    per_query: Sequence[dict[str, Any]], systems: Sequence[str], bin_width: float = 0.05
) -> ScoreHistogram:
    """Histograms of the relevant and best-wrong cosines of each system, on one shared range.

    A value on an inner edge goes to the bin above it; the top edge belongs to the last bin.
    """
    samples = {s: dict(zip((RELEVANT, BEST_WRONG), scores_of(per_query, s))) for s in systems}
    edges = shared_edges([v for by_kind in samples.values() for vs in by_kind.values() for v in vs],
                         bin_width)
    counts = {
        s: {kind: np.histogram(values, bins=edges)[0].tolist() for kind, values in by_kind.items()}
        for s, by_kind in samples.items()
    }
    return ScoreHistogram(edges, counts)


def score_summary(per_query: Sequence[dict[str, Any]], system: str) -> ScoreSummary:
    """Means of the two cosines and of their difference (the margin) for one system."""
    relevant, wrong = scores_of(per_query, system)
    if not relevant:
        raise ValueError(f"no scores recorded for {system}")
    margins = [q["score"][system][RELEVANT] - q["score"][system][BEST_WRONG] for q in per_query
               if q["score"][system][BEST_WRONG] is not None]
    mean = lambda xs: sum(xs) / len(xs) if xs else float("nan")  # noqa: E731
    return ScoreSummary(mean(relevant), mean(wrong), mean(margins), len(relevant))


def scored_systems(per_query: Sequence[dict[str, Any]]) -> list[str]:
    """Systems with cosine scores (the embedding models), in record order; [] for evaluations
    stored before scores were recorded."""
    return list(per_query[0].get("score", {})) if per_query else []
