import pytest

from embedtune.config import PromotionConfig
from embedtune.evaluation.promotion import decide_promotion
from embedtune.evaluation.significance import paired_bootstrap

BASE = {"ndcg@10": 0.60, "mrr@10": 0.50}
GOOD = {"ndcg@10": 0.70, "mrr@10": 0.55}


def test_promotes_when_the_gain_over_base_meets_the_margin_and_there_is_no_production():
    d = decide_promotion(PromotionConfig(min_improvement=0.05), GOOD, BASE)
    assert d.promote and d.production is None
    assert d.reasons == [
        "ndcg@10 0.700 vs base 0.600 (+0.100; needs +0.050): pass",
        "no production version yet: nothing else to beat",
    ]


def test_too_small_a_gain_over_base_is_refused_and_says_so():
    d = decide_promotion(PromotionConfig(min_improvement=0.2), GOOD, BASE)
    assert not d.promote and d.reasons[0].endswith("fail")


def test_must_also_beat_production_on_the_same_queries():
    gate = PromotionConfig(min_improvement=0.01)
    worse = decide_promotion(gate, GOOD, BASE, production={"ndcg@10": 0.72}, production_version="v1")
    assert not worse.promote and worse.production == 0.72
    assert worse.reasons[-1] == "ndcg@10 0.700 vs production v1 0.720 (-0.020): fail"
    better = decide_promotion(gate, GOOD, BASE, production={"ndcg@10": 0.65}, production_version="v1")
    assert better.promote
    ignored = decide_promotion(PromotionConfig(compare_to_production=False), GOOD, BASE,
                               production={"ndcg@10": 0.99})
    assert ignored.promote and ignored.production is None


def test_significance_requirement_uses_the_bootstrap_interval():
    gate = PromotionConfig(require_significant=True, compare_to_production=False)
    noisy = paired_bootstrap([0.0, 1.0, 0.0, 1.0], [1.0, 0.0, 1.0, 1.0], "ndcg@10")
    d = decide_promotion(gate, GOOD, BASE, difference=noisy)
    assert not d.promote and "includes zero: fail" in d.reasons[-1]
    clear = paired_bootstrap([0.0] * 20, [1.0] * 20, "ndcg@10")
    assert decide_promotion(gate, GOOD, BASE, difference=clear).promote
    with pytest.raises(ValueError, match="needs a bootstrap interval"):
        decide_promotion(gate, GOOD, BASE)


def test_disabled_gate_never_promotes_and_unknown_metric_is_a_clear_error():
    assert not decide_promotion(PromotionConfig(enabled=False), GOOD, BASE).promote
    with pytest.raises(ValueError, match="promotion.metric 'map@10' is not among"):
        decide_promotion(PromotionConfig(metric="map@10"), GOOD, BASE)


def test_regression_sets_are_reported_and_gate_only_with_a_limit():
    regression = {"general": {"base": {"ndcg@10": 0.50}, "finetuned": {"ndcg@10": 0.45}}}
    gate = PromotionConfig(compare_to_production=False)
    reported = decide_promotion(gate, GOOD, BASE, regression=regression)
    assert reported.promote and "regression set general: ndcg@10 -0.050 (report only)" in reported.reasons
    strict = decide_promotion(PromotionConfig(compare_to_production=False, max_regression=0.02),
                              GOOD, BASE, regression=regression)
    assert not strict.promote and strict.reasons[-1].endswith("(may drop 0.020): fail")


def test_a_cached_rerun_of_the_production_version_is_not_compared_with_itself():
    d = decide_promotion(PromotionConfig(), GOOD, BASE, already_production=True)
    assert d.promote and d.reasons[-1] == "this version already is the production version"
