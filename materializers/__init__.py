"""ZenML materializers for the project's artifact types."""

from materializers.sentence_transformer_materializer import SentenceTransformerMaterializer

__all__ = ["SentenceTransformerMaterializer"]
