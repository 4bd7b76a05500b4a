"""ZenML materializers for the project's artifact types."""

from materializers.sentence_transformer_materializer import SentenceTransformerMaterializer
from materializers.teacher_embeddings_materializer import TeacherEmbeddingsMaterializer

__all__ = ["SentenceTransformerMaterializer", "TeacherEmbeddingsMaterializer"]
