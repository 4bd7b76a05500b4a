"""Run query generation over chunks: batches, progress, failure rows, statistics.

The distilabel task is driven directly (``task.process(batch)``) rather than through a
``distilabel.Pipeline``. A Pipeline forks worker processes that inherit ZenML's signal handlers
(they can hang at shutdown inside a step) and replaces the root logger's handlers; it also hides
progress inside its workers. Driving the task in-process keeps distilabel's prompt formatting,
LLM clients and concurrent async requests (``concurrency`` requests per batch), and lets this
module show a progress bar, keep every failed chunk with its reason, and never leave a None.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import openai
from tqdm.auto import tqdm

import constants as C
from embedtune.config import GenerationConfig
from embedtune.generation.backends import llm_for
from embedtune.generation.task import (
    ERROR_COLUMN,
    NEGATIVE_COLUMN,
    QUERIES_COLUMN,
    RAW_COLUMN,
    GenerateRetrievalQueries,
)

logger = logging.getLogger(__name__)
# One INFO line per HTTP request would drown the progress bar; errors still surface.
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpx2").setLevel(logging.WARNING)


class _StandaloneTaskWarning(logging.Filter):
    """distilabel warns that a task has no Pipeline; running it standalone is deliberate here."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "hasn't received a pipeline" not in record.getMessage()


TASK_NAME = "generate_retrieval_queries"
logging.getLogger(f"distilabel.step.{TASK_NAME}").addFilter(_StandaloneTaskWarning())


@dataclass
class GenerationStats:
    chunks: int = 0
    requests: int = 0
    failed_chunks: int = 0
    queries: int = 0
    negatives: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {**self.__dict__, "chunks_per_s": self.chunks / self.seconds if self.seconds else 0.0}


@dataclass
class GenerationResult:
    """One row per usable query, one row per failed chunk, and run statistics."""

    queries: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    stats: GenerationStats = field(default_factory=GenerationStats)


def query_id_for(chunk_id: str, index: int) -> str:
    """Stable id of the ``index``-th query generated for a chunk (used for review round trips)."""
    return f"{chunk_id}-q{index}"


def _token_counts(row: dict[str, Any]) -> tuple[int, int]:
    meta = row.get("distilabel_metadata") or {}
    stats = next((v for k, v in meta.items() if k.startswith("statistics_")), None) or {}

    def total(value: Any) -> int:
        if isinstance(value, list):
            return int(sum(v or 0 for v in value))
        return int(value or 0)

    return total(stats.get("input_tokens")), total(stats.get("output_tokens"))


# Errors that concern one request (the server was slow, overloaded or briefly down) become a
# failure row for that chunk. Anything else (a bad API key, an unknown model, a malformed request)
# would fail every chunk the same way, so it stops the run at once with its own message.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    openai.APITimeoutError,
    openai.APIConnectionError,
    openai.RateLimitError,
    openai.InternalServerError,
    TimeoutError,
    ConnectionError,
)


class GenerationAborted(RuntimeError):
    """Generation cannot go on (a non-transient error, or too many failed chunks)."""


