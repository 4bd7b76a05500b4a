"""Retrieval evaluation: query -> chunk over the whole corpus."""
