"""Stage 1: documents in, train/test chunks out."""

from steps.etl.chunk_documents import chunk_documents
from steps.etl.load_documents import load_documents
from steps.etl.split_chunks import split_chunks

__all__ = ["chunk_documents", "load_documents", "split_chunks"]
