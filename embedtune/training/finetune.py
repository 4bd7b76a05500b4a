"""Contrastive finetuning with MultipleNegativesRankingLoss (MNRL).

MNRL treats every other chunk in the batch as a negative for a query, so a bigger batch gives
more (and harder) negatives for free; ``BatchSamplers.NO_DUPLICATES`` keeps two queries of the
same chunk out of one batch, where each would otherwise be scored as the other's negative.
Mined hard negatives (see ``embedtune.curation``) add one or more chunks per query that look
relevant to the base model but are not: they teach the fine distinctions in-batch negatives,
mostly easy, never do. ``cached_mnrl`` (GradCache) gives large batches in the memory of a small
one, which matters on CPU machines.

``base_weight`` averages the trained weights with the base model's (WiSE-FT, Wortsman et al.
2022): a few hundred synthetic queries move the model toward their own style and topics, and
the average keeps part of the general retrieval skill that plain finetuning wears away.

With ``use_llm_negatives`` a second dataset trains the (chunk -> query) direction with the LLM's
negative query as the hard negative, where curation judged it safe; it is off by default because
small LLMs often write "negatives" that the chunk does answer.

A base model with role prompts (e5, bge, arctic-embed) trains with them: each column's text gets
the prompt of the role it plays (``column_prompts``), as ``encode_query`` and ``encode_document``
will apply them at inference. Training without them would teach the model to do without its
instructions and then serve it with them.
"""

from __future__ import annotations

import copy
import logging
import tempfile
from pathlib import Path
from typing import Any, Sequence

import torch
from datasets import Dataset
from sentence_transformers import (
    SentenceTransformer,
    SentenceTransformerTrainer,
    SentenceTransformerTrainingArguments,
)
from sentence_transformers.losses import (
    CachedGISTEmbedLoss,
    CachedMultipleNegativesRankingLoss,
    GISTEmbedLoss,
    MatryoshkaLoss,
    MultipleNegativesRankingLoss,
)
from sentence_transformers.training_args import BatchSamplers, MultiDatasetBatchSamplers

import constants as C
from embedtune.config import HardnessMode, Loss, LossDirection, TeacherConfig, TrainingConfig
from embedtune.curation.curate import (
    HARD_NEGATIVE_IDS,
    HARD_NEGATIVES,
    KIND,
    SENTENCE,
    SOURCE_QUERY_ID,
)
from embedtune.encoding import DOCUMENT, QUERY, role_prompts
from embedtune.teacher.embeddings import TeacherEmbeddings
from embedtune.training.distillation import LABEL, TeacherGuidedLoss

logger = logging.getLogger(__name__)

QUERY_TO_CHUNK = "query_to_chunk"
SENTENCE_TO_CHUNK = "sentence_to_chunk"
CHUNK_TO_QUERY = "chunk_to_query"


def training_datasets(
    query_rows: Sequence[dict[str, Any]], use_llm_negatives: bool,
    teacher: TeacherEmbeddings | None = None,
) -> dict[str, Dataset]:
    """Columns in the order MNRL reads them: anchor, positive, then negatives.

    ``query_to_chunk``: (query, chunk[, mined negative chunk ...]). Negatives are used only when
    every row has the same number, since MNRL needs a fixed set of columns.
    ``sentence_to_chunk``: the inverse-cloze pairs, one per chunk, in a dataset of their own (a
    batch never mixes them with questions about the same chunk).
    ``chunk_to_query`` (with ``use_llm_negatives``): (chunk, query, LLM negative query), the
    direction in which the LLM's negative is a valid contrast.
    """
    sentences = [r for r in query_rows if r.get(KIND) == SENTENCE]
    query_rows = [r for r in query_rows if r.get(KIND) != SENTENCE]
    if not query_rows:
        raise ValueError("No training queries: generation and curation left nothing to train on.")
    columns: dict[str, list[str]] = {
        "anchor": [r[C.QUERY] for r in query_rows],
        "positive": [r[C.POSITIVE] for r in query_rows],
    }
    counts = {len(r.get(HARD_NEGATIVES) or []) for r in query_rows}
    if len(counts) == 1 and (n := counts.pop()) > 0:
        for j in range(n):
            columns[f"negative_{j + 1}"] = [r[HARD_NEGATIVES][j] for r in query_rows]
    elif len(counts) > 1:
        raise ValueError(f"Rows carry different numbers of hard negatives: {sorted(counts)}.")
    if teacher is not None:
        columns[LABEL] = teacher_labels(query_rows, teacher, len(columns) - 1)
    datasets = {QUERY_TO_CHUNK: Dataset.from_dict(columns)}
    if sentences and teacher is not None:
        raise ValueError("Teacher distillation trains generated questions only: turn "
                         "curation.sentence_pairs off or teacher.distill_weight to 0.")
    if sentences:
        datasets[SENTENCE_TO_CHUNK] = Dataset.from_dict(
            {"anchor": [r[C.QUERY] for r in sentences], "positive": [r[C.POSITIVE] for r in sentences]}
        )
    if use_llm_negatives:
        rows = [r for r in query_rows if r.get(C.NEGATIVE_QUERY)]
        if not rows:
            raise ValueError("use_llm_negatives is on but no query kept an LLM negative.")
        datasets[CHUNK_TO_QUERY] = Dataset.from_dict(
            {
                "anchor": [r[C.POSITIVE] for r in rows],
                "positive": [r[C.QUERY] for r in rows],
                "negative": [r[C.NEGATIVE_QUERY] for r in rows],
            }
        )
    return datasets


