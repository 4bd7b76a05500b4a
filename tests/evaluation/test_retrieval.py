import pytest
import torch

from embedtune.evaluation.retrieval import evaluate_retrieval, relevant_and_best_wrong_scores

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


def test_relevant_and_best_wrong_scores_by_hand():
    similarity = torch.tensor([[0.9, 0.2, 0.5], [0.1, 0.7, 0.3], [0.4, 0.6, 0.8]])
    relevant, wrong = relevant_and_best_wrong_scores(similarity, [[0], [0, 2], [0, 1, 2]])
    assert relevant == pytest.approx([0.9, 0.3, 0.8])
    assert wrong[:2] == pytest.approx([0.5, 0.7])
    assert wrong[2] is None  # every chunk relevant: nothing wrong to compare with
    with pytest.raises(ValueError, match="relevant chunk"):
        relevant_and_best_wrong_scores(similarity, [[0], [], [1]])


def test_recorded_scores_are_the_cosines_and_order_like_the_ranks(base_model):
    queries = ["What does the Lyft Pink membership offer?", "How did the pandemic affect revenue?"]
    result = evaluate_retrieval(base_model, queries, [{"pink"}, {"insurance"}], list(CORPUS),
                                list(CORPUS.values()), [1, 3])
    query = base_model.encode(queries[0], normalize_embeddings=True)
    pink = base_model.encode(CORPUS["pink"], normalize_embeddings=True)
    assert result.relevant_scores[0] == pytest.approx(float(query @ pink), abs=1e-4)
    # Ranked first exactly when the relevant chunk outscores every wrong one.
    assert result.first_relevant_rank[0] == 1 and result.relevant_scores[0] > result.best_wrong_scores[0]
    assert result.first_relevant_rank[1] != 1 and result.relevant_scores[1] < result.best_wrong_scores[1]


def test_a_model_with_role_prompts_is_scored_as_it_reads_queries_and_chunks(prompted_model):
    """e5-style models: queries after "query: ", chunks after "passage: ", as they will be served."""
    queries = ["What does the Lyft Pink membership offer?"]
    result = evaluate_retrieval(prompted_model, queries, [{"pink"}], list(CORPUS), list(CORPUS.values()), [1])
    query = prompted_model.encode(queries[0], prompt="query: ", normalize_embeddings=True)
    pink = prompted_model.encode(CORPUS["pink"], prompt="passage: ", normalize_embeddings=True)
    plain = float(prompted_model.encode(queries[0], normalize_embeddings=True)
                  @ prompted_model.encode(CORPUS["pink"], normalize_embeddings=True))
    assert result.relevant_scores[0] == pytest.approx(float(query @ pink), abs=1e-4)
    assert abs(result.relevant_scores[0] - plain) > 1e-3  # the prompts change the score
