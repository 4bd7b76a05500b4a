"""Content-keyed resume cache: every finished chunk's LLM answer, persisted the moment it arrives.

Generation is the slow and costly stage, and users of similar tools lose hours when a run dies at
a rate limit or a crash and starts from zero. Here each chunk's answer is committed to SQLite as
soon as it is parsed, so a rerun after a crash, ``kill -9`` or Ctrl-C sends no request for it.

Why a content key and not a position: a resume by position ("the first 120 rows are done")
silently attaches answers to the wrong chunks when the corpus, the chunking or the split changes;
one tool leaked training queries into validation that way. The key here is a hash of exactly what
determines the answer: the split, the model, the messages sent (the fixed prompt and the chunk
text as the LLM sees it) and the generation parameters (temperature, token limit, output schema).
Changing the prompt or the model therefore regenerates everything it affects and nothing else;
editing one document regenerates only its chunks.

Why one file per split: train and test must never share answers by accident. The split is also
part of the key, so even a file copied by hand cannot serve one split's answers to the other.

Only usable answers are cached: a failed chunk is asked again on the next run (the server may have
recovered). The raw answer is stored, not the parsed queries, so improving the parser never needs
a new request. API keys are never part of a key or a record.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from embedtune.config import Backend, GenerationConfig

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class CachedAnswer:
    """A finished chunk: the LLM's raw answer and what it cost."""

    raw_output: str
    input_tokens: int
    output_tokens: int


def cache_key(*, split: str, model: str, messages: list[dict[str, str]],
              generation_kwargs: dict[str, Any]) -> str:
    """sha256 of everything that determines the LLM's answer for one chunk."""
    payload = {
        "schema": SCHEMA_VERSION,
        "split": split,
        "model": model,
        "messages": messages,
        "generation_kwargs": generation_kwargs,
    }
    encoded = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


class ResumeCache:
    """One SQLite file per split; each ``put`` is its own committed transaction.

    SQLite's journal makes every commit atomic, so a process killed mid-write leaves the file
    with every earlier chunk intact and never a half-written record.
    """

    def __init__(self, directory: Path, split: str):
        directory.mkdir(parents=True, exist_ok=True)
        self.split = split
        self.path = directory / f"queries-{split}.sqlite"
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS answers ("
            " key TEXT PRIMARY KEY, split TEXT NOT NULL, chunk_id TEXT NOT NULL,"
            " raw_output TEXT NOT NULL, input_tokens INTEGER NOT NULL,"
            " output_tokens INTEGER NOT NULL, created REAL NOT NULL)"
        )

    def get_many(self, keys: Iterable[str]) -> dict[str, CachedAnswer]:
        """The cached answers among ``keys`` (one query per 500 keys)."""
        keys = list(keys)
        found: dict[str, CachedAnswer] = {}
        for start in range(0, len(keys), 500):
            part = keys[start : start + 500]
            rows = self._db.execute(
                "SELECT key, raw_output, input_tokens, output_tokens FROM answers "
                f"WHERE split = ? AND key IN ({','.join('?' * len(part))})",
                [self.split, *part],
            )
            for key, raw, tokens_in, tokens_out in rows:
                found[key] = CachedAnswer(raw, tokens_in, tokens_out)
        return found

    def put(self, key: str, chunk_id: str, answer: CachedAnswer) -> None:
        """Persist one finished chunk now (committed before this returns)."""
        self._db.execute(
            "INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?, ?, ?, ?)",
            (key, self.split, chunk_id, answer.raw_output, answer.input_tokens,
             answer.output_tokens, time.time()),
        )

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM answers").fetchone()[0]

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "ResumeCache":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def default_cache_dir() -> Path:
    from embedtune.bundled.files import cache_dir

    return cache_dir() / "generation"


def model_identity(config: GenerationConfig) -> str:
    """What "the same model" means for the resume cache: the GGUF's sha256 for the embedded
    model; backend and model name for served ones (the host may move, the model is the same)."""
    if config.backend is Backend.embedded:
        from embedtune.bundled.llm import GGUF_SHA256

        return f"embedded:{GGUF_SHA256}"
    return f"{config.backend.value}:{config.model}"
