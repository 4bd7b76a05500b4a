"""A distilabel task that asks for several retrieval queries and one negative query per chunk.

distilabel's ``GenerateSentencePair(triplet=True, action="query")`` yields one positive and one
negative per call; asking for N positives there costs N calls, each re-reading the chunk. One call
for N questions plus a negative is ~N times cheaper on a CPU, where reading the prompt dominates.
"""

from __future__ import annotations

from typing import Any

from distilabel.steps.tasks import Task

from embedtune.generation.parsing import ParseError, parse_generation
from embedtune.generation.prompts import build_messages

QUERIES_COLUMN = "queries"
NEGATIVE_COLUMN = "negative_query"
ERROR_COLUMN = "parse_error"
RAW_COLUMN = "raw_output"


class GenerateRetrievalQueries(Task):
    """Input column ``text`` (a chunk); outputs ``queries`` (list), ``negative_query``,
    ``parse_error`` (None when the answer was usable) and ``raw_output``.

    ``format_output`` never raises: distilabel would replace the row with Nones and keep only a
    warning, losing the reason. A failed row keeps its reason so it can be counted and shown.
    """

    n_queries: int = 3
    domain_context: str = "a collection of documents"
    extra_instructions: str = ""
    max_chunk_words: int = 600

    @property
    def inputs(self) -> list[str]:
        return ["text"]

    @property
    def outputs(self) -> list[str]:
        return [QUERIES_COLUMN, NEGATIVE_COLUMN, ERROR_COLUMN, RAW_COLUMN, "model_name"]

    def format_input(self, input: dict[str, Any]) -> list[dict[str, str]]:
        return build_messages(
            input["text"],
            n_queries=self.n_queries,
            domain_context=self.domain_context,
            extra_instructions=self.extra_instructions,
            max_chunk_words=self.max_chunk_words,
        )

    def format_output(
        self, output: str | None, input: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        try:
            parsed = parse_generation(output, self.n_queries)
        except ParseError as exc:
            return {
                QUERIES_COLUMN: [],
                NEGATIVE_COLUMN: None,
                ERROR_COLUMN: str(exc),
                RAW_COLUMN: output,
            }
        return {
            QUERIES_COLUMN: parsed.queries,
            NEGATIVE_COLUMN: parsed.negative_query,
            ERROR_COLUMN: None,
            RAW_COLUMN: output,
        }
