"""How a chunk is read into vectors, and how those vectors score it against a query.

A chunk can be longer than what the embedding model reads well: all-MiniLM-L6-v2 was trained
on inputs of at most 128 tokens and stops reading at 512. Three readings are offered:

- ``chunk``: one vector per chunk (its first ``max_seq_length`` tokens); the chunk's score is
  its cosine with the query. Cheapest to store and serve.
- ``windows``: the chunk cut into overlapping windows of ``window_tokens`` tokens; the chunk
  scores as its best window (MaxP, Dai and Callan 2019). This is "small-to-big" or
  parent-document retrieval in RAG stacks: search small pieces, return the parent chunk.
- ``chunk+windows``: the sum of the two scores, so a chunk needs a good whole and a good part.

Which one wins depends on the corpus (chunk lengths, how local the questions are), so the
pipeline scores every candidate on validation queries and ships the best
(``embedtune.retrieval.selection``). A ``Reading`` is what ``retrieval.json`` records.
"""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ReadingKind(str, Enum):
    chunk = "chunk"
    windows = "windows"
    chunk_windows = "chunk+windows"


class Reading(BaseModel):
    """One way of reading chunks: the kind and, for windowed kinds, the window and its stride.

    ``window_tokens`` counts what the model reads per window, its special tokens included (so
    128 is all-MiniLM-L6-v2's training length); ``stride_tokens`` is how far the next window
    starts, in text tokens.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ReadingKind
    window_tokens: int | None = Field(default=None, ge=8)
    stride_tokens: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _windows_need_a_size(self) -> "Reading":
        windowed = self.kind is not ReadingKind.chunk
        if windowed and (self.window_tokens is None or self.stride_tokens is None):
            raise ValueError(f"reading '{self.kind.value}' needs window_tokens and stride_tokens")
        if not windowed and (self.window_tokens is not None or self.stride_tokens is not None):
            raise ValueError("reading 'chunk' takes no window_tokens or stride_tokens")
        return self

    @property
    def name(self) -> str:
        """Short label used in reports: ``chunk``, ``windows128``, ``chunk+windows128``."""
        if self.kind is ReadingKind.chunk:
            return "chunk"
        return f"{self.kind.value}{self.window_tokens}"

    @property
    def aggregation(self) -> str:
        """How window scores become the chunk's score."""
        return {ReadingKind.chunk: "none", ReadingKind.windows: "max",
                ReadingKind.chunk_windows: "chunk + max window"}[self.kind]

    @property
    def uses_chunk_vector(self) -> bool:
        return self.kind in (ReadingKind.chunk, ReadingKind.chunk_windows)

    @property
    def uses_windows(self) -> bool:
        return self.kind in (ReadingKind.windows, ReadingKind.chunk_windows)


CHUNK = Reading(kind=ReadingKind.chunk)


def candidate_readings(kinds: list[ReadingKind], window_tokens: list[int],
                       stride_fraction: float) -> list[Reading]:
    """Every configured kind at every window size (``chunk`` once), in a stable order."""
    readings: list[Reading] = []
    if ReadingKind.chunk in kinds:
        readings.append(CHUNK)
    for size in window_tokens:
        stride = max(1, int(round((size - 2) * stride_fraction)))
        for kind in (ReadingKind.windows, ReadingKind.chunk_windows):
            if kind in kinds:
                readings.append(Reading(kind=kind, window_tokens=size, stride_tokens=stride))
    return readings
