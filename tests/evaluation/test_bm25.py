import numpy as np

from embedtune.evaluation.bm25 import evaluate_bm25, top_k_stable

CORPUS = {
    "c1": "Lyft offers bike and scooter sharing in many cities.",
    "c2": "Revenue grew in 2021 as ridership recovered from the pandemic.",
    "c3": "The headquarters lease in San Francisco expires in 2028.",
}


def test_bm25_ranks_the_lexically_matching_chunk_first():
    result = evaluate_bm25(
        ["When does the San Francisco headquarters lease expire?", "Which cities have scooter sharing?"],
        [{"c3"}, {"c1"}], list(CORPUS), list(CORPUS.values()), [1, 3],
    )
    assert result.first_relevant_rank == [1, 1]
    assert result.metrics["hit_rate@1"] == 1.0 and result.metrics["ndcg@3"] == 1.0


def test_bm25_misses_what_shares_no_words():
    result = evaluate_bm25(["earnings of drivers"], [{"c2"}], list(CORPUS), list(CORPUS.values()), [1, 3])
    assert result.metrics["hit_rate@3"] == 0.0 and result.first_relevant_rank == [None]


def test_tied_chunks_rank_in_corpus_order_and_the_cut_keeps_the_first():
    """14 copies of one passage tie; which 10 make the top 10, and in which order, must not depend
    on the CPU's sort kernels (bm25s' own top-k returned them as 39, 36, 33, 18, ...)."""
    texts = [f"filler text number {i} about something else" for i in range(40)]
    for i in range(0, 40, 3):
        texts[i] = "Lyft Pink membership offers ride discounts"
    ids = [f"c{i}" for i in range(40)]
    result = evaluate_bm25(["pink membership"], [{"c0"}], ids, texts, [10])
    assert result.rankings[0] == [f"c{i}" for i in range(0, 30, 3)]
    assert result.first_relevant_rank == [1]
    deep = evaluate_bm25(["pink membership"], [{"c39"}], ids, texts, [10], depth=20)
    assert deep.rankings[0] == [f"c{i}" for i in range(0, 40, 3)]  # only the 14 that match
    assert deep.first_relevant_rank == [None]  # c39 ties with c0 but ranks 14th, past 10


def test_top_k_stable_by_hand():
    scores = np.array([0.5, 2.0, 0.0, 2.0, 1.0, 0.5])
    assert top_k_stable(scores, 3) == [1, 3, 4]
    assert top_k_stable(scores, 5) == [1, 3, 4, 0, 5]
    assert top_k_stable(scores, 10) == [1, 3, 4, 0, 5]  # the zero-score chunk is never retrieved
    assert top_k_stable(np.zeros(4), 2) == []
