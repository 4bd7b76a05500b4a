import pytest

from embedtune.config import PromotionConfig
from embedtune.evaluation.promotion import NoTrainingOption, decide_promotion
from embedtune.evaluation.significance import paired_bootstrap

BASE = {"ndcg@10": 0.60, "mrr@10": 0.50}
GOOD = {"ndcg@10": 0.70, "mrr@10": 0.55}
# The strongest option without finetuning; below GOOD, so the tests of the other checks pass it.
FREE = NoTrainingOption("bm25", {"ndcg@10": 0.65, "mrr@10": 0.52})


def decide(gate, candidate, base, **kwargs):
    kwargs.setdefault("no_training", FREE)
    return decide_promotion(gate, candidate, base, **kwargs)


def test_promotes_when_the_gain_over_base_meets_the_margin_and_there_is_no_production():
    d = decide(PromotionConfig(min_improvement=0.05), GOOD, BASE)
    assert d.promote and d.production is None
    assert d.reasons == [
        "ndcg@10 0.700 vs base read the same way 0.600 (+0.100; needs +0.050): pass",
        "ndcg@10 0.700 vs the best option without finetuning, bm25 0.650 (+0.050; needs more "
        "than +0.000): pass",
        "no production version yet: nothing else to beat",
    ]


def test_too_small_a_gain_over_base_is_refused_and_says_so():
    d = decide(PromotionConfig(min_improvement=0.2), GOOD, BASE)
    assert not d.promote and d.reasons[0].endswith("fail")


def test_must_also_beat_production_on_the_same_queries():
    gate = PromotionConfig(min_improvement=0.01)
    worse = decide(gate, GOOD, BASE, production={"ndcg@10": 0.72}, production_version="v1")
    assert not worse.promote and worse.production == 0.72
    assert worse.reasons[-1] == "ndcg@10 0.700 vs production v1 0.720 (-0.020): fail"
    better = decide(gate, GOOD, BASE, production={"ndcg@10": 0.65}, production_version="v1")
    assert better.promote
    ignored = decide(PromotionConfig(compare_to_production=False), GOOD, BASE,
                               production={"ndcg@10": 0.99})
    assert ignored.promote and ignored.production is None


def test_significance_requirement_uses_the_bootstrap_interval():
    gate = PromotionConfig(require_significant=True, compare_to_production=False,
                           beat_no_training=False)
    noisy = paired_bootstrap([0.0, 1.0, 0.0, 1.0], [1.0, 0.0, 1.0, 1.0], "ndcg@10")
    d = decide(gate, GOOD, BASE, difference=noisy)
    assert not d.promote and "includes zero: fail" in d.reasons[-1]
    clear = paired_bootstrap([0.0] * 20, [1.0] * 20, "ndcg@10")
    assert decide(gate, GOOD, BASE, difference=clear).promote
    with pytest.raises(ValueError, match="needs a bootstrap interval"):
        decide(gate, GOOD, BASE)


def test_disabled_gate_never_promotes_and_unknown_metric_is_a_clear_error():
    assert not decide(PromotionConfig(enabled=False), GOOD, BASE).promote
    with pytest.raises(ValueError, match="promotion.metric 'map@10' is not among"):
        decide(PromotionConfig(metric="map@10"), GOOD, BASE)


def test_regression_sets_are_reported_and_gate_only_with_a_limit():
    regression = {"general": {"base": {"ndcg@10": 0.50}, "finetuned": {"ndcg@10": 0.45}}}
    gate = PromotionConfig(compare_to_production=False)
    reported = decide(gate, GOOD, BASE, regression=regression)
    assert reported.promote and "regression set general: ndcg@10 -0.050 (report only)" in reported.reasons
    strict = decide(PromotionConfig(compare_to_production=False, max_regression=0.02),
                              GOOD, BASE, regression=regression)
    assert not strict.promote and strict.reasons[-1].endswith("(may drop 0.020): fail")


def test_a_cached_rerun_of_the_production_version_is_not_compared_with_itself():
    d = decide(PromotionConfig(), GOOD, BASE, already_production=True)
    assert d.promote and d.reasons[-1] == "this version already is the production version"


def test_refuses_a_model_that_an_option_without_finetuning_beats():
    bm25_wins = NoTrainingOption("bm25", {"ndcg@10": 0.72, "mrr@10": 0.60})
    d = decide(PromotionConfig(min_improvement=0.05), GOOD, BASE, no_training=bm25_wins)
    assert not d.promote and d.no_training == 0.72 and d.no_training_system == "bm25"
    assert ("ndcg@10 0.700 vs the best option without finetuning, bm25 0.720 (-0.020; needs "
            "more than +0.000): fail") in d.reasons
    # A tie is not a win, and a margin raises the bar.
    tie = NoTrainingOption("base@windows128", {"ndcg@10": 0.70, "mrr@10": 0.5})
    assert not decide(PromotionConfig(), GOOD, BASE, no_training=tie).promote
    assert not decide(PromotionConfig(no_training_margin=0.06), GOOD, BASE).promote
    assert decide(PromotionConfig(no_training_margin=0.04), GOOD, BASE).promote
    # Switched off, the check is neither run nor needed.
    off = decide_promotion(PromotionConfig(beat_no_training=False), GOOD, BASE)
    assert off.promote and not any("without finetuning" in r for r in off.reasons)


def test_the_no_training_check_needs_its_option_and_can_require_significance():
    with pytest.raises(ValueError, match="beat_no_training needs"):
        decide_promotion(PromotionConfig(), GOOD, BASE)
    gate = PromotionConfig(require_significant=True, compare_to_production=False)
    clear = paired_bootstrap([0.0] * 20, [1.0] * 20, "ndcg@10")
    noisy = paired_bootstrap([0.0, 1.0, 0.0, 1.0], [1.0, 0.0, 1.0, 1.0], "ndcg@10")
    refused = decide(gate, GOOD, BASE, difference=clear,
                     no_training=NoTrainingOption("bm25", FREE.metrics, noisy))
    assert not refused.promote and "gain over bm25" in refused.reasons[-1]
    assert refused.reasons[-1].endswith("includes zero: fail")
    assert decide(gate, GOOD, BASE, difference=clear,
                  no_training=NoTrainingOption("bm25", FREE.metrics, clear)).promote
