"""Vectors of a corpus under one or more readings, and the chunk scores they give a query.

``encode_corpus`` embeds each chunk once and each window size's windows once, with their parent
chunk; every reading is then a cheap combination of those vectors (``chunk_scores``), so the
evaluation scores all candidate readings, on validation and test queries, from one encoding per
model. ``ParentRetriever`` is the same thing for serving: it indexes a corpus in the shipped
reading (``retrieval.json``), searches it, and returns each parent chunk once with its score,
ranked exactly as the evaluation ranked it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from embedtune.encoding import encoder
from embedtune.retrieval.reading import Reading
from embedtune.retrieval.windows import token_windows


@dataclass
class WindowVectors:
    """All windows of one size: their vectors, and which chunk each belongs to.

    Windows of a chunk are contiguous and chunks are in corpus order, so ``starts`` (the first
    window of every chunk) lets numpy take each chunk's best window in one ``reduceat``.
    """

    vectors: np.ndarray  # (n_windows, dim), L2-normalised
    parents: np.ndarray  # (n_windows,) chunk index of each window
    starts: np.ndarray  # (n_chunks,) index of each chunk's first window
    stride_tokens: int
    seconds: float = 0.0
    texts: list[str] = field(default_factory=list)  # each window's text, for showing a hit

    @property
    def per_chunk(self) -> float:
        return len(self.parents) / max(len(self.starts), 1)


@dataclass
class EncodedCorpus:
    chunk_ids: list[str]
    chunk_vectors: np.ndarray | None  # (n_chunks, dim), one vector per chunk
    chunk_seconds: float = 0.0
    windows: dict[int, WindowVectors] = field(default_factory=dict)  # window_tokens -> vectors

    def cost(self, reading: Reading) -> dict[str, float]:
        """Vectors stored per chunk and seconds spent encoding them, for one reading."""
        vectors, seconds = 0.0, 0.0
        if reading.uses_chunk_vector:
            vectors, seconds = vectors + 1, seconds + self.chunk_seconds
        if reading.uses_windows:
            w = self.windows[reading.window_tokens]
            vectors, seconds = vectors + w.per_chunk, seconds + w.seconds
        return {"vectors_per_chunk": round(vectors, 2), "encode_seconds": round(seconds, 2)}


def _encode_documents(model: Any, texts: list[str], batch_size: int, max_seq_length: int,
                      show_progress_bar: bool) -> np.ndarray:
    """Chunk-side texts as ``embedtune.encoding`` reads them (the model's document prompt), at a
    given sequence length; the model's own length is restored afterwards."""
    previous = model.max_seq_length
    model.max_seq_length = max_seq_length
    try:
        return encoder(model, batch_size, show_progress_bar).chunks(texts)
    finally:
        model.max_seq_length = previous


def encode_corpus(
    model: Any,
    chunk_ids: Sequence[str],
    texts: Sequence[str],
    readings: Sequence[Reading],
    batch_size: int = 64,
    show_progress_bar: bool = False,
) -> EncodedCorpus:
    """Encode what ``readings`` need: the chunks once, and each window size's windows once.

    A window reads ``window_tokens`` inputs; the whole chunk reads the model's ``max_seq_length``.
    """
    if len(chunk_ids) != len(texts):
        raise ValueError("chunk_ids and texts must have the same length")
    if not texts:
        raise ValueError("No chunks to index.")
    texts = list(texts)
    encoded = EncodedCorpus(list(chunk_ids), None)
    if any(r.uses_chunk_vector for r in readings):
        started = time.monotonic()
        encoded.chunk_vectors = _encode_documents(model, texts, batch_size, model.max_seq_length,
                                                  show_progress_bar)
        encoded.chunk_seconds = time.monotonic() - started
    for reading in readings:
        if not reading.uses_windows or reading.window_tokens in encoded.windows:
            continue
        size = min(reading.window_tokens, model.max_seq_length)
        started = time.monotonic()
        pieces, parents, starts = [], [], []
        for index, text in enumerate(texts):
            cut = token_windows(model.tokenizer, text, size, reading.stride_tokens)
            starts.append(len(pieces))
            pieces += cut
            parents += [index] * len(cut)
        vectors = _encode_documents(model, pieces, batch_size, size, show_progress_bar)
        encoded.windows[reading.window_tokens] = WindowVectors(
            vectors, np.asarray(parents), np.asarray(starts), reading.stride_tokens,
            time.monotonic() - started, pieces)
    return encoded


def chunk_scores(query_vectors: np.ndarray, corpus: EncodedCorpus, reading: Reading) -> np.ndarray:
    """(queries x chunks) scores of every chunk under ``reading``.

    ``chunk``: cosine with the chunk's vector; ``windows``: the best window's cosine;
    ``chunk+windows``: their sum.
    """
    scores = np.zeros((len(query_vectors), len(corpus.chunk_ids)), dtype=np.float32)
    if reading.uses_chunk_vector:
        if corpus.chunk_vectors is None:
            raise ValueError("The corpus was encoded without chunk vectors.")
        scores += query_vectors @ corpus.chunk_vectors.T
    if reading.uses_windows:
        windows = corpus.windows.get(reading.window_tokens)
        if windows is None:
            raise ValueError(f"The corpus was encoded without {reading.window_tokens}-token windows.")
        scores += np.maximum.reduceat(query_vectors @ windows.vectors.T, windows.starts, axis=1)
    return scores


def encode_queries(model: Any, queries: Sequence[str], batch_size: int = 64) -> np.ndarray:
    """Queries with the model's query prompt, L2-normalised."""
    return encoder(model, batch_size).queries(list(queries))


@dataclass(frozen=True)
class Hit:
    chunk_id: str
    score: float
    text: str | None = None


RETRIEVAL_FILE = "retrieval.json"


@dataclass(frozen=True)
class RetrievalSpec:
    """What ``retrieval.json`` says: which model to load and how it reads chunks."""

    model: str  # a sentence-transformers folder, relative to the spec file or absolute
    reading: Reading
    max_seq_length: int
    extra: dict[str, Any] = field(default_factory=dict)  # provenance: scores, version, ...

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model, "reading": self.reading.kind.value,
                "window_tokens": self.reading.window_tokens,
                "stride_tokens": self.reading.stride_tokens,
                "aggregation": self.reading.aggregation,
                "max_seq_length": self.max_seq_length, **self.extra}

    def write(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.as_dict(), indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def read(cls, path: str | Path) -> "RetrievalSpec":
        """Read ``retrieval.json``; a relative ``model`` is resolved against its folder."""
        path = Path(path)
        if path.is_dir():
            path = path / RETRIEVAL_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FileNotFoundError(f"No {RETRIEVAL_FILE} at {path}; the pipeline writes it beside "
                                    "the exported model (output_dir).") from None
        missing = [k for k in ("model", "reading", "max_seq_length") if k not in data]
        if missing:
            raise ValueError(f"{path} lacks {', '.join(missing)}.")
        reading = Reading(kind=data.pop("reading"), window_tokens=data.pop("window_tokens", None),
                          stride_tokens=data.pop("stride_tokens", None))
        data.pop("aggregation", None)
        model = data.pop("model")
        if not Path(model).is_absolute() and (path.parent / model).exists():
            model = str(path.parent / model)
        return cls(model=model, reading=reading, max_seq_length=data.pop("max_seq_length"),
                   extra=data)


class ParentRetriever:
    """Search a corpus in one reading and get each parent chunk back once, best first.

        retriever = ParentRetriever.from_spec("outputs/default/retrieval.json")
        retriever.index(chunk_ids, chunk_texts)
        retriever.search("What does Lyft's revenue depend on?", top_k=5)

    In a windowed reading the index holds one vector per window with its parent's id; a query's
    window hits are folded into their parents (best window, plus the chunk's own vector in
    ``chunk+windows``), so a parent appears once, with the score the evaluation ranked it by.
    """

    def __init__(self, model: Any, reading: Reading, batch_size: int = 64):
        self.model, self.reading, self.batch_size = model, reading, batch_size
        self._corpus: EncodedCorpus | None = None
        self._texts: list[str] = []

    @classmethod
    def from_spec(cls, spec: RetrievalSpec | str | Path, device: str = "cpu") -> "ParentRetriever":
        from sentence_transformers import SentenceTransformer

        if not isinstance(spec, RetrievalSpec):
            spec = RetrievalSpec.read(spec)
        model = SentenceTransformer(spec.model, device=device)
        model.max_seq_length = spec.max_seq_length
        return cls(model, spec.reading)

    def index(self, chunk_ids: Sequence[str], texts: Sequence[str]) -> None:
        if len(set(chunk_ids)) != len(chunk_ids):
            raise ValueError("chunk ids must be unique: each parent is returned once by its id")
        self._corpus = encode_corpus(self.model, chunk_ids, texts, [self.reading], self.batch_size)
        self._texts = list(texts)

    @property
    def n_vectors(self) -> int:
        if self._corpus is None:
            return 0
        n = len(self._corpus.chunk_ids) if self.reading.uses_chunk_vector else 0
        if self.reading.uses_windows:
            n += len(self._corpus.windows[self.reading.window_tokens].parents)
        return n

    def scores(self, queries: Sequence[str]) -> np.ndarray:
        """(queries x chunks) scores, the matrix the evaluation ranks."""
        if self._corpus is None:
            raise RuntimeError("Nothing indexed yet: call index(chunk_ids, texts) first.")
        return chunk_scores(encode_queries(self.model, queries, self.batch_size), self._corpus,
                            self.reading)

    def search(self, query: str | Sequence[str], top_k: int = 10) -> list[Hit] | list[list[Hit]]:
        """The ``top_k`` parent chunks for a query (a list of lists for several queries)."""
        single = isinstance(query, str)
        matrix = self.scores([query] if single else list(query))
        hits = [[Hit(self._corpus.chunk_ids[j], float(row[j]), self._texts[j])
                 for j in top_k_indices(row, top_k)] for row in matrix]
        return hits[0] if single else hits


def top_k_indices(scores: np.ndarray, k: int) -> list[int]:
    """Indexes of the ``k`` highest scores, best first; ties keep corpus order."""
    k = min(k, len(scores))
    return [int(i) for i in np.argsort(-scores, kind="stable")[:k]]
