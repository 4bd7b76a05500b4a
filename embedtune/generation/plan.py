"""What generation will send before it sends anything: ``python run.py plan --config C``.

For each split: the chunks the LLM will be asked about, those the resume cache already answers
(no request for them), the requests still to send, and the prompt and output tokens expected;
with ``generation.price_per_million_*`` set, the cost. Run ``run.py`` prints the same lines first.

Prompt tokens are counted with the generator's own tokenizer where it is known: the embedded
model's, read from its GGUF (with its chat template, as llama.cpp applies it), so the count
matches what the server reports. For a served model the tokenizer is not known here, so the
count is an estimate (about 4 characters per token, plus the chat template's few tokens) and is
marked so. Output tokens are the mean the resume cache measured for this model where it has
answers, else ``max_new_tokens`` per request, an upper bound.

The chunks come from the same functions the pipeline's steps call (load, chunk, split), and the
resume-cache keys from the same messages and parameters as the runner's, so "already done" here
means exactly what the runner will find.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from embedtune import schema
from embedtune.config import Backend, GenerationConfig, RunConfig
from embedtune.generation.backends import request_generation_kwargs
from embedtune.generation.parsing import ParseError, parse_generation
from embedtune.generation.prompts import build_messages
from embedtune.generation.resume_cache import (
    ResumeCache,
    cache_key,
    default_cache_dir,
    model_identity,
)

logger = logging.getLogger(__name__)

Messages = list[dict[str, str]]
PromptCounter = Callable[[Messages], int]
CHARS_PER_TOKEN = 4.0  # the usual rule of thumb for English with a BPE tokenizer
CHAT_TEMPLATE_TOKENS = 12  # role markers of a system + user + assistant turn


@dataclass
class SplitPlan:
    split: str
    chunks: int
    cached: int
    to_send: int
    prompt_tokens: int  # of the requests still to send
    output_tokens: int


@dataclass
class GenerationPlan:
    documents: int
    chunks: int
    splits: list[SplitPlan]
    tokens_counted_with: str  # the tokenizer, or "estimate (~4 characters per token)"
    prompt_tokens_exact: bool
    output_tokens_basis: str
    config: GenerationConfig
    notes: list[str] = field(default_factory=list)

    @property
    def to_send(self) -> int:
        return sum(s.to_send for s in self.splits)

    @property
    def prompt_tokens(self) -> int:
        return sum(s.prompt_tokens for s in self.splits)

    @property
    def output_tokens(self) -> int:
        return sum(s.output_tokens for s in self.splits)

    def cost(self) -> float | None:
        price_in = self.config.price_per_million_input_tokens
        price_out = self.config.price_per_million_output_tokens
        if price_in is None and price_out is None:
            return None
        return (self.prompt_tokens * (price_in or 0.0) + self.output_tokens * (price_out or 0.0)) / 1e6

    def lines(self) -> list[str]:
        """What ``plan`` prints (and every run prints first)."""
        mark = "" if self.prompt_tokens_exact else " (estimated)"
        out = [f"Generation plan: {self.documents} documents, {self.chunks} chunks; "
               f"backend {self.config.backend.value}"
               f"{f' ({self.config.model})' if self.config.model else ''}."]
        for s in self.splits:
            out.append(f"  {s.split:<5} {s.chunks} chunks, {s.cached} already in the resume cache, "
                       f"{s.to_send} requests to send; {s.prompt_tokens} prompt tokens{mark}, "
                       f"{s.output_tokens} output tokens expected")
        out.append(f"  total {self.to_send} requests; {self.prompt_tokens} prompt tokens{mark} "
                   f"(counted with {self.tokens_counted_with}), {self.output_tokens} output tokens "
                   f"({self.output_tokens_basis}); retries, if any, come on top.")
        cost = self.cost()
        if cost is not None:
            out.append(f"  expected cost: {cost:.4f} (generation.price_per_million_input/output_tokens)")
        caps = []
        if self.config.max_requests:
            caps.append(f"generation.max_requests={self.config.max_requests}")
        if self.config.max_prompt_tokens:
            caps.append(f"generation.max_prompt_tokens={self.config.max_prompt_tokens}")
        if caps:
            over = ((self.config.max_requests and self.to_send > self.config.max_requests)
                    or (self.config.max_prompt_tokens
                        and self.prompt_tokens > self.config.max_prompt_tokens))
            out.append(f"  caps: {', '.join(caps)}"
                       + ("; this run will stop at a cap, and rerunning the same command continues "
                          "from the resume cache" if over else "; the plan fits within them"))
        out.extend(f"  note: {note}" for note in self.notes)
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "documents": self.documents, "chunks": self.chunks,
            "splits": [dataclasses.asdict(s) for s in self.splits],
            "requests_to_send": self.to_send, "prompt_tokens": self.prompt_tokens,
            "prompt_tokens_exact": self.prompt_tokens_exact,
            "tokens_counted_with": self.tokens_counted_with,
            "output_tokens": self.output_tokens, "output_tokens_basis": self.output_tokens_basis,
            "cost": self.cost(),
        }


def messages_for(row: dict[str, Any], config: GenerationConfig) -> Messages:
    """The messages the runner sends for a chunk row (``GenerateRetrievalQueries.format_input``)."""
    return build_messages(row[schema.TEXT], n_queries=config.queries_per_chunk,
                          domain_context=config.domain_context,
                          extra_instructions=config.extra_instructions,
                          max_chunk_words=config.max_chunk_words)


def estimated_prompt_tokens(messages: Messages) -> int:
    """A tokenizer-free estimate of a chat prompt's tokens."""
    chars = sum(len(message["content"]) for message in messages)
    return math.ceil(chars / CHARS_PER_TOKEN) + CHAT_TEMPLATE_TOKENS


