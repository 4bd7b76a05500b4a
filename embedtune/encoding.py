"""Embed each side of retrieval the way the model was trained to read it.

Many retrieval models put an instruction before a text that depends on its role: e5 reads
``"query: "`` before a question and ``"passage: "`` before a passage, bge-en-v1.5 and
arctic-embed prefix only queries, nomic-embed names both. sentence-transformers keeps these in
the model's ``prompts`` and applies them in ``encode_query`` / ``encode_document``. Encoding
both sides with plain ``encode`` would score pairs the model never saw: the base model looks
worse than it is, curation filters by the wrong scores, and training teaches the model to work
without its instructions, which is not how a team will serve it. all-MiniLM-L6-v2 has no
prompts, so for it every function here is plain ``encode``.

Curation, evaluation, review features and training all go through this module, so that a
model's queries and chunks are read the same way at every stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

Embed = Callable[[list[str]], np.ndarray]
"""Texts -> L2-normalised embeddings (one row per text)."""

QUERY = "query"
DOCUMENT = "document"
# The prompt names encode_document looks for, in its order (sentence-transformers 6).
DOCUMENT_PROMPT_NAMES = ("document", "passage", "corpus")


@dataclass(frozen=True)
class Encoder:
    """How to embed queries and how to embed chunks: the two sides of retrieval."""

    queries: Embed
    chunks: Embed

    @classmethod
    def symmetric(cls, embed: Embed) -> "Encoder":
        """Both sides embedded alike (a model without role prompts, or a test's fixed vectors)."""
        return cls(queries=embed, chunks=embed)


def encoder(model: Any, batch_size: int = 64, show_progress_bar: bool = False) -> Encoder:
    """An :class:`Encoder` over a SentenceTransformer, with its query and document prompts."""
    options = {"batch_size": batch_size, "convert_to_numpy": True, "normalize_embeddings": True,
               "show_progress_bar": show_progress_bar}

    def queries(texts: list[str]) -> np.ndarray:
        return model.encode_query(texts, **options)

    def chunks(texts: list[str]) -> np.ndarray:
        return model.encode_document(texts, **options)

    return Encoder(queries=queries, chunks=chunks)


def role_prompts(model: Any) -> dict[str, str]:
    """The prompt the model puts before a query and before a document ("" where it has none).

    The same lookup as ``encode_query`` (the ``query`` prompt) and ``encode_document`` (the first
    of ``document``, ``passage``, ``corpus``), so that training uses what inference will.
    """
    prompts = getattr(model, "prompts", None) or {}
    document = next((prompts[name] for name in DOCUMENT_PROMPT_NAMES if name in prompts), "")
    return {QUERY: prompts.get(QUERY, ""), DOCUMENT: document}
