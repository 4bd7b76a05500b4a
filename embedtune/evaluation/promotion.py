"""The quality gate: should the model this run trained become the production version?

Pure logic over metrics measured on the same held-out queries, so it is tested without ZenML.
The step around it looks up the current production version, evaluates it on those queries and
moves the stage; this module only decides and explains.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from embedtune.config import PromotionConfig
from embedtune.evaluation.significance import PairedDifference


@dataclass(frozen=True)
class NoTrainingOption:
    """The strongest retrieval that needs no finetuning, on the same test queries."""

    system: str  # e.g. "bm25", "base@windows128", "base@windows128+bm25"
    metrics: dict[str, float]
    difference: PairedDifference | None = None  # shipped minus it, paired bootstrap


class PromotionDecision(BaseModel):
    """The gate's answer and every reason behind it (the ``promotion_decision`` artifact)."""

    model_config = ConfigDict(frozen=True)

    promote: bool
    metric: str
    candidate: float
    base: float
    production: float | None = None
    production_version: str | None = None
    production_reading: str | None = None  # the reading production was evaluated in
    reasons: list[str] = []
    no_training: float | None = None
    no_training_system: str | None = None

    def summary(self) -> str:
        verdict = "PROMOTED to production" if self.promote else "NOT promoted"
        return f"{verdict}: " + "; ".join(self.reasons)


def decide_promotion(
    gate: PromotionConfig,
    candidate: dict[str, float],
    base: dict[str, float],
    difference: PairedDifference | None = None,
    production: dict[str, float] | None = None,
    production_version: str | None = None,
    regression: dict[str, dict[str, dict[str, float]]] | None = None,
    already_production: bool = False,
    no_training: NoTrainingOption | None = None,
) -> PromotionDecision:
    """Apply the gate; every check adds a reason, passed or failed, so the report can say why.

    ``production`` holds the current production version's metrics on the *same* queries (not the
    numbers it logged when it was trained, which came from other queries). ``regression`` maps
    a regression set's name to the base and finetuned metrics on it. ``already_production``: the
    candidate is the production version itself (a cached rerun), so there is no other to beat.
    ``no_training`` is the strongest option that needs no finetuning (``beat_no_training``).
    """
    metric = gate.metric
    if gate.enabled and gate.beat_no_training and no_training is None:
        raise ValueError("promotion.beat_no_training needs the best no-training option's metrics.")
    others = (("candidate", candidate), ("base", base), ("production", production),
              ("no-training", no_training.metrics if no_training else None))
    for name, values in others:
        if values is not None and metric not in values:
            raise ValueError(
                f"promotion.metric '{metric}' is not among the {name} metrics "
                f"({', '.join(sorted(values))}); pick one of those."
            )
    if not gate.enabled:
        return PromotionDecision(promote=False, metric=metric, candidate=candidate[metric],
                                 base=base[metric],
                                 reasons=["promotion gate disabled (promotion.enabled: false)"])
    passed, reasons = True, []
    gain = candidate[metric] - base[metric]
    ok = gain >= gate.min_improvement
    passed &= ok
    reasons.append(
        f"{metric} {candidate[metric]:.3f} vs base read the same way {base[metric]:.3f} ({gain:+.3f}; needs "
        f"{gate.min_improvement:+.3f}): {'pass' if ok else 'fail'}"
    )
    if gate.require_significant:
        if difference is None or difference.metric != metric:
            raise ValueError(f"require_significant needs a bootstrap interval for '{metric}'.")
        ok = difference.significant
        passed &= ok
        reasons.append(
            f"{difference.confidence:.0%} interval of the gain {difference.low:+.3f}..{difference.high:+.3f} "
            f"{'excludes' if ok else 'includes'} zero: {'pass' if ok else 'fail'}"
        )
    no_training_value = None
    if gate.beat_no_training:
        no_training_value = no_training.metrics[metric]
        gain = candidate[metric] - no_training_value
        ok = gain > gate.no_training_margin
        passed &= ok
        reasons.append(
            f"{metric} {candidate[metric]:.3f} vs the best option without finetuning, "
            f"{no_training.system} {no_training_value:.3f} ({gain:+.3f}; needs more than "
            f"{gate.no_training_margin:+.3f}): {'pass' if ok else 'fail'}"
        )
        if gate.require_significant:
            diff = no_training.difference
            if diff is None or diff.metric != metric:
                raise ValueError(f"require_significant needs a bootstrap interval for '{metric}' "
                                 f"against {no_training.system}.")
            passed &= diff.significant
            reasons.append(
                f"{diff.confidence:.0%} interval of the gain over {no_training.system} "
                f"{diff.low:+.3f}..{diff.high:+.3f} {'excludes' if diff.significant else 'includes'} "
                f"zero: {'pass' if diff.significant else 'fail'}"
            )
    for name, systems in (regression or {}).items():
        drop = systems["base"][metric] - systems["finetuned"][metric]
        if gate.max_regression is None:
            reasons.append(f"regression set {name}: {metric} {-drop:+.3f} (report only)")
            continue
        ok = drop <= gate.max_regression
        passed &= ok
        reasons.append(
            f"regression set {name}: {metric} {-drop:+.3f} (may drop {gate.max_regression:.3f}): "
            f"{'pass' if ok else 'fail'}"
        )
    prod_value = None
    if gate.compare_to_production:
        if already_production:
            reasons.append("this version already is the production version")
        elif production is None:
            reasons.append("no production version yet: nothing else to beat")
        else:
            prod_value = production[metric]
            gain = candidate[metric] - prod_value
            ok = gain >= gate.min_improvement
            passed &= ok
            reasons.append(
                f"{metric} {candidate[metric]:.3f} vs production {production_version} "
                f"{prod_value:.3f} ({gain:+.3f}): {'pass' if ok else 'fail'}"
            )
    return PromotionDecision(
        promote=passed, metric=metric, candidate=candidate[metric], base=base[metric],
        production=prod_value, production_version=production_version, reasons=reasons,
        no_training=no_training_value,
        no_training_system=no_training.system if no_training else None)
