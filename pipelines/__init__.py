"""Pipelines: compositions of steps, nothing else."""

from pipelines.embedding_finetuning import embedding_finetuning

__all__ = ["embedding_finetuning"]
