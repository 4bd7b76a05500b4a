import pytest

from embedtune.evaluation.significance import paired_bootstrap


def test_identical_systems_have_a_zero_difference_and_only_ties():
    d = paired_bootstrap([0.2, 0.5, 1.0], [0.2, 0.5, 1.0], "ndcg@10")
    assert (d.mean, d.low, d.high, d.wins, d.losses, d.ties) == (0.0, 0.0, 0.0, 0, 0, 3)
    assert not d.significant and d.p_not_better == 1.0


def test_consistent_gain_is_significant_and_interval_contains_the_mean():
    ref = [0.1 * (i % 10) for i in range(200)]
    cand = [r + 0.05 for r in ref]
    d = paired_bootstrap(ref, cand, "ndcg@10", samples=500, seed=1)
    assert d.mean == pytest.approx(0.05) and d.low <= d.mean <= d.high
    assert d.significant and d.wins == 200 and d.p_not_better == 0.0


def test_mixed_results_give_an_interval_across_zero_and_are_seeded():
    ref, cand = [0, 1, 0, 1, 0, 1], [1, 0, 1, 0, 0, 1]
    a = paired_bootstrap(ref, cand, "m", samples=1000, seed=3)
    b = paired_bootstrap(ref, cand, "m", samples=1000, seed=3)
    assert a == b and a.low < 0 < a.high and (a.wins, a.losses, a.ties) == (2, 2, 2)


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="same, non-zero number"):
        paired_bootstrap([0.1], [0.1, 0.2], "m")
