"""What an evaluation found: the data model that the evaluation step outputs and every later step
(the gate, the exports, the report, the model version's metadata) reads.

A typed artifact rather than a dict, so that a reader names fields the evaluation really writes;
ZenML stores it as JSON with its pydantic materializer.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Comparison(BaseModel):
    """Every system's metrics on the test queries, the paired differences of the shipped
    retrieval to each, per-query ranks, and how the shipped reading was chosen."""

    metrics: dict[str, dict[str, float]]  # system label -> metric -> value
    metric: str  # the configured metric (retrieval.metric) the reading was chosen by
    k_values: list[int]  # evaluation.k_values: the hit_rate@k the evaluation measured
    n_queries: int
    n_corpus: int
    improved: list[dict[str, Any]] = Field(default_factory=list)
    worsened: list[dict[str, Any]] = Field(default_factory=list)
    # "<candidate>_vs_<other>" -> metric -> PairedDifference.as_dict()
    differences: dict[str, dict[str, dict[str, Any]]] = Field(default_factory=dict)
    # Per test query: its id, text and, per system, the rank of its chunk (up to k_max).
    per_query: list[dict[str, Any]] = Field(default_factory=list)
    # regression set name -> {"n_queries": n, "metrics": {system: {metric: value}}}
    regression: dict[str, dict[str, Any]] = Field(default_factory=dict)
    context: dict[str, Any] = Field(default_factory=dict)  # counts, settings, timings
    # The system compared with every other one (the shipped retrieval) and the one it is measured
    # against first (the base model read the same way).
    candidate: str = "finetuned"
    baseline: str = "base"
    # {"system", "model", "reading" (Reading as a dict), "reading_name"}: what is shipped.
    shipped: dict[str, Any] = Field(default_factory=dict)
    # {"options": [system labels that need no finetuning], "best": label, "metric": metric}
    no_training: dict[str, Any] = Field(default_factory=dict)
    # {"metric", "validation_queries", "chosen": {model: reading}, "models": {model: [rows]}}
    readings: dict[str, Any] = Field(default_factory=dict)

    @property
    def k_max(self) -> int:
        """Ranks in ``per_query`` are known up to this k."""
        return max(self.k_values)
