import logging
from typing import Annotated, Any

from datasets import Dataset
from zenml import get_step_context, log_metadata, step
from zenml.client import Client
from zenml.enums import ModelStages

import constants as C
from embedtune import schema
from embedtune.config import EvaluationConfig, PromotionConfig
from embedtune.evaluation.compare import evaluate_systems
from embedtune.evaluation.comparison import Comparison
from embedtune.evaluation.promotion import NoTrainingOption, PromotionDecision, decide_promotion
from embedtune.evaluation.significance import PairedDifference
from embedtune.retrieval.reading import CHUNK, Reading

logger = logging.getLogger(__name__)


def _difference(evaluation_result: Comparison, other: str, metric: str) -> PairedDifference | None:
    key = f"{evaluation_result.candidate}_vs_{other}"
    values = evaluation_result.differences.get(key, {}).get(metric)
    return PairedDifference(**{k: v for k, v in values.items() if k != "significant"}) if values else None


def production_reading(metadata: dict[str, Any]) -> Reading:
    """The reading a model version was shipped in, from its metadata. Versions trained before
    readings existed logged none: they were served one vector per chunk."""
    retrieval = metadata.get("retrieval")
    if not isinstance(retrieval, dict):
        return CHUNK
    return Reading(**{k: retrieval.get(k) for k in ("kind", "window_tokens", "stride_tokens")})


@step(enable_cache=False)
def promote_model(
    evaluation_result: Comparison,
    evaluated_test_queries: Dataset,
    chunks: Dataset,
    evaluation: EvaluationConfig,
    promotion: PromotionConfig,
) -> Annotated[PromotionDecision, C.PROMOTION_ARTIFACT]:
    """Make this run's model version the production one if it passes the gate.

    Never cached: the answer depends on which version is production now, which changes outside
    this run. The current production model is evaluated on this run's held-out queries, in the
    reading it was shipped with, since the metrics it logged when it was trained came from other
    queries.
    """
    current = get_step_context().model
    metric = promotion.metric
    candidate, baseline = evaluation_result.candidate, evaluation_result.baseline
    production, production_name, already_production = None, None, False
    production_reading_name = None
    if promotion.enabled and promotion.compare_to_production:
        try:
            prod = Client().get_model_version(current.name, ModelStages.PRODUCTION)
        except KeyError:
            prod = None
        already_production = prod is not None and prod.name == current.version
        if prod is not None and not already_production:
            production_name = prod.name
            model = prod.get_model_artifact(C.FINETUNED_MODEL_ARTIFACT).load()
            reading = production_reading(prod.run_metadata)
            results = evaluate_systems(
                evaluated_test_queries[schema.QUERY],
                [{c} for c in evaluated_test_queries[schema.CHUNK_ID]],
                chunks[schema.CHUNK_ID], chunks[schema.TEXT], {"production": model},
                evaluation.model_copy(update={"bm25": False}), reading=reading,
            )
            production = results["production"].metrics
            production_reading_name = reading.name
    best = evaluation_result.no_training.get("best")
    no_training = (NoTrainingOption(best, evaluation_result.metrics[best],
                                    _difference(evaluation_result, best, metric))
                   if best else None)
    decision = decide_promotion(
        promotion,
        evaluation_result.metrics[candidate],
        evaluation_result.metrics[baseline],
        _difference(evaluation_result, baseline, metric),
        production,
        production_name,
        {name: reg["metrics"] for name, reg in evaluation_result.regression.items()},
        already_production,
        no_training,
    )
    if decision.promote:
        current.set_stage(ModelStages.PRODUCTION, force=True)
    logger.info("Model version %s %s", current.version, decision.summary())
    decision = decision.model_copy(update={"production_reading": production_reading_name})
    log_metadata({"promotion": decision.model_dump(mode="json")}, infer_model=True)
    return decision
