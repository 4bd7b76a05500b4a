from embedtune.config import EvaluationConfig
from embedtune.evaluation.compare import BASE, BM25, FINETUNED, compare, evaluate_systems

CORPUS = {
    "bikes": "Lyft offers bike and scooter sharing in many cities across the United States.",
    "revenue": "Revenue grew in 2021 as ridership recovered from the COVID-19 pandemic.",
    "lease": "The headquarters lease in San Francisco expires in 2028.",
    "drivers": "Drivers can cash out their earnings instantly with Express Pay.",
}
QUERIES = [("q1", "Where can I rent a scooter?", "bikes"), ("q2", "When does the office lease end?", "lease"),
           ("q3", "How do drivers get paid?", "drivers")]


def test_same_queries_same_corpus_for_every_system_with_paired_intervals(base_model):
    config = EvaluationConfig(k_values=[1, 3], bootstrap_samples=200)
    texts, relevant = [q for _, q, _ in QUERIES], [{c} for _, _, c in QUERIES]
    results = evaluate_systems(texts, relevant, list(CORPUS), list(CORPUS.values()),
                               {BASE: base_model, FINETUNED: base_model}, config)
    assert set(results) == {BASE, FINETUNED, BM25}
    comparison = compare([q for q, _, _ in QUERIES], texts, results, len(CORPUS), config)
    # The same model twice: identical rankings, a zero difference, nothing improved or worsened.
    same = comparison.differences["finetuned_vs_base"]["ndcg@3"]
    assert (same["mean"], same["ties"]) == (0.0, 3)
    assert comparison.improved == [] and comparison.worsened == []
    assert set(comparison.differences) == {"finetuned_vs_base", "finetuned_vs_bm25"}
    assert [q["query_id"] for q in comparison.per_query] == ["q1", "q2", "q3"]
    assert set(comparison.per_query[0]["rank"]) == {BASE, FINETUNED, BM25}
    # Cosine scores for the embedding models only (BM25 scores are not cosines), up to k = 3.
    scores = comparison.per_query[0]["score"]
    assert set(scores) == {BASE, FINETUNED} and scores[BASE] == scores[FINETUNED]
    assert -1.0 <= scores[BASE]["best_wrong"] <= 1.0 and comparison.k_max == 3
