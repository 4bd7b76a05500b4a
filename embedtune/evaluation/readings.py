"""Score a model under every candidate reading, and choose the reading on validation queries.

Each model's corpus is encoded once (its chunks, and its windows of every size); each reading
is a combination of those vectors, so scoring five readings costs one encoding plus a few
matrix products. Readings are chosen on validation queries only (``choose_reading``); the test
queries are scored for the report, never for the choice.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from embedtune.evaluation.retrieval import RetrievalResult, rank_scores
from embedtune.retrieval.index import chunk_scores, encode_corpus, encode_queries
from embedtune.retrieval.reading import CHUNK, Reading

logger = logging.getLogger(__name__)

VALIDATION, TEST = "validation", "test"


@dataclass(frozen=True)
class QuerySet:
    """Queries with their relevant chunk ids (one set per query)."""

    query_ids: list[str]
    texts: list[str]
    relevant: list[set[str]]

    def __post_init__(self) -> None:
        if not len(self.query_ids) == len(self.texts) == len(self.relevant):
            raise ValueError("query_ids, texts and relevant must have the same length")

    def __len__(self) -> int:
        return len(self.texts)


@dataclass
class ModelReadings:
    """One model under every reading: results per reading and query set, and each reading's cost."""

    readings: dict[str, Reading]  # name -> reading, in candidate order
    results: dict[str, dict[str, RetrievalResult]] = field(default_factory=dict)  # reading -> set -> result
    costs: dict[str, dict[str, float]] = field(default_factory=dict)  # reading -> cost


def score_readings(
    model: Any,
    query_sets: Mapping[str, QuerySet],
    corpus_ids: Sequence[str],
    corpus_texts: Sequence[str],
    readings: Sequence[Reading],
    k_values: Sequence[int],
    batch_size: int = 64,
    depth: int = 0,
    label: str = "model",
) -> ModelReadings:
    """Every reading of ``model`` on every (non-empty) query set, from one corpus encoding."""
    started = time.monotonic()
    corpus = encode_corpus(model, corpus_ids, corpus_texts, readings, batch_size)
    out = ModelReadings({r.name: r for r in readings})
    queries = {name: encode_queries(model, qs.texts, batch_size)
               for name, qs in query_sets.items() if len(qs)}
    for reading in readings:
        out.costs[reading.name] = corpus.cost(reading)
        out.results[reading.name] = {
            name: rank_scores(chunk_scores(vectors, corpus, reading), corpus_ids,
                              query_sets[name].relevant, k_values, depth)
            for name, vectors in queries.items()
        }
    logger.info("Scored %s under %d readings on %s in %.0fs.", label, len(readings),
                ", ".join(f"{len(query_sets[n])} {n} queries" for n in queries),
                time.monotonic() - started)
    return out


def choose_reading(scored: ModelReadings, metric: str, query_set: str = VALIDATION) -> Reading:
    """The reading with the best ``metric`` on ``query_set`` (validation); ties go to the one
    that stores fewer vectors per chunk, then to the earlier candidate."""
    if len(scored.readings) == 1:
        return next(iter(scored.readings.values()))
    missing = [name for name, sets in scored.results.items() if query_set not in sets]
    if missing:
        raise ValueError(f"No {query_set} queries were scored, so no reading can be chosen.")
    best = max(
        enumerate(scored.readings),
        key=lambda item: (round(scored.results[item[1]][query_set].metrics[metric], 10),
                          -scored.costs[item[1]]["vectors_per_chunk"], -item[0]),
    )[1]
    return scored.readings[best]


def system_label(model: str, reading: Reading) -> str:
    """``base`` / ``finetuned`` for one vector per chunk, ``finetuned@chunk+windows128`` etc."""
    return model if reading == CHUNK else f"{model}@{reading.name}"


def readings_table(scored: ModelReadings, chosen: Reading, metric: str) -> list[dict[str, Any]]:
    """One row per reading: validation and test ``metric``, cost, and which was chosen."""
    rows = []
    for name, reading in scored.readings.items():
        sets = scored.results[name]
        rows.append({
            "reading": name,
            "kind": reading.kind.value,
            "window_tokens": reading.window_tokens,
            "stride_tokens": reading.stride_tokens,
            **{f"{s}_{metric}": (round(sets[s].metrics[metric], 4) if s in sets else None)
               for s in (VALIDATION, TEST)},
            **scored.costs[name],
            "chosen": name == chosen.name,
        })
    return rows
