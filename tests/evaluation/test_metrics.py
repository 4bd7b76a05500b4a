import math

import pytest

from embedtune.evaluation.metrics import (
    hit_rate_at_k,
    mean_scores,
    mrr_at_k,
    ndcg_at_k,
    recall_at_k,
    score_query,
)

RANKED = ["a", "b", "c", "d", "e"]


def test_hit_rate():
    assert hit_rate_at_k(RANKED, {"c"}, 3) == 1.0
    assert hit_rate_at_k(RANKED, {"c"}, 2) == 0.0


def test_mrr_is_reciprocal_rank_within_k():
    assert mrr_at_k(RANKED, {"c"}, 10) == pytest.approx(1 / 3)
    assert mrr_at_k(RANKED, {"e"}, 4) == 0.0
    assert mrr_at_k(RANKED, {"b", "d"}, 10) == 0.5


def test_ndcg_single_relevant_equals_log_discount():
    assert ndcg_at_k(RANKED, {"a"}, 10) == 1.0
    assert ndcg_at_k(RANKED, {"c"}, 10) == pytest.approx(1 / math.log2(4))


def test_ndcg_with_two_relevant_uses_ideal_ranking():
    dcg = 1 / math.log2(3) + 1 / math.log2(5)  # relevant at ranks 2 and 4
    ideal = 1 + 1 / math.log2(3)
    assert ndcg_at_k(RANKED, {"b", "d"}, 10) == pytest.approx(dcg / ideal)


def test_recall_counts_the_share_found():
    assert recall_at_k(RANKED, {"b", "z"}, 5) == 0.5


def test_score_query_keys_in_display_order():
    scores = score_query(RANKED, {"a"}, [10, 1, 5])
    assert list(scores) == ["hit_rate@1", "hit_rate@5", "hit_rate@10", "mrr@10", "ndcg@10", "recall@10"]


def test_mean_and_errors():
    assert mean_scores([{"m": 1.0}, {"m": 0.0}]) == {"m": 0.5}
    with pytest.raises(ValueError):
        mean_scores([])
    with pytest.raises(ValueError):
        score_query(RANKED, set(), [1])
