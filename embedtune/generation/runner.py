"""Run query generation over chunks: bounded concurrency, retries, resume, progress, statistics.

How a run goes:
1. Each chunk's messages are built by the distilabel task (``format_input``) and keyed by content
   (``resume_cache.cache_key``); chunks whose answer is already in the resume cache are done.
2. The rest go to the LLM through distilabel's async client (``llm.agenerate``), at most
   ``concurrency`` in flight; a new request starts as soon as one finishes, so one slow or
   retried chunk never holds up a whole batch.
3. Transient errors are retried with exponential backoff and jitter, honouring ``Retry-After``
   (which pauses every request, since rate limits are per account). An unparsable answer is asked
   again ``unparsable_retries`` times. A chunk that still fails becomes a failure row with its
   reason and the number of attempts; a non-transient error (bad key, unknown model) stops the
   run at once, and so does a failure rate over ``max_failed_fraction``.
4. Every usable answer is committed to the resume cache the moment it is parsed, so a crash,
   ``kill -9`` or Ctrl-C loses at most the requests in flight.

Why not ``distilabel.Pipeline`` or ``task.process``: a Pipeline forks workers that inherit ZenML's
signal handlers (they can hang at shutdown inside a step) and replaces the root logger's handlers;
``task.process`` sends fixed batches and waits for the slowest request of each, and hides each
request's retries. Driving ``format_input``/``agenerate``/``format_output`` directly keeps
distilabel's prompt formatting and clients for every backend.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

from distilabel.models.llms.base import LLM
from tqdm.auto import tqdm

from embedtune import schema
from embedtune.config import Backend, GenerationConfig
from embedtune.generation.backends import llm_for
from embedtune.generation.resume_cache import (
    CachedAnswer,
    ResumeCache,
    cache_key,
    default_cache_dir,
    model_identity,
)
from embedtune.generation.retries import RetryPolicy, is_transient, retry_after_s
from embedtune.generation.task import (
    ERROR_COLUMN,
    NEGATIVE_COLUMN,
    QUERIES_COLUMN,
    GenerateRetrievalQueries,
)

logger = logging.getLogger(__name__)
# One INFO line per HTTP request would drown the progress bar; errors still surface.
for _name in ("httpx", "httpx2", "openai", "openai._base_client"):
    logging.getLogger(_name).setLevel(logging.WARNING)


class _StandaloneTaskWarning(logging.Filter):
    """distilabel warns that a task has no Pipeline; running it standalone is deliberate here."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "hasn't received a pipeline" not in record.getMessage()


TASK_NAME = "generate_retrieval_queries"
logging.getLogger(f"distilabel.step.{TASK_NAME}").addFilter(_StandaloneTaskWarning())


@dataclass
class GenerationStats:
    """What a run did and cost. Tokens and requests count this run's calls only (a chunk from
    the resume cache costs nothing)."""

    chunks: int = 0
    cached_chunks: int = 0
    generated_chunks: int = 0
    failed_chunks: int = 0
    requests: int = 0
    retries: int = 0
    queries: int = 0
    negatives: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, float]:
        seconds = self.seconds or float("nan")
        return {
            **self.__dict__,
            "chunks_per_s": self.chunks / seconds if self.seconds else 0.0,
            "output_tokens_per_s": self.output_tokens / seconds if self.seconds else 0.0,
        }

    def summary(self, split: str) -> str:
        """The one line a user reads at the end of generation."""
        rate = self.chunks / self.seconds if self.seconds else 0.0
        tok_rate = self.output_tokens / self.seconds if self.seconds else 0.0
        return (
            f"{split} generation: {self.chunks} chunks in {self.seconds:.1f}s ({rate:.2f} chunks/s): "
            f"{self.generated_chunks} generated, {self.cached_chunks} from the resume cache, "
            f"{self.failed_chunks} failed; {self.requests} requests, {self.retries} retries; "
            f"{self.queries} queries, {self.negatives} negatives; tokens in/out "
            f"{self.input_tokens}/{self.output_tokens} ({tok_rate:.1f} output tokens/s)."
        )


@dataclass
class GenerationResult:
    """One row per usable query, one row per failed chunk, and run statistics."""

    queries: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    stats: GenerationStats = field(default_factory=GenerationStats)
    cache_path: Path | None = None


