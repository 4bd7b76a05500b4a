"""Stage 2: synthetic queries per chunk."""

from steps.generation.generate_queries import generate_queries

__all__ = ["generate_queries"]
