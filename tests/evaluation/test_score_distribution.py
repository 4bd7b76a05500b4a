import math

import pytest

from embedtune.evaluation.score_distribution import (
    score_histogram,
    score_summary,
    scored_systems,
    shared_edges,
)


def record(base: tuple[float, float | None], tuned: tuple[float, float | None]) -> dict:
    return {"score": {"base": {"relevant": base[0], "best_wrong": base[1]},
                      "finetuned": {"relevant": tuned[0], "best_wrong": tuned[1]}}}


PER_QUERY = [record((0.52, 0.61), (0.71, 0.40)), record((0.44, 0.43), (0.66, 0.31)),
             record((0.58, None), (0.74, None))]


def test_edges_are_multiples_of_the_bin_width_covering_every_value():
    assert shared_edges([0.12, 0.31], 0.05) == [0.1, 0.15, 0.2, 0.25, 0.3, 0.35]
    # 0.15 and 0.3 are edges themselves (and 0.15 / 0.05 is 2.9999999999999996 in floats).
    assert shared_edges([0.15, 0.3], 0.05) == [0.15, 0.2, 0.25, 0.3]
    assert shared_edges([0.4, 0.4], 0.05) == [0.4, 0.45]


def test_histogram_counts_every_score_once_in_its_bin_on_one_shared_range():
    histogram = score_histogram(PER_QUERY, ["base", "finetuned"], bin_width=0.1)
    assert histogram.edges == [0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
    assert histogram.counts["base"] == {"relevant": [0, 1, 2, 0, 0], "best_wrong": [0, 1, 0, 1, 0]}
    assert histogram.counts["finetuned"] == {"relevant": [0, 0, 0, 1, 2],
                                             "best_wrong": [1, 1, 0, 0, 0]}


def test_summary_means_and_margin_leave_out_queries_without_a_wrong_chunk():
    base = score_summary(PER_QUERY, "base")
    assert base.mean_relevant == pytest.approx((0.52 + 0.44 + 0.58) / 3)
    assert base.mean_best_wrong == pytest.approx((0.61 + 0.43) / 2)
    assert base.mean_margin == pytest.approx(((0.52 - 0.61) + (0.44 - 0.43)) / 2)
    assert score_summary(PER_QUERY, "finetuned").mean_margin == pytest.approx((0.31 + 0.35) / 2)


def test_systems_with_scores_and_evaluations_stored_before_scores():
    assert scored_systems(PER_QUERY) == ["base", "finetuned"]
    assert scored_systems([{"rank": {"base": 1}}]) == []
    assert math.isnan(score_summary([record((0.5, None), (0.5, None))], "base").mean_margin)
