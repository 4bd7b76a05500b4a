"""Retrieval as it is shipped: how chunks are read into vectors (``reading``), how they are cut
into windows (``windows``), and an index that returns each parent chunk once (``index``)."""

from embedtune.retrieval.index import Hit, ParentRetriever, RetrievalSpec
from embedtune.retrieval.reading import CHUNK, Reading, ReadingKind

__all__ = ["CHUNK", "Hit", "ParentRetriever", "Reading", "ReadingKind", "RetrievalSpec"]
