"""Filtering and mining on hand-built embeddings (exact scores), plus one run on the real model."""

import math

import numpy as np
import pytest

from embedtune import schema
from embedtune.config import CurationConfig
from embedtune.curation.curate import curate, rule_filter
from embedtune.encoding import Encoder, encoder

DIM = 16


def vec(score: float, axis: int) -> np.ndarray:
    """A unit vector whose dot product with the query vector e0 is ``score``."""
    v = np.zeros(DIM)
    v[0], v[axis] = score, math.sqrt(1 - score**2)
    return v


Q = "What does the company report as its main risk?"
# chunk id -> (score against Q, private axis). A is the positive; B is where the same question was
# also generated; C shares A's axis (a near-copy of A); D scores within 5 % of A; E is the first
# safe negative; F is a weaker one.
CHUNKS = {"A": (0.80, 1), "B": (0.85, 2), "C": (0.79, 1), "D": (0.78, 3), "E": (0.70, 4), "F": (0.60, 5)}
TEXTS = {cid: f"chunk {cid} text" for cid in CHUNKS}
VECTORS = {TEXTS[c]: vec(s, a) for c, (s, a) in CHUNKS.items()}
VECTORS[Q] = np.eye(DIM)[0]


def row(qid: str, query: str, chunk: str, text: str | None = None) -> dict:
    return {schema.QUERY_ID: qid, schema.QUERY: query, schema.CHUNK_ID: chunk, schema.POSITIVE: text or TEXTS.get(chunk, chunk),
            schema.NEGATIVE_QUERY: ""}


def embed(texts):
    return np.stack([VECTORS[t] for t in texts])


def run(rows, **config):
    cfg = CurationConfig(**config)
    return curate(rows, list(CHUNKS), [TEXTS[c] for c in CHUNKS], cfg, Encoder.symmetric(embed))


def test_mining_skips_false_negatives_and_reports_why():
    result = run([row("q1", Q, "A"), row("q2", Q, "B")])
    assert [r[schema.QUERY_ID] for r in result.rows] == ["q1"]
    (kept,) = result.rows
    assert kept[schema.HARD_NEGATIVE_IDS] == ["E"] and kept[schema.HARD_NEGATIVES] == [TEXTS["E"]]
    assert result.report["mining"] == {
        "generated from the same question": 1,  # B
        "near-duplicate of the positive": 1,  # C
        "too close to the positive score": 1,  # D: 0.78 > 0.95 * 0.80
    }
    assert result.report["dropped"] == {"duplicate query": 1}
    assert kept[schema.ROUND_TRIP_RANK] == 1  # B counts as its own chunk too


def test_more_negatives_and_a_range_window():
    two = run([row("q1", Q, "A")], hard_negatives={"num_negatives": 2}).rows[0]
    assert two[schema.HARD_NEGATIVE_IDS] == ["E", "F"]
    # range_max 3 looks at B, A (the positive) and C only: none of them is a safe negative.
    result = run([row("q1", Q, "A")], hard_negatives={"range_max": 3})
    assert result.rows == []
    assert result.report["mining"]["queries without enough negatives (dropped)"] == 1


def test_mining_disabled_keeps_queries_without_negatives():
    result = run([row("q1", Q, "A")], hard_negatives={"enabled": False})
    assert result.rows[0][schema.HARD_NEGATIVES] == [] and result.report["mining"] == {}


def test_round_trip_drops_queries_whose_chunk_the_base_model_ranks_low():
    # Q's own chunk F is ranked 6th of 6.
    kept = run([row("q1", Q, "F")], filtering={"round_trip_top_k": 5})
    assert kept.rows == [] and kept.report["dropped"] == {
        "fails round trip (own chunk not in base model's top 5)": 1}
    kept = run([row("q1", Q, "F")], filtering={"round_trip_top_k": 6}, hard_negatives={"enabled": False})
    assert kept.rows[0][schema.ROUND_TRIP_RANK] == 6


def test_rule_filters_name_each_reason():
    chunk = "Revenue increased by 36 percent in 2021 compared to the prior year."
    rows = [
        row("short", "Revenue?", chunk),
        row("long", "word " * 41, chunk),
        row("copy", "Revenue increased by 36 percent in 2021 compared to the prior year?", chunk),
        row("ok", "How fast did sales grow last year?", chunk),
        row("dup", "how fast did sales grow last year", chunk),
    ]
    kept, dropped, sources = rule_filter(rows, CurationConfig())
    assert [r[schema.QUERY_ID] for r in kept] == ["ok"]
    assert {d[schema.QUERY_ID]: d[schema.FAILURE_REASON] for d in dropped} == {
        "short": "too short (< 3 words)", "long": "too long (> 40 words)",
        "copy": "copies the chunk", "dup": "duplicate query",
    }
    assert sources["how fast did sales grow last year"] == {chunk}


def test_queries_and_chunks_are_embedded_each_by_their_own_side():
    """A model with role prompts embeds a question and a chunk differently: curation must ask the
    query side for questions and the chunk side for chunks."""
    queries = {Q}
    asked: dict[str, list[str]] = {"queries": [], "chunks": []}

    def side(name, known):
        def embed(texts):
            assert set(texts) <= known, f"{name} side asked for {set(texts) - known}"
            asked[name] += texts
            return np.stack([VECTORS.get(t, np.eye(DIM)[7]) for t in texts])
        return embed

    sides = Encoder(queries=side("queries", queries), chunks=side("chunks", set(TEXTS.values())))
    rows = [{**row("q1", Q, "A"), schema.NEGATIVE_QUERY: "Which city has the airport?"}]
    result = curate(rows, list(CHUNKS), [TEXTS[c] for c in CHUNKS], CurationConfig(), sides)
    assert [r[schema.QUERY_ID] for r in result.rows] == ["q1"]
    assert asked["queries"] == [Q]  # the LLM's negative is not embedded: nothing trains on it
    assert set(asked["chunks"]) == set(TEXTS.values())


def test_queries_pointing_outside_the_training_chunks_are_refused():
    with pytest.raises(ValueError, match="not in the training chunks"):
        run([row("q1", Q, "Z")])


def test_near_duplicates_on_the_real_model(base_model):
    chunk = ("Lyft offers riders bikes and scooters in select cities. Drivers earn money by giving "
             "rides and can cash out their earnings instantly with Express Pay.")
    other = "The company leases its headquarters in San Francisco under a lease expiring in 2028."
    rows = [
        row("a", "Which vehicles besides cars can riders use?", "chunk", chunk),
        row("b", "Which vehicles besides cars can riders rent?", "chunk", chunk),
        row("c", "How do drivers get paid quickly?", "chunk", chunk),
    ]
    cfg = CurationConfig(filtering={"near_duplicate_threshold": 0.9, "round_trip_top_k": None},
                         hard_negatives={"enabled": False})
    result = curate(rows, ["chunk", "other"], [chunk, other], cfg, encoder(base_model))
    assert [r[schema.QUERY_ID] for r in result.rows] == ["a", "c"]
    assert result.report["kept_queries"] == 2
    assert result.report["dropped"] == {"near-duplicate query": 1}
