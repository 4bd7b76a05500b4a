"""The teacher: a stronger embedding model (by default EmbeddingGemma-300M, assembled from PyPI)
that guides curation and training and is reported as an option that needs no finetuning."""
