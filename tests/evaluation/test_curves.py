import pytest

from embedtune.evaluation.curves import hit_rate_curve, hit_rate_curves
from embedtune.evaluation.retrieval import score_rankings


def test_curve_counts_each_query_from_its_rank_on():
    # ranks 1, 3, not found, 2 -> hits at k=1: 1, k=2: 2, k=3: 3, k=4: 3 (of 4 queries)
    assert hit_rate_curve([1, 3, None, 2], 4) == [0.25, 0.5, 0.75, 0.75]


def test_ranks_beyond_k_max_are_misses():
    assert hit_rate_curve([5, 1], 3) == [0.5, 0.5, 0.5]


def test_curve_at_the_configured_ks_equals_the_hit_rate_metrics():
    rankings = [["a", "b", "c", "d", "e"], ["b", "a", "c", "d", "e"], ["c", "d", "e", "b", "a"],
                ["e", "d", "c", "b", "a"]]
    relevant = [{"a"}, {"a"}, {"a"}, {"z"}]
    result = score_rankings(rankings, relevant, [1, 3, 5])
    curve = hit_rate_curve(result.first_relevant_rank, 5)
    for k in (1, 3, 5):
        assert curve[k - 1] == result.metrics[f"hit_rate@{k}"]
    assert curve == [0.25, 0.5, 0.5, 0.5, 0.75]


def test_curves_per_system_from_the_per_query_records():
    per_query = [{"rank": {"base": 2, "bm25": None}}, {"rank": {"base": 1, "bm25": 1}}]
    assert hit_rate_curves(per_query, 2) == {"base": [0.5, 1.0], "bm25": [0.5, 0.5]}


@pytest.mark.parametrize("ranks, k_max", [([0], 3), ([], 3), ([1], 0)])
def test_invalid_input_is_an_error(ranks, k_max):
    with pytest.raises(ValueError):
        hit_rate_curve(ranks, k_max)
