from typing import Annotated, Tuple

from datasets import Dataset
from zenml import log_metadata, step

from embedtune.config import SplitConfig
from embedtune.corpus import Chunk, split_by_document
from embedtune.datasets import to_dataset
from steps.etl.chunk_documents import CHUNK_COLUMNS


@step
def split_chunks(
    chunks: Dataset, split: SplitConfig
) -> Tuple[Annotated[Dataset, "train_chunks"], Annotated[Dataset, "test_chunks"]]:
    """Split by document before generation, so no document has queries on both sides."""
    train, test = split_by_document([Chunk(**row) for row in chunks.to_list()], split)
    log_metadata(
        {
            "train_chunks": len(train),
            "test_chunks": len(test),
            "train_documents": len({c.document_id for c in train}),
            "test_documents": len({c.document_id for c in test}),
            "seed": split.seed,
        }
    )
    return to_dataset(train, CHUNK_COLUMNS), to_dataset(test, CHUNK_COLUMNS)
