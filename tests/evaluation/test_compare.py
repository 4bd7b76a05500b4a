import pytest
from pydantic import ValidationError

from embedtune.config import EvaluationConfig
from embedtune.evaluation.compare import BASE, BM25, FINETUNED, compare, evaluate_systems
from embedtune.evaluation.hybrid import reciprocal_rank_fusion

HYBRIDS = {f"{BASE}+{BM25}", f"{FINETUNED}+{BM25}"}

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
    assert set(results) == {BASE, FINETUNED, BM25} | HYBRIDS
    comparison = compare([q for q, _, _ in QUERIES], texts, results, len(CORPUS), config, "ndcg@3")
    # The same model twice: identical rankings, a zero difference, nothing improved or worsened.
    same = comparison.differences["finetuned_vs_base"]["ndcg@3"]
    assert (same["mean"], same["ties"]) == (0.0, 3)
    assert comparison.improved == [] and comparison.worsened == []
    assert set(comparison.differences) == {"finetuned_vs_base", "finetuned_vs_bm25",
                                           "finetuned_vs_base+bm25", "finetuned_vs_finetuned+bm25"}
    assert [q["query_id"] for q in comparison.per_query] == ["q1", "q2", "q3"]
    assert set(comparison.per_query[0]["rank"]) == {BASE, FINETUNED, BM25} | HYBRIDS
    # Cosine scores for the embedding models only (BM25 scores are not cosines), up to k = 3.
    scores = comparison.per_query[0]["score"]
    assert set(scores) == {BASE, FINETUNED} and scores[BASE] == scores[FINETUNED]
    assert -1.0 <= scores[BASE]["best_wrong"] <= 1.0 and comparison.k_max == 3


def test_each_embedding_model_is_also_scored_fused_with_bm25(base_model):
    config = EvaluationConfig(k_values=[1, 3], bootstrap_samples=200, hybrid_depth=4)
    texts, relevant = [q for _, q, _ in QUERIES], [{c} for _, _, c in QUERIES]
    results = evaluate_systems(texts, relevant, list(CORPUS), list(CORPUS.values()),
                               {BASE: base_model}, config)
    assert set(results) == {BASE, BM25, f"{BASE}+{BM25}"}
    # The hybrid's ranking is the fusion of the two full (depth 4 = whole corpus) rankings.
    assert all(len(r) == 4 for r in results[BASE].rankings)
    for i in range(len(QUERIES)):
        assert results[f"{BASE}+{BM25}"].rankings[i] == reciprocal_rank_fusion(
            [results[BASE].rankings[i], results[BM25].rankings[i]])
    # Cosine scores belong to single models, not to the fusion.
    assert results[f"{BASE}+{BM25}"].relevant_scores is None


def test_hybrid_off_or_without_bm25_scores_no_fusion(base_model):
    texts, relevant = [q for _, q, _ in QUERIES], [{c} for _, _, c in QUERIES]
    for config in (EvaluationConfig(k_values=[1], hybrid=False), EvaluationConfig(k_values=[1], bm25=False)):
        results = evaluate_systems(texts, relevant, list(CORPUS), list(CORPUS.values()),
                                   {BASE: base_model}, config)
        assert not HYBRIDS & set(results)
    with pytest.raises(ValidationError, match="evaluation.hybrid fuses with BM25"):
        EvaluationConfig(bm25=False, hybrid=True)
    # A config with BM25 off survives the round trip through its serialized form, as a ZenML
    # step's parameters do (a default of True here once failed that re-validation).
    no_bm25 = EvaluationConfig(bm25=False)
    assert EvaluationConfig.model_validate(no_bm25.model_dump()) == no_bm25
