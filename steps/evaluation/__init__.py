"""Stage 4: evaluation, the promotion gate and the report."""

from steps.evaluation.evaluate_models import evaluate_models
from steps.evaluation.promote_model import promote_model
from steps.evaluation.write_report import write_report

__all__ = ["evaluate_models", "promote_model", "write_report"]
