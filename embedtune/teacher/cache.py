"""A disk cache of one model's embeddings, so the teacher encodes each text once per machine.

The teacher is ~14x the student's size: encoding the Lyft filing's 334 chunks takes minutes on
2 cores, and every run, benchmark draw and reading would pay it again for the same texts. The
cache keys each vector by the model's identity, the text's role (query or document), the prompt
and sequence length it was read with, and the text, so a change to any of them misses.
``CachingModel`` wraps a SentenceTransformer with the two methods ``embedtune.encoding`` calls
(``encode_query`` and ``encode_document``), so every stage reads the teacher through it unchanged.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import time
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

BLOCK = 64  # texts encoded between progress lines and cache commits


class EmbeddingCache:
    """float32 vectors in SQLite, keyed by a sha256 of everything that shapes them."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB)")
        self._db.commit()

    @staticmethod
    def key(*parts: str) -> str:
        digest = hashlib.sha256()
        for part in parts:
            digest.update(part.encode("utf-8"))
            digest.update(b"\x00")
        return digest.hexdigest()

    def get_many(self, keys: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 500):
            part = unique[start:start + 500]
            rows = self._db.execute(
                f"SELECT key, vector FROM vectors WHERE key IN ({','.join('?' * len(part))})", part)
            for key, blob in rows:
                found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO vectors (key, vector) VALUES (?, ?)",
            [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items.items()])
        self._db.commit()

    def close(self) -> None:
        self._db.close()


class CachingModel:
    """A SentenceTransformer whose ``encode_query`` / ``encode_document`` read the cache first.

    Only the misses are encoded, in blocks of ``BLOCK`` texts with a progress line each, and
    stored as they come, so an interrupted encoding keeps what it finished. Returned vectors are
    L2-normalised float32 whatever the caller asks, as everything in embedtune uses them.
    """

    def __init__(self, model: Any, cache: EmbeddingCache, identity: str, label: str = "teacher"):
        self.model = model
        self.cache = cache
        self.identity = identity
        self.label = label
        self.encoded = 0  # texts encoded by the model (cache misses)
        self.reused = 0   # texts served from the cache
        self.seconds = 0.0

    def __getattr__(self, name: str) -> Any:  # tokenizer, prompts, max_seq_length, ...
        return getattr(self.model, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "max_seq_length":
            self.model.max_seq_length = value
        else:
            super().__setattr__(name, value)

    def _prompt(self, role: str) -> str:
        from embedtune.encoding import QUERY, role_prompts

        return role_prompts(self.model)[QUERY if role == "query" else "document"]

    def _encode(self, role: str, texts: list[str], batch_size: int = 32, **_: Any) -> np.ndarray:
        texts = list(texts)
        prompt = self._prompt(role)
        length = str(self.model.max_seq_length)
        keys = [EmbeddingCache.key(self.identity, role, prompt, length, t) for t in texts]
        found = self.cache.get_many(keys)
        todo = list(dict.fromkeys(k for k in keys if k not in found))
        self.reused += len(texts) - len(todo)
        if todo:
            by_key = dict(zip(keys, texts))
            encode = self.model.encode_query if role == "query" else self.model.encode_document
            started = time.monotonic()
            for start in range(0, len(todo), BLOCK):
                block = todo[start:start + BLOCK]
                vectors = encode([by_key[k] for k in block], batch_size=batch_size,
                                 convert_to_numpy=True, normalize_embeddings=True,
                                 show_progress_bar=False).astype(np.float32)
                fresh = dict(zip(block, vectors))
                self.cache.put_many(fresh)
                found.update(fresh)
                logger.info("%s: encoded %d/%d %s texts (%.0fs)", self.label,
                            min(start + BLOCK, len(todo)), len(todo), role,
                            time.monotonic() - started)
            self.encoded += len(todo)
            self.seconds += time.monotonic() - started
        if not texts:
            return np.zeros((0, self.model.get_embedding_dimension()), dtype=np.float32)
        return np.stack([found[k] for k in keys])

    def encode_query(self, texts: list[str], **kwargs: Any) -> np.ndarray:
        return self._encode("query", texts, **kwargs)

    def encode_document(self, texts: list[str], **kwargs: Any) -> np.ndarray:
        return self._encode("document", texts, **kwargs)