def teacher_labels(rows: Sequence[dict[str, Any]], teacher: TeacherEmbeddings,
                   n_chunks: int) -> list[list[int]]:
    """Per row: the teacher's position of its query, then of its positive and each negative.

    A teacher-found extra positive reads its source query's vector; a row the teacher never saw
    (a compound query) is an error naming the row, since its soft targets would be made up.
    """
    labels = []
    for r in rows:
        query_id = r.get(SOURCE_QUERY_ID) or r[C.QUERY_ID]
        if not teacher.has_query(query_id):
            raise ValueError(
                f"Training row {r[C.QUERY_ID]!r} has no teacher vector (only generated questions "
                "have one): turn curation.compound_queries off, or teacher.distill_weight and "
                "margin_mse_weight to 0.")
        chunk_ids = [r[C.CHUNK_ID], *(r.get(HARD_NEGATIVE_IDS) or [])][:n_chunks]
        labels.append([teacher.query_position(query_id),
                       *(teacher.chunk_position(c) for c in chunk_ids)])
    return labels


# Which role each training column plays, per dataset: its text is read with that role's prompt.
# Numbered columns (negative_1, negative_2, ...) play the role of their stem.
COLUMN_ROLES: dict[str, dict[str, str]] = {
    QUERY_TO_CHUNK: {"anchor": QUERY, "positive": DOCUMENT, "negative": DOCUMENT},
    SENTENCE_TO_CHUNK: {"anchor": QUERY, "positive": DOCUMENT, "negative": DOCUMENT},
    CHUNK_TO_QUERY: {"anchor": DOCUMENT, "positive": QUERY, "negative": QUERY},
}


def column_prompts(
    prompts: dict[str, str], datasets: dict[str, Dataset]
) -> dict[str, str] | dict[str, dict[str, str]] | None:
    """The trainer's ``prompts``: each column's text gets the prompt of the role it plays.

    ``prompts`` maps role to prompt (``embedtune.encoding.role_prompts``). A model without
    prompts trains exactly as before (None). One dataset takes a flat column -> prompt mapping,
    several take one mapping per dataset name, as ``SentenceTransformerTrainingArguments`` wants.
    """
    if not any(prompts.values()):
        return None
    per_dataset = {
        name: {
            column: prompts[COLUMN_ROLES[name][column.split("_")[0]]]
            for column in dataset.column_names if column != LABEL
        }
        for name, dataset in datasets.items()
    }
    return next(iter(per_dataset.values())) if len(per_dataset) == 1 else per_dataset


def teacher_loss(model: SentenceTransformer, config: TrainingConfig,
                 teacher: TeacherEmbeddings, teacher_config: TeacherConfig) -> TeacherGuidedLoss:
    """The teacher-guided loss (``embedtune.training.distillation``), which replaces MNRL.

    It encodes the whole batch at once: cached_mnrl's GradCache is not used, so memory grows
    with ``batch_size`` (about 3 GB at 64 texts of 256 tokens for all-MiniLM-L6-v2).
    """
    unsupported = [name for name, on in (
        ("matryoshka_dims", bool(config.matryoshka_dims)),
        ("guided_negatives", config.guided_negatives),
        ("hardness_mode", config.hardness_mode is not None),
        ("loss_directions", config.loss_directions != [LossDirection.query_to_doc]),
        ("use_llm_negatives", config.use_llm_negatives)) if on]
    if unsupported:
        raise ValueError(f"training.{', training.'.join(unsupported)} cannot be combined with the "
                         "teacher's distillation: leave them at their defaults, or set "
                         "teacher.distill_weight and teacher.margin_mse_weight to 0.")
    return TeacherGuidedLoss(
        model, teacher.query_vectors, teacher.chunk_vectors, scale=config.scale,
        distill_weight=teacher_config.distill_weight,
        distill_temperature=teacher_config.distill_temperature,
        margin_mse_weight=teacher_config.margin_mse_weight,
        false_negative_margin=teacher_config.false_negative_margin)


def build_loss(model: SentenceTransformer, config: TrainingConfig):
    """MNRL or its cached (GradCache) variant, optionally wrapped in MatryoshkaLoss.

    ``loss_directions``, ``partition_mode`` and the hardness settings shape the softmax the same
    way for both; the defaults give plain MNRL (query against the batch's chunks, scale 20).
    With ``guided_negatives`` the same softmax becomes GISTEmbed's: a frozen copy of ``model``
    as it is now (the base model, before training) masks the in-batch negatives it rates at
    least as close to the query as the positive.
    """
    if config.guided_negatives:
        loss = _guided_loss(model, config)
    else:
        loss = _mnrl(model, config)
    if config.matryoshka_dims:
        full = model.get_embedding_dimension()
        dims = sorted(set(config.matryoshka_dims) | {full}, reverse=True)
        if dims[0] > full:
            raise ValueError(f"training.matryoshka_dims {dims[0]} exceeds the model's {full} dims.")
        loss = MatryoshkaLoss(model, loss, matryoshka_dims=dims)
    return loss