class GenerationAborted(RuntimeError):
    """Generation cannot go on (a non-transient error, or too many failed chunks)."""


class GenerationCapReached(GenerationAborted):
    """``generation.max_requests`` or ``max_prompt_tokens`` was reached; what was done is kept."""


class SpendingLedger:
    """Requests and prompt tokens spent by one pipeline run, for ``generation.max_requests`` and
    ``max_prompt_tokens``.

    The two generation steps run separately (on a remote orchestrator, in separate pods), so the
    run's totals live in ``spend.sqlite`` beside the resume cache, under the run's id; without a
    run id (a direct call) the ledger counts this call only.
    """

    def __init__(self, directory: Path | None, run_id: str | None):
        self.run_id = run_id
        self.requests = 0
        self.prompt_tokens = 0
        self._db = None
        if directory is not None and run_id is not None:
            import sqlite3

            directory.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(directory / "spend.sqlite", timeout=30, isolation_level=None)
            self._db.execute("CREATE TABLE IF NOT EXISTS spend (run_id TEXT PRIMARY KEY,"
                             " requests INTEGER NOT NULL, prompt_tokens INTEGER NOT NULL)")
            row = self._db.execute("SELECT requests, prompt_tokens FROM spend WHERE run_id = ?",
                                   (run_id,)).fetchone()
            if row:
                self.requests, self.prompt_tokens = row

    def add(self, requests: int = 0, prompt_tokens: int = 0) -> None:
        self.requests += requests
        self.prompt_tokens += prompt_tokens
        if self._db is not None:
            self._db.execute("INSERT OR REPLACE INTO spend VALUES (?, ?, ?)",
                             (self.run_id, self.requests, self.prompt_tokens))

    def close(self) -> None:
        if self._db is not None:
            self._db.close()


