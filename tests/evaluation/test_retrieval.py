from embedtune.evaluation.retrieval import evaluate_retrieval

CORPUS = {
    "bikes": "Lyft operates bike-share systems in several cities, including Citi Bike in New York.",
    "insurance": "We maintain insurance for auto liability, general liability and workers compensation.",
    "pink": "Lyft Pink is a monthly membership that offers ride discounts and free bike unlocks.",
    "covid": "The COVID-19 pandemic reduced demand for rides and hurt our revenue in 2020.",
}


def test_retrieves_the_obviously_matching_chunk(base_model):
    queries = ["Which bike-share system does Lyft run in New York?", "What does the Lyft Pink membership offer?"]
    result = evaluate_retrieval(
        base_model, queries, [{"bikes"}, {"pink"}], list(CORPUS), list(CORPUS.values()), [1, 3]
    )
    assert result.metrics["hit_rate@1"] == 1.0
    assert result.metrics["mrr@3"] == 1.0
    assert result.first_relevant_rank == [1, 1]


def test_wrong_relevance_scores_zero_at_1(base_model):
    result = evaluate_retrieval(
        base_model, ["How did the pandemic affect revenue?"], [{"insurance"}], list(CORPUS),
        list(CORPUS.values()), [1],
    )
    assert result.metrics["hit_rate@1"] == 0.0
