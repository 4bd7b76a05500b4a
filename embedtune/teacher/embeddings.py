"""The teacher's vectors of the training queries and chunks: what curation reads.

Vectors, not a score matrix: (queries + chunks) x dim grows linearly with the corpus, while any
(query, chunk) score the curation rules need is one dot product away.
The step that computes them is its own ZenML step, so a change to curation or training reuses
the artifact instead of running the teacher again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from embedtune import schema
from embedtune.encoding import encoder


@dataclass
class TeacherEmbeddings:
    """L2-normalised teacher vectors of queries and chunks, with their ids."""

    model: str
    query_ids: list[str]
    query_vectors: np.ndarray  # (n_queries, dim)
    chunk_ids: list[str]
    chunk_vectors: np.ndarray  # (n_chunks, dim)
    seconds: float = 0.0

    def __post_init__(self) -> None:
        if len(self.query_ids) != len(self.query_vectors) or len(self.chunk_ids) != len(self.chunk_vectors):
            raise ValueError("TeacherEmbeddings: ids and vectors differ in length")
        self._queries = {q: i for i, q in enumerate(self.query_ids)}
        self._chunks = {c: i for i, c in enumerate(self.chunk_ids)}

    def query_position(self, query_id: str) -> int:
        try:
            return self._queries[query_id]
        except KeyError:
            raise KeyError(f"Query {query_id!r} has no teacher vector; the teacher step embeds "
                           "the generated training queries only.") from None

    def chunk_position(self, chunk_id: str) -> int:
        try:
            return self._chunks[chunk_id]
        except KeyError:
            raise KeyError(f"Chunk {chunk_id!r} has no teacher vector; the teacher step embeds "
                           "the training chunks only.") from None

    def has_query(self, query_id: str) -> bool:
        return query_id in self._queries

    def scores(self, query_ids: Sequence[str], chunk_ids: Sequence[str]) -> np.ndarray:
        """(queries x chunks) teacher cosines."""
        q = self.query_vectors[[self.query_position(i) for i in query_ids]]
        c = self.chunk_vectors[[self.chunk_position(i) for i in chunk_ids]]
        return q @ c.T


def embed_training_side(
    teacher: Any, query_rows: Sequence[dict[str, Any]], chunk_ids: Sequence[str],
    chunk_texts: Sequence[str], model_name: str, batch_size: int = 8,
) -> TeacherEmbeddings:
    """The teacher's vectors of every generated training query and every training chunk."""
    started = time.monotonic()
    enc = encoder(teacher, batch_size)
    chunk_vectors = enc.chunks(list(chunk_texts))
    query_vectors = enc.queries([r[schema.QUERY] for r in query_rows])
    return TeacherEmbeddings(model_name, [r[schema.QUERY_ID] for r in query_rows],
                             np.asarray(query_vectors, np.float32), list(chunk_ids),
                             np.asarray(chunk_vectors, np.float32), time.monotonic() - started)