class _CapReached(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def query_id_for(chunk_id: str, index: int) -> str:
    """Stable id of the ``index``-th query generated for a chunk (used for review round trips)."""
    return f"{chunk_id}-q{index}"


def effective_concurrency(config: GenerationConfig) -> int:
    """Requests in flight: one per llama.cpp slot for the embedded model (more would only wait in
    its queue, eating into their timeout), ``concurrency`` for served backends."""
    if config.backend is Backend.embedded:
        return config.embedded.parallel_slots
    return config.concurrency


@dataclass
class _Chunk:
    index: int
    row: dict[str, Any]
    messages: list[dict[str, str]]
    key: str


@dataclass
class _Outcome:
    """A chunk's end state: parsed output (usable), or a failure reason; and what it took."""

    parsed: dict[str, Any] | None = None
    reason: str | None = None
    raw_output: str = ""
    attempts: int = 0


class _FatalRequestError(Exception):
    def __init__(self, chunk: _Chunk, error: BaseException):
        super().__init__(str(error))
        self.chunk = chunk
        self.error = error


def _describe(error: BaseException) -> str:
    return f"request failed: {type(error).__name__}: {str(error)[:300]}"


class _Driver:
    """Sends the pending chunks with at most ``concurrency`` requests in flight."""

    def __init__(self, task: GenerateRetrievalQueries, config: GenerationConfig,
                 cache: ResumeCache | None, outcomes: dict[int, _Outcome], stats: GenerationStats,
                 total: int, bar: tqdm, ledger: SpendingLedger):
        self.task = task
        self.llm = task.llm
        self.kwargs = dict(task.llm.generation_kwargs or {})
        self.config = config
        self.cache = cache
        self.outcomes = outcomes
        self.stats = stats
        self.total = total
        self.bar = bar
        self.policy = RetryPolicy.from_config(config)
        self.rng = random.Random()
        self.not_before = 0.0  # monotonic time before which no request may start (Retry-After)
        self.started = time.monotonic()
        self.ledger = ledger
        self.capped: str | None = None  # why no further request is sent
        self.reserved_prompt_tokens = 0  # estimated prompts of the requests in flight

    def _check_caps(self, chunk: _Chunk) -> int:
        """Raise ``_CapReached`` if sending ``chunk`` would cross a cap; its prompt estimate."""
        from embedtune.generation.plan import estimated_prompt_tokens

        if self.capped:
            raise _CapReached(self.capped)
        estimate = estimated_prompt_tokens(chunk.messages)
        cap = self.config.max_requests
        if cap is not None and self.ledger.requests >= cap:
            self.capped = f"generation.max_requests={cap} reached ({self.ledger.requests} requests this run)"
        cap = self.config.max_prompt_tokens
        if (cap is not None and not self.capped
                and self.ledger.prompt_tokens + self.reserved_prompt_tokens + estimate > cap):
            self.capped = (f"generation.max_prompt_tokens={cap} reached ({self.ledger.prompt_tokens} "
                           f"prompt tokens sent this run; the next request needs about {estimate})")
        if self.capped:
            raise _CapReached(self.capped)
        return estimate

    async def run(self, pending: list[_Chunk], concurrency: int) -> None:
        feed = iter(pending)
        workers = [asyncio.create_task(self._worker(feed)) for _ in range(min(concurrency, len(pending)))]
        try:
            await asyncio.gather(*workers)
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

    async def _worker(self, feed: Iterator[_Chunk]) -> None:
        for chunk in feed:  # a shared iterator: each chunk is taken by exactly one worker
            try:
                outcome = await self._generate(chunk)
            except _CapReached:
                return  # the chunk stays undone (not failed); requests in flight still finish
            self._finish(chunk, outcome)

    async def _request(self, chunk: _Chunk) -> dict[str, Any]:
        wait = self.not_before - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        estimate = self._check_caps(chunk)
        self.stats.requests += 1
        self.ledger.add(requests=1)
        self.reserved_prompt_tokens += estimate
        try:
            output = await asyncio.wait_for(
                self.llm.agenerate(input=chunk.messages, num_generations=1, **self.kwargs),
                timeout=self.config.timeout_s,
            )
        except BaseException:
            self.ledger.add(prompt_tokens=estimate)  # a failed request may still be billed
            raise
        finally:
            self.reserved_prompt_tokens -= estimate
        self.ledger.add(prompt_tokens=_token_counts(output)[0] or estimate)
        return output

    async def _generate(self, chunk: _Chunk) -> _Outcome:
        attempts = unparsable = transient = 0
        while True:
            attempts += 1
            try:
                output = await self._request(chunk)
            except (asyncio.CancelledError, _CapReached):
                raise
            except Exception as error:  # classified below: retried, failed, or fatal
                if not is_transient(error):
                    raise _FatalRequestError(chunk, error) from error
                reason = _describe(error)
                if isinstance(error, TimeoutError):
                    reason = f"no answer within generation.timeout_s={self.config.timeout_s:g}s"
                asked = retry_after_s(error)
                if asked is not None and asked > self.policy.max_retry_after_s:
                    return _Outcome(reason=f"{reason} (the server asked to wait {asked:.0f}s, over "
                                    f"generation.max_retry_after_s)", attempts=attempts)
                transient += 1
                if transient > self.policy.max_retries:
                    return _Outcome(reason=reason, attempts=attempts)
                if asked:  # a rate limit is per account: hold back every request, not just this one
                    self.not_before = max(self.not_before, time.monotonic() + asked)
                delay = self.policy.delay_s(transient, asked, self.rng)
                self._retrying(chunk, reason, transient, self.policy.max_retries, delay)
                await asyncio.sleep(delay)
                continue
            raw = (output.get("generations") or [None])[0]
            tokens_in, tokens_out = _token_counts(output)
            self.stats.input_tokens += tokens_in
            self.stats.output_tokens += tokens_out
            parsed = self.task.format_output(raw, chunk.row)
            if parsed[ERROR_COLUMN] is None:
                if self.cache is not None:
                    self.cache.put(chunk.key, chunk.row[schema.CHUNK_ID],
                                   CachedAnswer(raw or "", tokens_in, tokens_out))
                return _Outcome(parsed=parsed, raw_output=raw or "", attempts=attempts)
            if unparsable >= self.config.unparsable_retries:
                return _Outcome(reason=parsed[ERROR_COLUMN], raw_output=raw or "", attempts=attempts)
            unparsable += 1
            self._retrying(chunk, parsed[ERROR_COLUMN], unparsable,
                           self.config.unparsable_retries, 0.0)

    def _retrying(self, chunk: _Chunk, reason: str, number: int, budget: int, delay: float) -> None:
        self.stats.retries += 1
        logger.info("Chunk %s: %s; retry %d/%d in %.1fs.", chunk.row[schema.CHUNK_ID], reason[:200],
                    number, budget, delay)
        self._postfix()

    def _finish(self, chunk: _Chunk, outcome: _Outcome) -> None:
        self.outcomes[chunk.index] = outcome
        if outcome.parsed is None:
            self.stats.failed_chunks += 1
            logger.warning("Chunk %s (%s) failed after %d attempts: %s", chunk.row[schema.CHUNK_ID],
                           chunk.row[schema.SOURCE], outcome.attempts, outcome.reason)
        else:
            self.stats.generated_chunks += 1
        self.bar.update(1)
        self._postfix()
        self._check_failure_budget(outcome)

    def _postfix(self) -> None:
        elapsed = time.monotonic() - self.started
        self.bar.set_postfix(
            req=self.stats.requests, retries=self.stats.retries, failed=self.stats.failed_chunks,
            tok_s=f"{self.stats.output_tokens / elapsed:.1f}" if elapsed > 0 else "0",
            refresh=False,
        )

    def _check_failure_budget(self, last: _Outcome) -> None:
        done = len(self.outcomes)
        failed = self.stats.failed_chunks
        if done >= self.config.failure_check_after and failed / done > self.config.max_failed_fraction:
            raise GenerationAborted(
                f"{failed} of the first {done} chunks (of {self.total}) failed, more than "
                f"generation.max_failed_fraction={self.config.max_failed_fraction}. Last reason: "
                f"{last.reason}. {_kept_message(self.cache, self.stats)}"
            )


def _kept_message(cache: ResumeCache | None, stats: GenerationStats) -> str:
    if cache is None:
        return "generation.resume is off, so a rerun starts from zero."
    return (f"{stats.generated_chunks} chunks finished in this run are kept in the resume cache "
            f"({cache.path}); a rerun sends no request for them.")


def _token_counts(output: dict[str, Any]) -> tuple[int, int]:
    stats = output.get("statistics") or {}

    def total(value: Any) -> int:
        if isinstance(value, list):
            return int(sum(v or 0 for v in value))
        return int(value or 0)

    return total(stats.get("input_tokens")), total(stats.get("output_tokens"))


def generate_queries(
    chunks: Sequence[dict[str, Any]], config: GenerationConfig, split: str,
    run_id: str | None = None,
) -> GenerationResult:
    """Generate ``config.queries_per_chunk`` queries (+ a negative) for each chunk row.

    ``chunks`` are rows of the chunk dataset (``chunk_id``, ``text``, ``document_id``, ``source``).
    Rows come back in chunk order, whatever order the answers arrived in. ``run_id`` (the
    pipeline run's) makes the spending caps count across both splits of one run.
    """
    chunks = list(chunks)[: config.max_chunks] if config.max_chunks else list(chunks)
    if not chunks:
        return GenerationResult()
    with llm_for(config) as (llm, model_name):
        return generate_with_llm(llm, model_name, chunks, config, split, run_id=run_id)


def generate_with_llm(llm: LLM, model_name: str, chunks: Sequence[dict[str, Any]],
                      config: GenerationConfig, split: str,
                      run_id: str | None = None) -> GenerationResult:
    """``generate_queries`` with an LLM that is already loaded (benchmarks reuse one server)."""
    chunks = list(chunks)
    result = GenerationResult()
    started = time.monotonic()
    cache = ResumeCache(config.cache_dir or default_cache_dir(), split) if config.resume else None
    result.cache_path = cache.path if cache else None
    ledger = SpendingLedger(config.cache_dir or default_cache_dir(), run_id)
    task = GenerateRetrievalQueries(
        name=TASK_NAME,
        llm=llm,
        n_queries=config.queries_per_chunk,
        domain_context=config.domain_context,
        extra_instructions=config.extra_instructions,
        max_chunk_words=config.max_chunk_words,
    )
    try:
        keyed = _keyed(task, chunks, config, split)
        outcomes = _cached_outcomes(task, keyed, cache, split, result.stats)
        pending = [c for c in keyed if c.index not in outcomes]
        bar = tqdm(total=len(chunks), initial=len(outcomes), unit="chunk",
                   desc=f"Generating {split} queries")
        driver = _Driver(task, config, cache, outcomes, result.stats, len(chunks), bar, ledger)
        try:
            # The LLM's own loop (as distilabel's ``generate`` does), not ``asyncio.run``: its
            # async HTTP client is bound to the loop it first ran in, so one loaded LLM can
            # serve several calls (both splits, or a benchmark's warm-up and run).
            llm.event_loop.run_until_complete(driver.run(pending, effective_concurrency(config)))
        except _FatalRequestError as fatal:
            row = fatal.chunk.row
            raise GenerationAborted(
                f"Query generation stopped at chunk {row[schema.CHUNK_ID]} ({row[schema.SOURCE]}): "
                f"{_describe(fatal.error)}. This error would repeat for every chunk; check "
                "generation.* in the config (backend, base_url, model, API key). "
                f"{_kept_message(cache, result.stats)}"
            ) from fatal.error
        finally:
            bar.close()
        if driver.capped:
            done = len(outcomes)
            raise GenerationCapReached(
                f"Query generation stopped: {driver.capped}. {done} of {len(chunks)} {split} chunks "
                f"are done ({result.stats.cached_chunks} were already in the resume cache); "
                f"{_kept_message(cache, result.stats)} To continue, rerun the same command (the "
                "caps count again from zero for the new run), or raise the cap; `python run.py "
                "plan --config ...` says how many requests and tokens are left."
            )
    finally:
        ledger.close()
        if cache is not None:
            cache.close()
    for index, row in enumerate(chunks):
        _collect(row, outcomes[index], split, model_name, result)
    result.stats.chunks = len(chunks)
    result.stats.seconds = time.monotonic() - started
    logger.info(result.stats.summary(split))
    return result


def _keyed(task: GenerateRetrievalQueries, chunks: list[dict[str, Any]], config: GenerationConfig,
           split: str) -> list[_Chunk]:
    model = model_identity(config)
    kwargs = dict(task.llm.generation_kwargs or {})
    keyed = []
    for index, row in enumerate(chunks):
        messages = task.format_input(dict(row))
        key = cache_key(split=split, model=model, messages=messages, generation_kwargs=kwargs)
        keyed.append(_Chunk(index, dict(row), messages, key))
    return keyed


def _cached_outcomes(task: GenerateRetrievalQueries, keyed: list[_Chunk],
                     cache: ResumeCache | None, split: str,
                     stats: GenerationStats) -> dict[int, _Outcome]:
    """Outcomes of the chunks the resume cache already answers. A cached answer that no longer
    parses (the parser changed) is simply generated again."""
    if cache is None:
        return {}
    found = cache.get_many(c.key for c in keyed)
    outcomes: dict[int, _Outcome] = {}
    for chunk in keyed:
        answer = found.get(chunk.key)
        if answer is None:
            continue
        parsed = task.format_output(answer.raw_output, chunk.row)
        if parsed[ERROR_COLUMN] is None:
            outcomes[chunk.index] = _Outcome(parsed=parsed, raw_output=answer.raw_output)
    stats.cached_chunks = len(outcomes)
    if outcomes:
        logger.info("Resume cache %s: %d of %d %s chunks already done; no request for them.",
                    cache.path, len(outcomes), len(keyed), split)
    return outcomes


def _collect(row: dict[str, Any], outcome: _Outcome, split: str, model_name: str,
             result: GenerationResult) -> None:
    if outcome.parsed is None:
        result.failures.append(
            {
                schema.CHUNK_ID: row[schema.CHUNK_ID],
                schema.SOURCE: row[schema.SOURCE],
                schema.SPLIT: split,
                schema.FAILURE_REASON: outcome.reason or "no output",
                schema.ATTEMPTS: outcome.attempts,
                schema.RAW_OUTPUT: outcome.raw_output,
            }
        )
        return
    queries = outcome.parsed[QUERIES_COLUMN]
    negative = outcome.parsed[NEGATIVE_COLUMN]
    result.stats.negatives += negative is not None
    for index, query in enumerate(queries):
        result.stats.queries += 1
        result.queries.append(
            {
                schema.QUERY_ID: query_id_for(row[schema.CHUNK_ID], index),
                schema.QUERY: query,
                schema.CHUNK_ID: row[schema.CHUNK_ID],
                schema.DOCUMENT_ID: row[schema.DOCUMENT_ID],
                schema.SOURCE: row[schema.SOURCE],
                schema.POSITIVE: row[schema.TEXT],
                schema.NEGATIVE_QUERY: negative or "",
                schema.SPLIT: split,
                schema.MODEL_NAME: model_name,
            }
        )
