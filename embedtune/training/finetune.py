"""Contrastive finetuning with MultipleNegativesRankingLoss (MNRL).

MNRL treats every other chunk in the batch as a negative for a query, so a bigger batch gives
more (and harder) negatives for free; ``BatchSamplers.NO_DUPLICATES`` keeps two queries of the
same chunk out of one batch, where each would otherwise be scored as the other's negative.
Mined hard negatives (see ``embedtune.curation``) add one or more chunks per query that look
relevant to the base model but are not: they teach the fine distinctions in-batch negatives,
mostly easy, never do. ``cached_mnrl`` (GradCache) gives large batches in the memory of a small
one, which matters on CPU machines.

A base model with role prompts (e5, bge, arctic-embed) trains with them: each column's text gets
the prompt of the role it plays (``column_prompts``), as ``encode_query`` and ``encode_document``
will apply them at inference. Training without them would teach the model to do without its
instructions and then serve it with them.
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
from sentence_transformers.losses import (
    CachedMultipleNegativesRankingLoss,
    MatryoshkaLoss,
    MultipleNegativesRankingLoss,
)
from sentence_transformers.training_args import BatchSamplers

from embedtune import schema
from embedtune.config import Loss, TrainingConfig
from embedtune.encoding import DOCUMENT, QUERY, role_prompts

logger = logging.getLogger(__name__)

def training_dataset(query_rows: Sequence[dict[str, Any]]) -> Dataset:
    """(query, chunk[, mined negative chunk ...]) columns, in the order MNRL reads them.

    Negatives are used only when every row has the same number, since MNRL needs a fixed set of
    columns.
    """
    if not query_rows:
        raise ValueError("No training queries: generation and curation left nothing to train on.")
    columns: dict[str, list[str]] = {
        "anchor": [r[schema.QUERY] for r in query_rows],
        "positive": [r[schema.POSITIVE] for r in query_rows],
    }
    counts = {len(r.get(schema.HARD_NEGATIVES) or []) for r in query_rows}
    if len(counts) == 1 and (n := counts.pop()) > 0:
        for j in range(n):
            columns[f"negative_{j + 1}"] = [r[schema.HARD_NEGATIVES][j] for r in query_rows]
    elif len(counts) > 1:
        raise ValueError(f"Rows carry different numbers of hard negatives: {sorted(counts)}.")
    return Dataset.from_dict(columns)


# The role each training column plays: its text is read with that role's prompt. Numbered
# columns (negative_1, negative_2, ...) play the role of their stem.
COLUMN_ROLES: dict[str, str] = {"anchor": QUERY, "positive": DOCUMENT, "negative": DOCUMENT}


def column_prompts(prompts: dict[str, str], dataset: Dataset) -> dict[str, str] | None:
    """The trainer's ``prompts``: each column's text gets the prompt of the role it plays.

    ``prompts`` maps role to prompt (``embedtune.encoding.role_prompts``). A model without
    prompts trains exactly as before (None).
    """
    if not any(prompts.values()):
        return None
    return {column: prompts[COLUMN_ROLES[column.split("_")[0]]] for column in dataset.column_names}


def build_loss(model: SentenceTransformer, config: TrainingConfig):
    """MNRL or its cached (GradCache) variant, optionally wrapped in MatryoshkaLoss."""
    if config.loss is Loss.cached_mnrl:
        loss = CachedMultipleNegativesRankingLoss(
            model, scale=config.scale, mini_batch_size=config.mini_batch_size,
            show_progress_bar=False)
    else:
        loss = MultipleNegativesRankingLoss(model, scale=config.scale)
    if config.matryoshka_dims:
        full = model.get_embedding_dimension()
        dims = sorted(set(config.matryoshka_dims) | {full}, reverse=True)
        if dims[0] > full:
            raise ValueError(f"training.matryoshka_dims {dims[0]} exceeds the model's {full} dims.")
        loss = MatryoshkaLoss(model, loss, matryoshka_dims=dims)
    return loss


def finetune(
    model: SentenceTransformer, query_rows: Sequence[dict[str, Any]], config: TrainingConfig,
) -> tuple[SentenceTransformer, dict[str, float]]:
    """Train ``model`` in place on the curated queries; return it and the training stats."""
    dataset = training_dataset(query_rows)
    n_pairs = len(dataset)
    batch_size = min(config.batch_size, n_pairs)
    if batch_size < 2:
        raise ValueError("Need at least 2 training pairs for in-batch negatives.")
    roles = role_prompts(model)
    prompts = column_prompts(roles, dataset)
    if prompts:
        logger.info("Training with the model's prompts: %s", roles)
    full_length = model.max_seq_length
    model.max_seq_length = config.train_max_seq_length or full_length
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
            use_cpu=model.device.type == "cpu",  # the device the step loaded the model on
            prompts=prompts,
        )
        trainer = SentenceTransformerTrainer(
            model=model,
            args=args,
            train_dataset=dataset,
            loss=build_loss(model, config),
        )
        try:
            output = trainer.train()
        finally:
            model.max_seq_length = full_length
    stats = {
        "train_pairs": float(n_pairs),
        "train_hard_negatives": float(len([c for c in dataset.column_names
                                           if c.startswith("negative")])),
        "train_steps": float(output.global_step),
        "train_loss": float(output.training_loss),
        "train_seconds": float(output.metrics.get("train_runtime", 0.0)),
    }
    logger.info(
        "Trained on %d pairs (%d hard negatives each): %d steps, loss %.4f, %.0fs.",
        n_pairs, stats["train_hard_negatives"], output.global_step, output.training_loss,
        stats["train_seconds"],
    )
    return model, stats


def save_model(model: SentenceTransformer, path: Path) -> Path:
    """Save as a sentence-transformers folder (weights, tokenizer, config and model card)."""
    path.mkdir(parents=True, exist_ok=True)
    model.save(str(path))
    return path
