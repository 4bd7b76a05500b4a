"""Stage 2b: curation of the generated training queries."""

from steps.curation.curate_queries import curate_queries

__all__ = ["curate_queries"]
