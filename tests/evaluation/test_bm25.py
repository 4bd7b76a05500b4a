from embedtune.evaluation.bm25 import evaluate_bm25

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
