from typing import Annotated

from datasets import Dataset
from zenml import log_metadata, step

import constants as C
from embedtune import schema
from embedtune.config import TeacherConfig
from embedtune.teacher.embeddings import TeacherEmbeddings, embed_training_side
from embedtune.teacher.model import load_teacher


@step
def embed_with_teacher(
    train_queries: Dataset, train_chunks: Dataset, teacher: TeacherConfig
) -> Annotated[TeacherEmbeddings, C.TEACHER_EMBEDDINGS_ARTIFACT]:
    """The teacher's vectors of every generated training query and training chunk.

    A step of its own so that ZenML caches them: a curation or training change reuses this
    artifact, and the embedding cache behind the teacher spares re-encoding across runs.
    """
    model = load_teacher(teacher)
    embeddings = embed_training_side(model, train_queries.to_list(), train_chunks[schema.CHUNK_ID],
                                     train_chunks[schema.TEXT], teacher.model, teacher.batch_size)
    log_metadata({"teacher": teacher.model, "queries": len(embeddings.query_ids),
                  "chunks": len(embeddings.chunk_ids), "teacher_seconds": round(embeddings.seconds, 1),
                  "texts_encoded": model.encoded, "texts_from_cache": model.reused})
    return embeddings
