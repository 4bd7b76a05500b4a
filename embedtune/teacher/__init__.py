"""The teacher: a stronger embedding model (by default EmbeddingGemma-300M, assembled from PyPI)
that curates the training questions and is reported as an option that needs no finetuning."""
