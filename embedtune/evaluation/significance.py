"""Is a metric difference between two retrievers real, or noise from a few dozen queries?

A paired bootstrap over queries: resample the queries with replacement, recompute the mean
difference, read the interval off the percentiles. Paired, because both models answer the same
queries; per-query differences vary far less than the scores themselves.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class PairedDifference:
    metric: str
    mean: float  # candidate - reference
    low: float
    high: float
    confidence: float
    p_not_better: float  # share of resamples where the candidate is not better (one-sided)
    wins: int  # queries where the candidate scores higher
    losses: int
    ties: int

    @property
    def significant(self) -> bool:
        return self.low > 0

    def as_dict(self) -> dict[str, float | int | str | bool]:
        return {**asdict(self), "significant": self.significant}


def paired_bootstrap(
    reference: Sequence[float],
    candidate: Sequence[float],
    metric: str,
    samples: int = 2000,
    confidence: float = 0.95,
    seed: int = 42,
) -> PairedDifference:
    """Mean of ``candidate - reference`` with a percentile bootstrap interval."""
    ref, cand = np.asarray(reference, dtype=float), np.asarray(candidate, dtype=float)
    if ref.shape != cand.shape or ref.ndim != 1 or ref.size == 0:
        raise ValueError("reference and candidate need the same, non-zero number of queries")
    diff = cand - ref
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, diff.size, size=(samples, diff.size))].mean(axis=1)
    alpha = (1 - confidence) / 2
    return PairedDifference(
        metric=metric,
        mean=float(diff.mean()),
        low=float(np.quantile(means, alpha)),
        high=float(np.quantile(means, 1 - alpha)),
        confidence=confidence,
        p_not_better=float((means <= 0).mean()),
        wins=int((diff > 0).sum()),
        losses=int((diff < 0).sum()),
        ties=int((diff == 0).sum()),
    )
