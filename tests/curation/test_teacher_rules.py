"""The teacher's curation rules on hand-built vectors (exact scores): its round trip, and the
false-negative guard in mining."""

import math

import numpy as np
import pytest

from embedtune import schema
from embedtune.config import CurationConfig, TeacherConfig
from embedtune.curation.curate import curate
from embedtune.encoding import Encoder
from embedtune.teacher.embeddings import TeacherEmbeddings

DIM = 8
CHUNKS = ["A", "B", "C", "D"]
TEXTS = [f"chunk {c} text" for c in CHUNKS]
Q = "What does the company report as its main risk?"


def unit(scores: dict[int, float]) -> np.ndarray:
    """A unit vector with the given dot products against e0 (and the rest on its own axis)."""
    v = np.zeros(DIM)
    for axis, value in scores.items():
        v[axis] = value
    return v / np.linalg.norm(v)


def vec(score: float, axis: int) -> np.ndarray:
    v = np.zeros(DIM)
    v[0], v[axis] = score, math.sqrt(1 - score**2)
    return v


# The base model (the student) sees A > B > C > D for Q; every chunk is its own direction.
BASE = {TEXTS[0]: vec(0.9, 1), TEXTS[1]: vec(0.7, 2), TEXTS[2]: vec(0.5, 3), TEXTS[3]: vec(0.3, 4),
        Q: np.eye(DIM)[0]}


def base_encoder() -> Encoder:
    return Encoder.symmetric(lambda texts: np.stack([BASE[t] for t in texts]))


def teacher(scores: list[float]) -> TeacherEmbeddings:
    """Teacher vectors whose cosine of query q1 with chunk i is scores[i]."""
    chunks = np.stack([vec(s, i + 1) for i, s in enumerate(scores)])
    return TeacherEmbeddings("test-teacher", ["q1"], np.eye(DIM)[:1], CHUNKS, chunks)


def run(scores, curation=None, **teacher_settings):
    rows = [{schema.QUERY_ID: "q1", schema.QUERY: Q, schema.CHUNK_ID: "A", schema.POSITIVE: TEXTS[0], schema.NEGATIVE_QUERY: ""}]
    cfg = curation or CurationConfig(filtering={"round_trip_top_k": None},
                                     hard_negatives={"num_negatives": 1, "relative_margin": 0.0})
    return curate(rows, CHUNKS, TEXTS, cfg, base_encoder(), teacher=teacher(scores),
                  teacher_config=TeacherConfig(enabled=True, **teacher_settings)), rows


def test_a_candidate_the_teacher_scores_at_or_above_the_positive_is_never_a_negative():
    # Base would mine B (its best wrong chunk). The teacher scores B equal to A: a false negative.
    result, _ = run([0.8, 0.8, 0.2, 0.1], round_trip_top_k=None)
    (kept,) = result.rows
    assert kept[schema.HARD_NEGATIVE_IDS] == ["C"]
    assert result.report["mining"]["teacher scores it at or above the positive"] == 1
    # Just below the positive, B is a negative again.
    result, _ = run([0.8, 0.79, 0.2, 0.1], round_trip_top_k=None)
    assert result.rows[0][schema.HARD_NEGATIVE_IDS] == ["B"]


def test_without_the_teacher_the_same_candidate_is_mined():
    rows = [{schema.QUERY_ID: "q1", schema.QUERY: Q, schema.CHUNK_ID: "A", schema.POSITIVE: TEXTS[0], schema.NEGATIVE_QUERY: ""}]
    cfg = CurationConfig(filtering={"round_trip_top_k": None},
                         hard_negatives={"num_negatives": 1, "relative_margin": 0.0})
    (kept,) = curate(rows, CHUNKS, TEXTS, cfg, base_encoder()).rows
    assert kept[schema.HARD_NEGATIVE_IDS] == ["B"]


@pytest.mark.parametrize("scores, rank", [([0.9, 0.5, 0.4, 0.3], 1), ([0.2, 0.9, 0.8, 0.1], 3)])
def test_the_teacher_rank_is_recorded(scores, rank):
    no_mining = CurationConfig(filtering={"round_trip_top_k": None}, hard_negatives={"enabled": False})
    result, _ = run(scores, no_mining, round_trip_top_k=None)
    assert result.rows[0][schema.TEACHER_RANK] == rank


def test_a_positive_the_teacher_rejects_is_dropped():
    result, rows = run([0.1, 0.9, 0.8, 0.7], round_trip_top_k=2)
    assert result.rows == []
    (dropped,) = result.dropped
    assert dropped[schema.FAILURE_REASON] == "fails teacher round trip (own chunk not in teacher's top 2)"
    assert result.report["dropped"] == {dropped[schema.FAILURE_REASON]: 1}
    assert schema.TEACHER_RANK not in rows[0]  # the caller's rows are not modified


def test_a_positive_within_the_teachers_top_k_is_kept():
    result, _ = run([0.5, 0.9, 0.2, 0.1], round_trip_top_k=2)
    assert [r[schema.CHUNK_ID] for r in result.rows] == ["A"]
