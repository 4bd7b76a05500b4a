"""Load the configured teacher, reading through the embedding cache.

The teacher is any sentence-transformers model; by default the bundled EmbeddingGemma-300M
(``embedtune.bundled.teacher``). Its prompts are the model's own unless the config names
others, so a team can plug in e5 or bge with their instructions. The cache identity is the
weights' checksum for the bundled model and the resolved path or hub name otherwise.
"""

from __future__ import annotations

from pathlib import Path

from sentence_transformers import SentenceTransformer

from embedtune.config import TeacherConfig
from embedtune.encoding import DOCUMENT_PROMPT_NAMES, QUERY
from embedtune.bundled.files import cache_dir
from embedtune.bundled.teacher import BUNDLED, WEIGHTS_SHA256
from embedtune.teacher.cache import CachingModel, EmbeddingCache
from embedtune.models import resolve_model_path

CACHE_FILE = "teacher-embeddings.sqlite"


def teacher_path(config: TeacherConfig) -> str:
    """The teacher's folder (assembling the bundled one on first use) or hub name."""
    return resolve_model_path(config.model)


def load_teacher(config: TeacherConfig, cache_path: Path | None = None) -> CachingModel:
    """The teacher on CPU in fp32, with its prompts and length set, behind the embedding cache."""
    path = teacher_path(config)
    model = SentenceTransformer(path, device="cpu")
    model.max_seq_length = config.max_seq_length
    prompts = dict(model.prompts or {})
    if config.query_prompt is not None:
        prompts[QUERY] = config.query_prompt
    if config.document_prompt is not None:
        for name in DOCUMENT_PROMPT_NAMES:
            prompts.pop(name, None)
        prompts[DOCUMENT_PROMPT_NAMES[0]] = config.document_prompt
    model.prompts = prompts
    identity = WEIGHTS_SHA256 if config.model == BUNDLED else path
    cache = EmbeddingCache(cache_path or config.embedding_cache or cache_dir() / CACHE_FILE)
    return CachingModel(model, cache, identity)
