"""Stage 3: finetuning."""

from steps.training.finetune_model import finetune_model

__all__ = ["finetune_model"]
