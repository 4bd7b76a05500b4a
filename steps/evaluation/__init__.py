"""Stage 4: evaluation and report."""

from steps.evaluation.evaluate_models import evaluate_models

__all__ = ["evaluate_models"]