def _process(task: GenerateRetrievalQueries, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Generate for a batch; if the batch fails transiently, retry each chunk alone so one bad
    request costs one failure row, not the whole batch."""
    try:
        return next(task.process(batch))
    except TRANSIENT_ERRORS as batch_error:
        if len(batch) == 1:
            return [{**batch[0], QUERIES_COLUMN: [], ERROR_COLUMN: _describe(batch_error)}]
        logger.warning("Batch of %d chunks failed (%s); retrying one by one.", len(batch),
                       _describe(batch_error))
        rows: list[dict[str, Any]] = []
        for item in batch:
            rows.extend(_process(task, [item]))
        return rows


def _check_failure_budget(
    result: GenerationResult, done: int, total: int, config: GenerationConfig
) -> None:
    failed = result.stats.failed_chunks
    if done >= config.failure_check_after and failed / done > config.max_failed_fraction:
        raise GenerationAborted(
            f"{failed} of the first {done} chunks (of {total}) failed, more than "
            f"generation.max_failed_fraction={config.max_failed_fraction}. Last reason: "
            f"{result.failures[-1][C.FAILURE_REASON]}"
        )


def _describe(error: BaseException) -> str:
    return f"request failed: {type(error).__name__}: {str(error)[:300]}"


def generate_queries(
    chunks: Sequence[dict[str, Any]], config: GenerationConfig, split: str
) -> GenerationResult:
    """Generate ``config.queries_per_chunk`` queries (+ a negative) for each chunk row.

    ``chunks`` are rows of the chunk dataset (``chunk_id``, ``text``, ``document_id``, ``source``).
    """
    chunks = list(chunks)[: config.max_chunks] if config.max_chunks else list(chunks)
    result = GenerationResult()
    if not chunks:
        return result
    started = time.monotonic()
    with llm_for(config) as (llm, model_name):
        task = GenerateRetrievalQueries(
            name=TASK_NAME,
            llm=llm,
            n_queries=config.queries_per_chunk,
            domain_context=config.domain_context,
            extra_instructions=config.extra_instructions,
            max_chunk_words=config.max_chunk_tokens,
            input_batch_size=config.concurrency,
        )
        task.load()
        bar = tqdm(total=len(chunks), desc=f"Generating {split} queries", unit="chunk")
        for start in range(0, len(chunks), config.concurrency):
            batch = [dict(row) for row in chunks[start : start + config.concurrency]]
            try:
                rows = _process(task, batch)  # transient errors are already failure rows
            except Exception as exc:
                raise GenerationAborted(
                    f"Query generation stopped at chunk {start + 1}/{len(chunks)} "
                    f"({batch[0][C.CHUNK_ID]} in {batch[0][C.SOURCE]}): {_describe(exc)}. "
                    "This error would repeat for every chunk; check generation.* in the config "
                    "(backend, base_url, model, API key)."
                ) from exc
            for row in rows:
                _collect(row, split, model_name, result)
            _check_failure_budget(result, start + len(batch), len(chunks), config)
            result.stats.requests += len(batch)
            bar.update(len(batch))
            bar.set_postfix(failed=result.stats.failed_chunks, queries=result.stats.queries)
        bar.close()
        task.unload()
    result.stats.chunks = len(chunks)
    result.stats.seconds = time.monotonic() - started
    s = result.stats
    logger.info(
        "Generated %d %s queries (%d negatives) from %d chunks in %.0fs (%.2f chunks/s); "
        "%d chunks failed; tokens in/out %d/%d.",
        s.queries, split, s.negatives, s.chunks, s.seconds, s.chunks / max(s.seconds, 1e-9),
        s.failed_chunks, s.input_tokens, s.output_tokens,
    )
    return result


def _collect(row: dict[str, Any], split: str, model_name: str, result: GenerationResult) -> None:
    tokens_in, tokens_out = _token_counts(row)
    result.stats.input_tokens += tokens_in
    result.stats.output_tokens += tokens_out
    queries = row.get(QUERIES_COLUMN) or []
    if not queries:
        result.stats.failed_chunks += 1
        reason = row.get(ERROR_COLUMN) or "no output"
        logger.warning("Chunk %s (%s): %s", row[C.CHUNK_ID], row[C.SOURCE], reason)
        result.failures.append(
            {
                C.CHUNK_ID: row[C.CHUNK_ID],
                C.SOURCE: row[C.SOURCE],
                C.SPLIT: split,
                C.FAILURE_REASON: reason,
                C.RAW_OUTPUT: row.get(RAW_COLUMN) or "",
            }
        )
        return
    negative = row.get(NEGATIVE_COLUMN)
    result.stats.negatives += negative is not None
    for index, query in enumerate(queries):
        result.stats.queries += 1
        result.queries.append(
            {
                C.QUERY_ID: query_id_for(row[C.CHUNK_ID], index),
                C.QUERY: query,
                C.CHUNK_ID: row[C.CHUNK_ID],
                C.DOCUMENT_ID: row[C.DOCUMENT_ID],
                C.SOURCE: row[C.SOURCE],
                C.POSITIVE: row[C.TEXT],
                C.NEGATIVE_QUERY: negative or "",
                C.SPLIT: split,
                C.MODEL_NAME: model_name,
            }
        )
