"""Finetuning an embedding model on (query, chunk) pairs."""
