"""Choosing the shipped reading: on validation queries only, never on the test queries."""

import pytest

from embedtune.config import EvaluationConfig, RetrievalConfig
from embedtune.evaluation.compare import BASE, BM25, FINETUNED, evaluate_readings
from embedtune.evaluation.readings import (
    TEST,
    VALIDATION,
    ModelReadings,
    QuerySet,
    choose_reading,
    score_readings,
)
from embedtune.evaluation.retrieval import score_rankings
from embedtune.retrieval import CHUNK, Reading, ReadingKind

WINDOWS = Reading(kind=ReadingKind.windows, window_tokens=24, stride_tokens=11)
BOTH = Reading(kind=ReadingKind.chunk_windows, window_tokens=24, stride_tokens=11)


def _result(hit: bool):
    return score_rankings([["a", "b"] if hit else ["b", "a"]], [{"a"}], [1, 2])


def test_the_choice_follows_validation_whatever_the_test_says():
    # Validation says windows, the test says chunk: a choice that looked at the test would fail.
    scored = ModelReadings(
        {"chunk": CHUNK, "windows24": WINDOWS},
        {"chunk": {VALIDATION: _result(False), TEST: _result(True)},
         "windows24": {VALIDATION: _result(True), TEST: _result(False)}},
        {"chunk": {"vectors_per_chunk": 1.0}, "windows24": {"vectors_per_chunk": 3.0}},
    )
    assert choose_reading(scored, "ndcg@2") == WINDOWS
    # A tie goes to the reading that stores fewer vectors.
    scored.results["chunk"][VALIDATION] = _result(True)
    assert choose_reading(scored, "ndcg@2") == CHUNK
    del scored.results["chunk"][VALIDATION]
    with pytest.raises(ValueError, match="No validation queries"):
        choose_reading(scored, "ndcg@2")


CORPUS = {
    "bikes": "Lyft operates bike-share systems in several cities, including Citi Bike in New York. "
             "Riders unlock bikes and scooters in the app and pay by the minute. Insurance for "
             "riders is included in the price of every ride.",
    "insurance": "We maintain insurance for auto liability, general liability and workers "
                 "compensation. Insurance costs rose sharply in 2021 as claims grew and as "
                 "reserves for earlier years were raised.",
    "pink": "Lyft Pink is a monthly membership. It offers ride discounts, priority pickups and free "
            "bike unlocks, and members keep their benefits in every city we serve.",
    "drivers": "Drivers can cash out their earnings instantly with Express Pay, and the Driver "
               "Hub shows them where demand is highest at each hour of the day.",
}
VALIDATION_SET = QuerySet(["v1", "v2"], ["How do riders pay for scooters?", "What is Express Pay?"],
                          [{"bikes"}, {"drivers"}])
TEST_A = QuerySet(["t1", "t2"], ["Why did insurance costs rise?", "What does Lyft Pink offer?"],
                  [{"insurance"}, {"pink"}])
TEST_B = QuerySet(["t1", "t2"], ["Is insurance included in a ride?", "Where is demand highest?"],
                  [{"bikes"}, {"drivers"}])


def test_the_run_ships_the_validation_choice_and_the_test_only_reports_it(base_model):
    config = EvaluationConfig(k_values=[1, 3], bootstrap_samples=200)
    readings = [CHUNK, WINDOWS, BOTH]
    alone = score_readings(base_model, {VALIDATION: VALIDATION_SET}, list(CORPUS),
                           list(CORPUS.values()), readings, [1, 3])
    expected = choose_reading(alone, "ndcg@3")
    runs = [evaluate_readings(test, VALIDATION_SET, list(CORPUS), list(CORPUS.values()),
                              {BASE: base_model, FINETUNED: base_model}, readings, config, "ndcg@3")
            for test in (TEST_A, TEST_B)]
    for run in runs:
        assert run.shipped["reading_name"] == expected.name
        assert run.readings["chosen"] == {BASE: expected.name, FINETUNED: expected.name}
        assert run.candidate == ("finetuned" if expected == CHUNK else f"finetuned@{expected.name}")
        assert run.baseline == run.candidate.replace("finetuned", "base")
        # every model under every reading, BM25, and every embedding system fused with it
        assert {f"{m}@{r.name}" if r != CHUNK else m for m in (BASE, FINETUNED) for r in readings} \
            | {BM25} <= set(run.metrics)
        assert f"{run.candidate}+bm25" in run.metrics
        assert run.no_training["options"][1:] == [BM25, f"{run.baseline}+bm25"]
        assert run.no_training["best"] in run.no_training["options"]
    # The validation scores are the same whichever test set is reported.
    tables = [run.readings["models"][FINETUNED] for run in runs]
    assert [r["validation_ndcg@3"] for r in tables[0]] == [r["validation_ndcg@3"] for r in tables[1]]


def test_readings_config_lists_the_candidates_and_refuses_an_impossible_choice():
    names = [r.name for r in RetrievalConfig().candidates()]
    assert names == ["chunk", "windows128", "chunk+windows128", "windows256", "chunk+windows256"]
    assert RetrievalConfig().candidates()[1].stride_tokens == 63
    with pytest.raises(ValueError, match="no validation queries can choose"):
        RetrievalConfig(validation_fraction=0)
    assert [r.name for r in RetrievalConfig(validation_fraction=0, readings=["windows"],
                                            window_tokens=[128]).candidates()] == ["windows128"]
    # A window as long as what the model reads of a chunk is the chunk: left out.
    assert [r.name for r in RetrievalConfig().candidates(max_seq_length=256)] == [
        "chunk", "windows128", "chunk+windows128"]
    with pytest.raises(ValueError, match="equal the chunk reading"):
        RetrievalConfig(readings=["windows"], window_tokens=[128],
                        validation_fraction=0).candidates(max_seq_length=128)


def test_an_extra_model_is_read_in_its_own_candidates_and_joins_the_no_training_options(base_model):
    """The teacher's place in the evaluation: its own readings, chosen on validation, and it (and
    its BM25 hybrid) among the options the shipped retrieval must beat."""
    config = EvaluationConfig(k_values=[1, 3], bootstrap_samples=200)
    run = evaluate_readings(TEST_A, VALIDATION_SET, list(CORPUS), list(CORPUS.values()),
                            {BASE: base_model, FINETUNED: base_model, "teacher": base_model},
                            [CHUNK, WINDOWS], config, "ndcg@3",
                            readings_for={"teacher": [CHUNK]},
                            extra_options={"teacher": "teacher test-model"})
    assert [r["reading"] for r in run.readings["models"]["teacher"]] == ["chunk"]
    assert "teacher@windows24" not in run.metrics
    assert run.no_training["options"][-2:] == ["teacher", "teacher+bm25"]
    assert run.no_training["notes"]["teacher"] == "teacher test-model, reading chunk chosen on validation"
    assert f"{run.candidate}_vs_teacher" in run.differences
