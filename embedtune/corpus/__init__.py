"""From a folder of documents to train/test chunks: loading, chunking, splitting."""

from embedtune.corpus.chunking import (
    Chunk,
    TokenCounter,
    chunk_id_for,
    chunk_parts,
    tokenizer_counter,
)
from embedtune.corpus.loading import (
    SUPPORTED_EXTENSIONS,
    CorpusError,
    DocumentPart,
    LoadResult,
    SkippedFile,
    load_corpus,
    normalise_whitespace,
)
from embedtune.corpus.splitting import split_by_document

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "Chunk",
    "CorpusError",
    "DocumentPart",
    "LoadResult",
    "SkippedFile",
    "TokenCounter",
    "chunk_id_for",
    "chunk_parts",
    "load_corpus",
    "normalise_whitespace",
    "split_by_document",
    "tokenizer_counter",
]
