"""Stage 2a: the teacher's vectors of the training queries and chunks."""

from steps.teacher.embed_with_teacher import embed_with_teacher

__all__ = ["embed_with_teacher"]
