from typing import Annotated

from datasets import Dataset
from zenml import log_metadata, step

import constants as C
from embedtune import schema
from embedtune.config import ChunkingConfig
from embedtune.corpus import DocumentPart, chunk_parts, tokenizer_counter
from embedtune.datasets import to_dataset
from embedtune.models import resolve_model_path

CHUNK_COLUMNS = [
    schema.CHUNK_ID, schema.DOCUMENT_ID, schema.SOURCE, schema.TEXT, schema.N_TOKENS, schema.POSITION, schema.PAGE, schema.SECTION,
]


@step
def chunk_documents(
    documents: Dataset, chunking: ChunkingConfig, base_model: str
) -> Annotated[Dataset, C.CHUNKS_ARTIFACT]:
    """Cut documents into chunks measured in the embedding model's own tokens."""
    parts = [DocumentPart(**row) for row in documents.to_list()]
    chunks = chunk_parts(parts, tokenizer_counter(resolve_model_path(base_model)), chunking)
    tokens = [c.n_tokens for c in chunks]
    log_metadata(
        {
            "chunks": len(chunks),
            "mean_tokens": sum(tokens) / max(len(tokens), 1),
            "max_tokens": max(tokens, default=0),
        }
    )
    return to_dataset(chunks, CHUNK_COLUMNS)
