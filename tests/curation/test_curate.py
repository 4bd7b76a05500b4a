"""Filtering and mining on hand-built embeddings (exact scores), plus one run on the real model."""

import math

import numpy as np
import pytest

import constants as C
from embedtune.config import CurationConfig
from embedtune.curation.curate import (
    HARD_NEGATIVE_IDS,
    HARD_NEGATIVES,
    ROUND_TRIP_RANK,
    curate,
    rule_filter,
)
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
    return {C.QUERY_ID: qid, C.QUERY: query, C.CHUNK_ID: chunk, C.POSITIVE: text or TEXTS.get(chunk, chunk),
            C.NEGATIVE_QUERY: ""}


def embed(texts):
    return np.stack([VECTORS[t] for t in texts])


def run(rows, **config):
    cfg = CurationConfig(**config)
    return curate(rows, list(CHUNKS), [TEXTS[c] for c in CHUNKS], cfg, Encoder.symmetric(embed))


def test_mining_skips_false_negatives_and_reports_why():
    result = run([row("q1", Q, "A"), row("q2", Q, "B")])
    assert [r[C.QUERY_ID] for r in result.rows] == ["q1"]
    (kept,) = result.rows
    assert kept[HARD_NEGATIVE_IDS] == ["E"] and kept[HARD_NEGATIVES] == [TEXTS["E"]]
    assert result.report["mining"] == {
        "generated from the same question": 1,  # B
        "near-duplicate of the positive": 1,  # C
        "too close to the positive score": 1,  # D: 0.78 > 0.95 * 0.80
    }
    assert result.report["dropped"] == {"duplicate query": 1}
    assert kept[ROUND_TRIP_RANK] == 1  # B counts as its own chunk too


def test_more_negatives_and_a_range_window():
    two = run([row("q1", Q, "A")], hard_negatives={"num_negatives": 2}).rows[0]
    assert two[HARD_NEGATIVE_IDS] == ["E", "F"]
    # range_max 3 looks at B, A (the positive) and C only: none of them is a safe negative.
    result = run([row("q1", Q, "A")], hard_negatives={"range_max": 3})
    assert result.rows == []
    assert result.report["mining"]["queries without enough negatives (dropped)"] == 1


def test_mining_disabled_keeps_queries_without_negatives():
    result = run([row("q1", Q, "A")], hard_negatives={"enabled": False})
    assert result.rows[0][HARD_NEGATIVES] == [] and result.report["mining"] == {}


def test_round_trip_drops_queries_whose_chunk_the_base_model_ranks_low():
    # Q's own chunk F is ranked 6th of 6.
    kept = run([row("q1", Q, "F")], filtering={"round_trip_top_k": 5})
    assert kept.rows == [] and kept.report["dropped"] == {
        "fails round trip (own chunk not in base model's top 5)": 1}
    kept = run([row("q1", Q, "F")], filtering={"round_trip_top_k": 6}, hard_negatives={"enabled": False})
    assert kept.rows[0][ROUND_TRIP_RANK] == 6


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
    assert [r[C.QUERY_ID] for r in kept] == ["ok"]
    assert {d[C.QUERY_ID]: d[C.FAILURE_REASON] for d in dropped} == {
        "short": "too short (< 3 words)", "long": "too long (> 40 words)",
        "copy": "copies the chunk", "dup": "duplicate query",
    }
    assert sources["how fast did sales grow last year"] == {chunk}


def test_queries_and_chunks_are_embedded_each_by_their_own_side():
    """A model with role prompts embeds a question and a chunk differently: curation must ask the
    query side for questions (LLM negatives included) and the chunk side for chunks."""
    queries = {Q, "Which city has the airport?"}
    asked: dict[str, list[str]] = {"queries": [], "chunks": []}

    def side(name, known):
        def embed(texts):
            assert set(texts) <= known, f"{name} side asked for {set(texts) - known}"
            asked[name] += texts
            return np.stack([VECTORS.get(t, np.eye(DIM)[7]) for t in texts])
        return embed

    sides = Encoder(queries=side("queries", queries), chunks=side("chunks", set(TEXTS.values())))
    rows = [{**row("q1", Q, "A"), C.NEGATIVE_QUERY: "Which city has the airport?"}]
    result = curate(rows, list(CHUNKS), [TEXTS[c] for c in CHUNKS], CurationConfig(), sides)
    assert [r[C.QUERY_ID] for r in result.rows] == ["q1"]
    assert asked["queries"] == [Q, "Which city has the airport?"]  # the question, then its negative
    assert set(asked["chunks"]) == set(TEXTS.values())


def test_queries_pointing_outside_the_training_chunks_are_refused():
    with pytest.raises(ValueError, match="not in the training chunks"):
        run([row("q1", Q, "Z")])