def prompt_counter(config: GenerationConfig) -> tuple[PromptCounter, str, bool]:
    """A prompt-token counter for the configured generator, what it is, and whether it is exact."""
    if config.backend is Backend.embedded:
        from embedtune.bundled.llm import GGUF_FILENAME
        from embedtune.generation.tokenizer import embedded_tokenizer

        tokenizer = embedded_tokenizer()

        def count(messages: Messages) -> int:
            ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True,
                                                return_dict=False)
            return len(ids)

        return count, f"the embedded model's tokenizer ({GGUF_FILENAME})", True
    return estimated_prompt_tokens, f"an estimate (~{CHARS_PER_TOKEN:g} characters per token)", False


def plan_for_chunks(chunks_by_split: dict[str, Sequence[dict[str, Any]]], config: GenerationConfig,
                    documents: int, counter: tuple[PromptCounter, str, bool] | None = None,
                    cache_dir: Path | None = None) -> GenerationPlan:
    """The plan for chunk rows already split (what the generation steps receive)."""

    count, counted_with, exact = counter or prompt_counter(config)
    model = model_identity(config)
    kwargs = request_generation_kwargs(config)
    directory = cache_dir or config.cache_dir or default_cache_dir()
    splits, measured = [], []
    for split, rows in chunks_by_split.items():
        rows = list(rows)[: config.max_chunks] if config.max_chunks else list(rows)
        keyed = [(row, messages_for(row, config)) for row in rows]
        keys = [cache_key(split=split, model=model, messages=m, generation_kwargs=kwargs)
                for _, m in keyed]
        done = _cached(directory, split, keys, config) if config.resume else {}
        measured.extend(done.values())
        pending = [m for (_, m), key in zip(keyed, keys) if key not in done]
        splits.append(SplitPlan(split=split, chunks=len(rows), cached=len(done),
                                to_send=len(pending), prompt_tokens=sum(count(m) for m in pending),
                                output_tokens=0))
    if measured:
        per_request = sum(measured) / len(measured)
        basis = f"the mean of {len(measured)} cached answers of this model, {per_request:.0f} per request"
    else:
        per_request = config.max_new_tokens
        basis = f"at most generation.max_new_tokens={config.max_new_tokens} per request; no cached answer to measure"
    for s in splits:
        s.output_tokens = round(s.to_send * per_request)
    notes = []
    if not config.resume:
        notes.append("generation.resume is off: every chunk is sent, and nothing is kept for a rerun")
    return GenerationPlan(documents=documents, chunks=sum(len(v) for v in chunks_by_split.values()),
                          splits=splits, tokens_counted_with=counted_with, prompt_tokens_exact=exact,
                          output_tokens_basis=basis, config=config, notes=notes)


def _cached(directory: Path, split: str, keys: list[str], config: GenerationConfig) -> dict[str, int]:
    """Output tokens of the usable cached answers among ``keys`` (as the runner counts them)."""
    if not (directory / f"queries-{split}.sqlite").exists():
        return {}
    with ResumeCache(directory, split) as cache:
        found = cache.get_many(keys)
    done = {}
    for key, answer in found.items():
        try:
            parse_generation(answer.raw_output, config.queries_per_chunk)
        except ParseError:
            continue  # the runner asks again for an answer that no longer parses
        done[key] = answer.output_tokens
    return done


def plan_run(config: RunConfig) -> GenerationPlan:
    """Load, chunk and split the corpus as the pipeline does, and plan its generation."""
    from embedtune.corpus import chunk_parts, load_corpus, split_by_document, tokenizer_counter
    from embedtune.models import resolve_model_path

    loaded = load_corpus(config.corpus)
    chunks = chunk_parts(loaded.parts, tokenizer_counter(resolve_model_path(config.training.base_model)),
                         config.chunking)
    train, test = split_by_document(chunks, config.split)
    rows = {split: [dataclasses.asdict(c) for c in part]
            for split, part in ((schema.TRAIN, train), (schema.TEST, test))}
    return plan_for_chunks(rows, config.generation, documents=loaded.counts()["documents"])
