import pytest

from embedtune.evaluation.hybrid import fuse_results, reciprocal_rank_fusion
from embedtune.evaluation.retrieval import score_rankings


def test_rrf_sums_reciprocal_ranks_over_the_lists():
    # a: 1/61 + 1/62, c: 1/63 + 1/61, b: 1/62, d: 1/63 (k = 60)
    assert reciprocal_rank_fusion([["a", "b", "c"], ["c", "a", "d"]]) == ["a", "c", "b", "d"]


def test_rrf_constant_changes_the_order_and_ties_keep_first_seen_order():
    # A is 1st and 8th, B 3rd in both lists. k = 1 rewards A's top rank (1/2 + 1/9 against
    # 1/4 + 1/4); k = 60 flattens ranks and rewards B's agreement (2/63 against 1/61 + 1/68).
    lists = [["A", "x1", "B", "x2", "x3", "x4", "x5", "x6"],
             ["y1", "y2", "B", "y3", "y4", "y5", "y6", "A"]]
    assert reciprocal_rank_fusion(lists, k=1)[:2] == ["A", "B"]
    assert reciprocal_rank_fusion(lists, k=60)[:2] == ["B", "A"]
    assert reciprocal_rank_fusion([["x"], ["y"]]) == ["x", "y"]
    with pytest.raises(ValueError, match="at least 1"):
        reciprocal_rank_fusion([["x"]], k=0)


def test_fusion_lifts_a_chunk_that_both_lists_rank_below_the_cut_off():
    # Each retriever ranks the relevant chunk R just outside its top 10; no other chunk is in
    # both lists, so the fusion puts R first: this is why lists are fused deeper than k.
    relevant = [{"R"}]
    dense = score_rankings([[f"d{i}" for i in range(11)] + ["R"]], relevant, [1, 10])
    lexical = score_rankings([[f"l{i}" for i in range(10)] + ["R"]], relevant, [1, 10])
    assert dense.metrics["hit_rate@10"] == lexical.metrics["hit_rate@10"] == 0.0
    assert dense.first_relevant_rank == [None]  # ranks stop at the largest k, like the metrics
    fused = fuse_results(dense, lexical, relevant, [1, 10])
    assert fused.rankings[0][0] == "R"
    assert fused.metrics["hit_rate@1"] == 1.0 and fused.first_relevant_rank == [1]


def test_fusion_refuses_results_that_do_not_line_up():
    one = score_rankings([["a"]], [{"a"}], [1])
    two = score_rankings([["a"], ["b"]], [{"a"}, {"b"}], [1])
    with pytest.raises(ValueError, match="same queries"):
        fuse_results(one, two, [{"a"}], [1])
    one.rankings = None
    with pytest.raises(ValueError, match="rankings"):
        fuse_results(one, one, [{"a"}], [1])
