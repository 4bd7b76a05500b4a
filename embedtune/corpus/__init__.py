"""From a folder of documents to train/test chunks: loading, chunking, splitting."""

from embedtune.corpus.chunking import (
    Chunk,
    TokenCounter,
    chunk_id_for,
    chunk_parts,
    tokenizer_counter,
)
from embedtune.corpus.formats import (
    SUPPORTED_EXTENSIONS,
    DocumentPart,
    FileContent,
    UnreadableFile,
    normalise_whitespace,
    read_document,
)
from embedtune.corpus.loading import (
    CorpusError,
    LoadResult,
    SkippedFile,
    SkippedRecord,
    corpus_files,
    load_corpus,
)
from embedtune.corpus.splitting import split_by_document

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "Chunk",
    "CorpusError",
    "DocumentPart",
    "FileContent",
    "LoadResult",
    "SkippedFile",
    "SkippedRecord",
    "UnreadableFile",
    "TokenCounter",
    "chunk_id_for",
    "chunk_parts",
    "corpus_files",
    "load_corpus",
    "normalise_whitespace",
    "read_document",
    "split_by_document",
    "tokenizer_counter",
]
