"""Contrastive finetuning with MultipleNegativesRankingLoss (MNRL).

MNRL treats every other chunk in the batch as a negative for a query, so a bigger batch gives
more (and harder) negatives for free; ``BatchSamplers.NO_DUPLICATES`` keeps two queries of the
same chunk out of one batch, where each would otherwise be scored as the other's negative.
With ``use_llm_negatives`` the LLM's negative query is added as an explicit hard negative in the
(chunk -> query) direction; it is off by default because small LLMs often write "negatives" that
the chunk does answer, which would teach the model the wrong thing.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any, Sequence

from datasets import Dataset
from sentence_transformers import (
    SentenceTransformer,
    SentenceTransformerTrainer,
    SentenceTransformerTrainingArguments,
)
from sentence_transformers.losses import MultipleNegativesRankingLoss
from sentence_transformers.training_args import BatchSamplers

import constants as C
from embedtune.config import TrainingConfig

logger = logging.getLogger(__name__)


def training_pairs(query_rows: Sequence[dict[str, Any]], use_llm_negatives: bool) -> Dataset:
    """Columns in the order MNRL reads them.

    Pairs: (anchor=query, positive=chunk). With LLM negatives the direction flips to
    (anchor=chunk, positive=query, negative=negative query), the direction in which the LLM's
    negative is a valid contrast; rows without a negative are dropped in that mode.
    """
    if not query_rows:
        raise ValueError("No training queries: generation produced nothing usable to train on.")
    if use_llm_negatives:
        rows = [r for r in query_rows if r[C.NEGATIVE_QUERY]]
        if not rows:
            raise ValueError("use_llm_negatives is on but no query has a negative.")
        return Dataset.from_dict(
            {
                "anchor": [r[C.POSITIVE] for r in rows],
                "positive": [r[C.QUERY] for r in rows],
                "negative": [r[C.NEGATIVE_QUERY] for r in rows],
            }
        )
    return Dataset.from_dict(
        {"anchor": [r[C.QUERY] for r in query_rows], "positive": [r[C.POSITIVE] for r in query_rows]}
    )


def finetune(
    model: SentenceTransformer, query_rows: Sequence[dict[str, Any]], config: TrainingConfig
) -> tuple[SentenceTransformer, dict[str, float]]:
    """Train ``model`` in place on the generated queries; return it and the training stats."""
    dataset = training_pairs(query_rows, config.use_llm_negatives)
    batch_size = min(config.batch_size, len(dataset))
    if batch_size < 2:
        raise ValueError("Need at least 2 training pairs for in-batch negatives.")
    with tempfile.TemporaryDirectory(prefix="embedtune-train-") as scratch:
        args = SentenceTransformerTrainingArguments(
            output_dir=scratch,
            num_train_epochs=config.epochs,
            max_steps=config.max_steps,
            per_device_train_batch_size=batch_size,
            learning_rate=config.learning_rate,
            warmup_steps=config.warmup_ratio,  # a float < 1 is a ratio in Transformers v5
            weight_decay=config.weight_decay,
            batch_sampler=BatchSamplers.NO_DUPLICATES,
            seed=config.seed,
            data_seed=config.seed,
            save_strategy="no",
            report_to="none",
            logging_steps=10,
            use_cpu=True,
        )
        trainer = SentenceTransformerTrainer(
            model=model,
            args=args,
            train_dataset=dataset,
            loss=MultipleNegativesRankingLoss(model),
        )
        output = trainer.train()
    stats = {
        "train_pairs": float(len(dataset)),
        "train_steps": float(output.global_step),
        "train_loss": float(output.training_loss),
        "train_seconds": float(output.metrics.get("train_runtime", 0.0)),
    }
    logger.info(
        "Trained on %d pairs: %d steps, loss %.4f, %.0fs.",
        len(dataset), output.global_step, output.training_loss, stats["train_seconds"],
    )
    return model, stats


def save_model(model: SentenceTransformer, path: Path) -> Path:
    """Save as a sentence-transformers folder (weights, tokenizer, config and model card)."""
    path.mkdir(parents=True, exist_ok=True)
    model.save(str(path))
    return path
