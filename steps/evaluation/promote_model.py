import logging
from typing import Annotated, Any

from datasets import Dataset
from zenml import get_step_context, log_metadata, step
from zenml.client import Client
from zenml.enums import ModelStages

import constants as C
from embedtune.config import EvaluationConfig, PromotionConfig
from embedtune.evaluation.compare import BASE, FINETUNED, evaluate_systems
from embedtune.evaluation.promotion import decide_promotion
from embedtune.evaluation.significance import PairedDifference

logger = logging.getLogger(__name__)


@step(enable_cache=False)
def promote_model(
    evaluation_result: dict[str, Any],
    test_queries: Dataset,
    chunks: Dataset,
    evaluation: EvaluationConfig,
    promotion: PromotionConfig,
) -> Annotated[dict[str, Any], C.PROMOTION_ARTIFACT]:
    """Make this run's model version the production one if it passes the gate.

    Never cached: the answer depends on which version is production now, which changes outside
    this run. The current production model is evaluated on this run's held-out queries, since the
    metrics it logged when it was trained came from other queries.
    """
    current = get_step_context().model
    metric = promotion.metric
    production, production_name, already_production = None, None, False
    if promotion.enabled and promotion.compare_to_production:
        try:
            prod = Client().get_model_version(current.name, ModelStages.PRODUCTION)
        except KeyError:
            prod = None
        already_production = prod is not None and prod.name == current.version
        if prod is not None and not already_production:
            production_name = prod.name
            model = prod.get_model_artifact(C.FINETUNED_MODEL_ARTIFACT).load()
            kept = {q["query_id"] for q in evaluation_result["per_query"]}
            rows = [r for r in test_queries.to_list() if r[C.QUERY_ID] in kept]
            results = evaluate_systems(
                [r[C.QUERY] for r in rows], [{r[C.CHUNK_ID]} for r in rows],
                chunks[C.CHUNK_ID], chunks[C.TEXT], {"production": model},
                evaluation.model_copy(update={"bm25": False}),
            )
            production = results["production"].metrics
    difference = evaluation_result["differences"].get(f"{FINETUNED}_vs_{BASE}", {}).get(metric)
    decision = decide_promotion(
        promotion,
        evaluation_result["metrics"][FINETUNED],
        evaluation_result["metrics"][BASE],
        PairedDifference(**{k: v for k, v in difference.items() if k != "significant"})
        if difference else None,
        production,
        production_name,
        {name: reg["metrics"] for name, reg in evaluation_result.get("regression", {}).items()},
        already_production,
    )
    if decision.promote:
        current.set_stage(ModelStages.PRODUCTION, force=True)
    logger.info("Model version %s %s", current.version, decision.summary())
    log_metadata({"promotion": decision.as_dict()}, infer_model=True)
    return decision.as_dict()
