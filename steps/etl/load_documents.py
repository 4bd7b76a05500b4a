from typing import Annotated

from datasets import Dataset
from zenml import log_metadata, step

from embedtune import schema
from embedtune.config import CorpusConfig
from embedtune.corpus import load_corpus
from embedtune.datasets import to_dataset

PART_COLUMNS = [schema.DOCUMENT_ID, schema.SOURCE, schema.TEXT, schema.PAGE, schema.SECTION]


@step
def load_documents(corpus: CorpusConfig, corpus_fingerprint: str) -> Annotated[Dataset, "documents"]:
    """Read every supported file under ``corpus.path``.

    ``corpus_fingerprint`` (a hash of the files' contents, computed by ``run.py``) is what makes
    ZenML's cache re-run this step when a document changes; the step itself does not use it.
    """
    result = load_corpus(corpus)
    log_metadata(
        {
            **result.counts(),
            "skipped": {s.path: s.reason for s in result.skipped},
            "records_skipped_by_file": {
                path: [f"{r.where}: {r.reason}" for r in result.skipped_records if r.path == path]
                for path in dict.fromkeys(r.path for r in result.skipped_records)
            },
            "symlinks_not_followed": {s.path: s.reason for s in result.skipped_links},
        }
    )
    return to_dataset(result.parts, PART_COLUMNS)