def test_near_duplicates_and_answerable_llm_negatives_on_the_real_model(base_model):
    chunk = ("Lyft offers riders bikes and scooters in select cities. Drivers earn money by giving "
             "rides and can cash out their earnings instantly with Express Pay.")
    other = "The company leases its headquarters in San Francisco under a lease expiring in 2028."
    rows = [
        {**row("a", "Which vehicles besides cars can riders use?", "chunk", chunk),
         C.NEGATIVE_QUERY: "Which vehicles other than cars can riders use?"},
        {**row("b", "Which vehicles besides cars can riders rent?", "chunk", chunk),
         C.NEGATIVE_QUERY: "Where is the company headquartered?"},
        row("c", "How do drivers get paid quickly?", "chunk", chunk),
    ]
    cfg = CurationConfig(filtering={"near_duplicate_threshold": 0.9, "round_trip_top_k": None},
                         hard_negatives={"enabled": False}, sentence_pairs=True)
    result = curate(rows, ["chunk", "other"], [chunk, other], cfg, encoder(base_model))
    assert [r[C.QUERY_ID] for r in result.rows] == ["a", "c", "chunk-s0"]  # + chunk's sentence pair
    assert result.report["sentence_pairs"] == 1 and result.report["kept_queries"] == 2
    assert result.report["dropped"] == {"near-duplicate query": 1}
    # a's negative is a rewording of a positive: blanked. (b's safe one left with b.)
    assert result.rows[0][C.NEGATIVE_QUERY] == ""
    assert result.report["llm_negatives"] == {"looks answerable (blanked)": 1}


def test_sentence_pairs_remove_the_sentence_from_the_positive_and_are_stable():
    from embedtune.curation.curate import KIND, SENTENCE, sentence_pairs

    text = ("Lyft operates a ridesharing marketplace in the United States and Canada. "
            "Riders request rides through the Lyft app on their phones. "
            "Too short. "
            "Drivers are independent contractors who use their own vehicles on the platform.")
    rows = sentence_pairs(["c1", "c2"], [text, "Only one sentence here that is long enough to count."])
    assert len(rows) == 1  # a chunk needs two usable sentences: one query, something left
    (r,) = rows
    assert r[KIND] == SENTENCE and r[C.CHUNK_ID] == "c1" and r[C.QUERY] in text
    assert r[C.QUERY] not in r[C.POSITIVE] and "Too short." in r[C.POSITIVE]
    assert sentence_pairs(["c1"], [text]) == rows


def test_curate_appends_sentence_pairs_after_the_generated_queries():
    result = run([row("q1", Q, "A")], sentence_pairs=True, hard_negatives={"enabled": False})
    assert result.report["kept_queries"] == 1 and result.report["sentence_pairs"] == 0  # texts are 3 words


def _kept(qid: str, query: str, chunk: str, negatives: list[str] | None = None) -> dict:
    from embedtune.curation.curate import GENERATED, KIND

    return {**row(qid, query, chunk), KIND: GENERATED, HARD_NEGATIVE_IDS: list(negatives or []),
            HARD_NEGATIVES: [TEXTS[n] for n in negatives or []]}


def test_compound_queries_join_two_questions_of_the_same_chunk():
    from embedtune.curation.curate import COMPOUND, KIND, compound_queries

    rows = [_kept("a1", "What is the revenue", "A"), _kept("a2", "Who audits it?", "A"),
            _kept("a3", "When was it founded?", "A"), _kept("b1", "What does B say?", "B")]
    out = compound_queries(rows, per_chunk=2)
    assert len(out) == 2  # B has one question: nothing to pair
    for r in out:
        first, second = r[C.QUERY_ID].split("+")
        assert first != second and first.startswith("a") and second.startswith("a")
        by_id = {x[C.QUERY_ID]: x[C.QUERY] for x in rows}
        # A missing question mark is added so the halves stay two questions.
        assert r[C.QUERY] == f"{by_id[first].rstrip('?')}? {by_id[second].rstrip('?')}?"
        assert r[C.CHUNK_ID] == "A" and r[C.POSITIVE] == TEXTS["A"] and r[KIND] == COMPOUND
        assert r[C.NEGATIVE_QUERY] == ""
    assert len({frozenset(r[C.QUERY_ID].split("+")) for r in out}) == 2  # two different pairs
    assert compound_queries(rows, per_chunk=2) == out  # the same pairs on a rerun
    assert len(compound_queries(rows, per_chunk=10)) == 3  # at most every unordered pair once


def test_compound_queries_never_keep_a_false_negative_for_either_half():
    from embedtune.curation.curate import compound_queries
    from embedtune.curation.text import normalized

    q1, q2 = "What is the main risk?", "What is the second risk?"
    rows = [_kept("a1", q1, "A", ["B"]), _kept("a2", q2, "A", ["E"])]
    # q2 was also generated from chunk B, so B (q1's negative) would be a false negative for it.
    sources = {normalized(q1): {"A"}, normalized(q2): {"A", "B"}}
    (r,) = compound_queries(rows, per_chunk=1, sources=sources)
    assert r[HARD_NEGATIVE_IDS] == ["E"] and r[HARD_NEGATIVES] == [TEXTS["E"]]
    # If each half's negatives are the other's sources, the pair is skipped.
    sources[normalized(q1)] = {"A", "E"}
    assert compound_queries(rows, per_chunk=1, sources=sources) == []


def test_curate_adds_compound_queries_from_kept_questions_only():
    from embedtune.curation.curate import COMPOUND, KIND

    Q2 = "Which risk does the company report first?"
    VECTORS[Q2] = vec(0.9, 6)  # not a near-duplicate of Q (cosine 0.9 < 0.95)
    try:
        rows = [row("q1", Q, "A"), row("q2", Q2, "A"), row("q3", "too short", "A")]
        result = run(rows, compound_queries=3, hard_negatives={"enabled": False})
    finally:
        del VECTORS[Q2]
    compound = [r for r in result.rows if r[KIND] == COMPOUND]
    assert result.report["kept_queries"] == 2 and result.report["compound_queries"] == 1
    assert len(compound) == 1 and "too short" not in compound[0][C.QUERY]
    assert run([row("q1", Q, "A")], hard_negatives={"enabled": False}).report.get("compound_queries") is None