def _guided_loss(model: SentenceTransformer, config: TrainingConfig):
    guide = copy.deepcopy(model).eval()
    for p in guide.parameters():
        p.requires_grad_(False)
    directions = set(config.loss_directions)
    shape = {
        "temperature": 1.0 / config.scale,
        "margin_strategy": "absolute",
        "margin": config.guide_margin,
        "contrast_anchors": LossDirection.query_to_query in directions,
        "contrast_positives": LossDirection.doc_to_doc in directions,
    }
    if config.loss is Loss.cached_mnrl:
        return CachedGISTEmbedLoss(model, guide, mini_batch_size=config.mini_batch_size,
                                   show_progress_bar=False, **shape)
    return GISTEmbedLoss(model, guide, **shape)


def _mnrl(model: SentenceTransformer, config: TrainingConfig):
    shape = {
        "scale": config.scale,
        "directions": tuple(d.value for d in config.loss_directions),
        "partition_mode": config.partition_mode,
        "hardness_mode": config.hardness_mode.value if config.hardness_mode else None,
        "hardness_strength": config.hardness_strength,
    }
    if config.loss is Loss.cached_mnrl:
        return CachedMultipleNegativesRankingLoss(
            model, mini_batch_size=config.mini_batch_size, show_progress_bar=False, **shape
        )
    return MultipleNegativesRankingLoss(model, **shape)


def interpolate_weights(
    model: SentenceTransformer, base_state: dict[str, torch.Tensor], base_weight: float
) -> None:
    """Set every floating-point weight of ``model`` to ``base_weight * base + (1 - base_weight) * own``.

    ``base_state`` is the state dict the model had before training; both must have the same
    architecture, which holds because training changes values, never shapes. A negative
    ``base_weight`` extrapolates: it moves the weights further along the training direction.
    """
    if not -1 <= base_weight <= 1:
        raise ValueError(f"base_weight must be within [-1, 1], got {base_weight}.")
    state = model.state_dict()
    missing = sorted(set(state) ^ set(base_state))
    if missing:
        raise ValueError(f"Base and finetuned weights differ in their tensors: {missing[:5]}.")
    with torch.no_grad():
        for name, tensor in state.items():
            if tensor.is_floating_point():
                tensor.lerp_(base_state[name].to(tensor.device, tensor.dtype), base_weight)


def finetune(
    model: SentenceTransformer, query_rows: Sequence[dict[str, Any]], config: TrainingConfig,
    teacher: TeacherEmbeddings | None = None, teacher_config: TeacherConfig | None = None,
) -> tuple[SentenceTransformer, dict[str, float]]:
    """Train ``model`` in place on the curated queries; return it and the training stats.

    With ``teacher`` vectors and a ``teacher_config`` that distills, the teacher-guided loss
    replaces MNRL (``embedtune.training.distillation``).
    """
    distill = teacher is not None and teacher_config is not None and teacher_config.distills
    base_state = (
        {k: v.detach().clone() for k, v in model.state_dict().items()}
        if config.base_weight > 0 else None
    )
    datasets = training_datasets(query_rows, config.use_llm_negatives,
                                 teacher if distill else None)
    if config.hardness_mode is HardnessMode.hard_negatives and not any(
        len(d.column_names) > 2 for d in datasets.values()
    ):
        raise ValueError(
            "training.hardness_mode hard_negatives weights explicit negatives, but no training "
            "row has one: enable curation.hard_negatives or training.use_llm_negatives, or use "
            "in_batch_negatives."
        )
    n_pairs = sum(len(d) for d in datasets.values())
    batch_size = min(config.batch_size, min(len(d) for d in datasets.values()))
    if batch_size < 2:
        raise ValueError("Need at least 2 training pairs for in-batch negatives.")
    train_dataset: Dataset | dict[str, Dataset] = (
        datasets[QUERY_TO_CHUNK] if len(datasets) == 1 else datasets
    )
    roles = role_prompts(model)
    prompts = column_prompts(roles, datasets)
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
            multi_dataset_batch_sampler=MultiDatasetBatchSamplers.PROPORTIONAL,
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
            train_dataset=train_dataset,
            loss=(teacher_loss(model, config, teacher, teacher_config) if distill
                  else build_loss(model, config)),
        )
        try:
            output = trainer.train()
        finally:
            model.max_seq_length = full_length
    if base_state is not None:
        interpolate_weights(model, base_state, config.base_weight)
    stats = {
        "train_pairs": float(n_pairs),
        "train_hard_negatives": float(len([c for c in datasets[QUERY_TO_CHUNK].column_names
                                           if c.startswith("negative")])),
        "teacher_distillation": float(distill),
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
