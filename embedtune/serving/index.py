"""A searchable index of the corpus, in LanceDB (embedded, no server), in the shipped reading.

The index holds one row per chunk (its text, source, page, section and a content hash) and one
row per vector: the chunk's own vector and/or its windows' vectors, each with its parent's id,
as the reading needs (``embedtune.retrieval``). A query's vector hits are folded into their
parents, so a chunk comes back once, with the score the evaluation ranked it by.

It is kept in step with the model and the corpus: a different model (weights, sequence length)
or reading rebuilds it, in a new folder swapped in only when complete; with the same model, an
update embeds only chunks whose content hash is new and deletes rows whose hash is gone, so an
edited document re-embeds its own chunks and nothing else. New rows are added before stale
ones are deleted, so an update that is interrupted leaves a complete index that the next
update finishes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from pydantic import BaseModel

from embedtune.bundled.files import sha256_file
from embedtune.retrieval.index import encode_corpus, encode_queries
from embedtune.retrieval.reading import Reading

os.environ.setdefault("LANCE_LOG", "error")  # lance's Rust logger notes every new dataset

logger = logging.getLogger(__name__)

MANIFEST = "index.json"
CHUNKS_TABLE = "chunks"
VECTORS_TABLE = "vectors"
CHUNK_KIND, WINDOW_KIND = "chunk", "window"
CHUNK_FIELDS = ("chunk_id", "document_id", "source", "page", "section", "position", "text")


class CorpusIndexError(RuntimeError):
    """The index is missing or cannot be used as asked."""


class IndexUpdate(BaseModel):
    """What an update did."""

    rebuilt: bool
    reason: str
    embedded_chunks: int
    kept_chunks: int
    removed_chunks: int
    n_chunks: int
    n_vectors: int
    seconds: float


class SearchHit(BaseModel):
    rank: int
    chunk_id: str
    score: float
    source: str | None = None
    page: int | None = None
    section: str | None = None
    text: str
    best_window: str | None = None  # the window that matched, in a windowed reading


def model_fingerprint(folder: str | Path, max_seq_length: int) -> str:
    """What decides the vectors: the weights, the module configs and the sequence length.

    A model given by hub name (not a local folder) is fingerprinted by its name.
    """
    folder = Path(folder)
    digest = hashlib.sha256(str(max_seq_length).encode())
    if not folder.is_dir():
        digest.update(str(folder).encode())
        return digest.hexdigest()
    files = sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*/config.json"))
    files += [folder / name for name in ("modules.json", "config_sentence_transformers.json")
              if (folder / name).is_file()]
    if not any(p.suffix == ".safetensors" for p in files):
        raise CorpusIndexError(f"{folder} holds no .safetensors weights to fingerprint.")
    for path in files:
        digest.update(path.name.encode())
        digest.update((sha256_file(path) if path.suffix == ".safetensors"
                       else path.read_text(encoding="utf-8")).encode())
    return digest.hexdigest()


def chunk_hash(chunk: dict[str, Any]) -> str:
    """Content hash of a chunk row: what, if changed, changes its vectors or what is shown."""
    payload = json.dumps([chunk.get(k) for k in CHUNK_FIELDS], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def _write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def _quote(values: Sequence[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


class CorpusIndex:
    """The index folder: ``index.json`` (model, reading, counts) and two LanceDB tables."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    @property
    def manifest(self) -> dict[str, Any] | None:
        file = self.path / MANIFEST
        return json.loads(file.read_text(encoding="utf-8")) if file.is_file() else None

    @property
    def reading(self) -> Reading:
        return Reading(**self._require()["reading"])

    def _require(self) -> dict[str, Any]:
        manifest = self.manifest
        if manifest is None:
            raise CorpusIndexError(f"No index at {self.path}.")
        return manifest

    def _db(self, path: Path | None = None):
        import lancedb

        return lancedb.connect(str(path or self.path))

    def _tables(self):
        db = self._db()
        return db.open_table(CHUNKS_TABLE), db.open_table(VECTORS_TABLE)

    # -- building --------------------------------------------------------------------------

    def update(self, model: Any, model_folder: str | Path, reading: Reading,
               chunks: Sequence[dict[str, Any]], batch_size: int = 64,
               details: dict[str, Any] | None = None) -> IndexUpdate:
        """Bring the index in step with ``model`` (saved at ``model_folder``) and ``chunks``."""
        started = time.monotonic()
        ids = [c["chunk_id"] for c in chunks]
        if len(set(ids)) != len(ids):
            raise CorpusIndexError("Chunk ids must be unique: each parent is returned once by its id.")
        if not chunks:
            raise CorpusIndexError("No chunks to index.")
        fingerprint = model_fingerprint(model_folder, model.max_seq_length)
        manifest = self.manifest
        wanted = {"model_fingerprint": fingerprint, "reading": reading.model_dump(mode="json"),
                  "max_seq_length": model.max_seq_length}
        reason = None
        if manifest is None:
            reason = "no index yet"
        elif manifest["model_fingerprint"] != fingerprint:
            reason = "the model changed"
        elif manifest["reading"] != wanted["reading"]:
            reason = f"the reading changed ({Reading(**manifest['reading']).name} -> {reading.name})"
        rows = [{**{k: c.get(k) for k in CHUNK_FIELDS}, "chunk_hash": chunk_hash(c)} for c in chunks]
        info = {**wanted, "model": str(Path(model_folder).resolve()), **(details or {})}
        if reason is not None:
            update = self._rebuild(model, reading, rows, batch_size, info, reason)
        else:
            update = self._refresh(model, reading, rows, batch_size, {**manifest, **info})
        update.seconds = round(time.monotonic() - started, 1)
        logger.info("Index %s: %s; %d chunks embedded, %d kept, %d removed, %d vectors (%.1f s).",
                    self.path, "rebuilt: " + update.reason if update.rebuilt else "updated",
                    update.embedded_chunks, update.kept_chunks, update.removed_chunks,
                    update.n_vectors, update.seconds)
        return update

    def _vector_rows(self, model: Any, reading: Reading, rows: list[dict[str, Any]],
                     batch_size: int) -> list[dict[str, Any]]:
        encoded = encode_corpus(model, [r["chunk_id"] for r in rows], [r["text"] for r in rows],
                                [reading], batch_size, show_progress_bar=len(rows) > 256)
        out = []
        if reading.uses_chunk_vector:
            for row, vector in zip(rows, encoded.chunk_vectors):
                out.append({"chunk_id": row["chunk_id"], "chunk_hash": row["chunk_hash"],
                            "kind": CHUNK_KIND, "text": "", "vector": vector})
        if reading.uses_windows:
            windows = encoded.windows[reading.window_tokens]
            for parent, text, vector in zip(windows.parents, windows.texts, windows.vectors):
                row = rows[int(parent)]
                out.append({"chunk_id": row["chunk_id"], "chunk_hash": row["chunk_hash"],
                            "kind": WINDOW_KIND, "text": text, "vector": vector})
        return out

    @staticmethod
    def _arrow(rows: list[dict[str, Any]], vectors: bool):
        import pyarrow as pa

        if not vectors:
            return pa.Table.from_pylist(rows, schema=pa.schema(
                [("chunk_id", pa.string()), ("document_id", pa.string()), ("source", pa.string()),
                 ("page", pa.int64()), ("section", pa.string()), ("position", pa.int64()),
                 ("text", pa.string()), ("chunk_hash", pa.string())]))
        matrix = np.stack([r["vector"] for r in rows]).astype(np.float32)
        dim = matrix.shape[1]
        return pa.table({
            "chunk_id": [r["chunk_id"] for r in rows],
            "chunk_hash": [r["chunk_hash"] for r in rows],
            "kind": [r["kind"] for r in rows],
            "text": [r["text"] for r in rows],
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(matrix.ravel()), dim),
        })

    def _rebuild(self, model, reading, rows, batch_size, info, reason) -> IndexUpdate:
        partial = self.path.with_name(self.path.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        db = self._db(partial)
        vectors = self._vector_rows(model, reading, rows, batch_size)
        db.create_table(CHUNKS_TABLE, data=self._arrow(rows, vectors=False))
        db.create_table(VECTORS_TABLE, data=self._arrow(vectors, vectors=True))
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        manifest = {**info, "n_chunks": len(rows), "n_vectors": len(vectors),
                    "built_at": now, "updated_at": now}
        _write_manifest(partial, manifest)
        old = self.path.with_name(self.path.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if self.path.exists():
            self.path.rename(old)
        partial.rename(self.path)
        shutil.rmtree(old, ignore_errors=True)
        return IndexUpdate(rebuilt=True, reason=reason, embedded_chunks=len(rows), kept_chunks=0,
                           removed_chunks=0, n_chunks=len(rows), n_vectors=len(vectors),
                           seconds=0.0)

    def _refresh(self, model, reading, rows, batch_size, manifest) -> IndexUpdate:
        chunks_table, vectors_table = self._tables()
        have = set(chunks_table.to_arrow().column("chunk_hash").to_pylist())
        wanted = {r["chunk_hash"] for r in rows}
        new = [r for r in rows if r["chunk_hash"] not in have]
        stale = sorted(have - wanted)
        if new:  # added first: an interrupted update still leaves every chunk searchable
            chunks_table.add(self._arrow(new, vectors=False))
            vectors_table.add(self._arrow(self._vector_rows(model, reading, new, batch_size),
                                          vectors=True))
        if stale:
            where = f"chunk_hash IN ({_quote(stale)})"
            vectors_table.delete(where)
            chunks_table.delete(where)
        manifest.update(n_chunks=chunks_table.count_rows(), n_vectors=vectors_table.count_rows(),
                        updated_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
        _write_manifest(self.path, manifest)
        return IndexUpdate(rebuilt=False, reason="same model and reading",
                           embedded_chunks=len(new), kept_chunks=len(rows) - len(new),
                           removed_chunks=len(stale), n_chunks=manifest["n_chunks"],
                           n_vectors=manifest["n_vectors"], seconds=0.0)

    # -- reading -----------------------------------------------------------------------------

    def chunks(self) -> list[dict[str, Any]]:
        """Every chunk row, in corpus order (document, then position)."""
        self._require()
        rows = self._db().open_table(CHUNKS_TABLE).to_arrow().to_pylist()
        return sorted(rows, key=lambda r: (r["document_id"] or "", r["position"] or 0))

    def search(self, model: Any, query: str, top_k: int = 5) -> list[SearchHit]:
        """The ``top_k`` parent chunks for ``query``, scored as the evaluation scores them.

        In ``chunk`` and ``windows`` readings the ranking is exact: LanceDB searches every
        vector (no approximate index), and the window search widens until it has ``top_k``
        distinct parents, whose best windows are then among the hits. In ``chunk+windows``, the
        parents found by either search are rescored exactly from all of their vectors.
        """
        manifest = self._require()
        reading = Reading(**manifest["reading"])
        chunks_table, vectors_table = self._tables()
        q = encode_queries(model, [query])[0].astype(np.float32)
        n_vectors = manifest["n_vectors"]

        def nearest(kind: str, limit: int):
            table = (vectors_table.search(q).metric("dot").where(f"kind = '{kind}'", prefilter=True)
                     .limit(min(limit, n_vectors)).to_arrow())
            return table.to_pylist()

        best: dict[str, tuple[float, str | None]] = {}
        if reading.uses_windows:
            limit = max(top_k * 8, 32)
            while True:
                hits = nearest(WINDOW_KIND, limit)
                folded: dict[str, tuple[float, str]] = {}
                for hit in hits:
                    score = float(np.dot(q, hit["vector"]))
                    if hit["chunk_id"] not in folded or score > folded[hit["chunk_id"]][0]:
                        folded[hit["chunk_id"]] = (score, hit["text"])
                if len(folded) >= top_k or len(hits) < limit or limit >= n_vectors:
                    break
                limit *= 4
            best = dict(folded)
        if reading.uses_chunk_vector:
            chunk_hits = {h["chunk_id"]: float(np.dot(q, h["vector"]))
                          for h in nearest(CHUNK_KIND, max(top_k * 4, 16) if best else top_k)}
            if not reading.uses_windows:
                best = {cid: (s, None) for cid, s in chunk_hits.items()}
            else:
                best = self._rescore(vectors_table, q, set(best) | set(chunk_hits))
        ranked = sorted(best.items(), key=lambda item: -item[1][0])[:top_k]
        meta = {r["chunk_id"]: r for r in chunks_table.search().where(
            f"chunk_id IN ({_quote([cid for cid, _ in ranked])})").limit(None).to_arrow().to_pylist()
        } if ranked else {}
        return [SearchHit(rank=i + 1, chunk_id=cid, score=round(score, 4),
                          source=meta[cid]["source"], page=meta[cid]["page"],
                          section=meta[cid]["section"], text=meta[cid]["text"], best_window=window)
                for i, (cid, (score, window)) in enumerate(ranked)]

    @staticmethod
    def _rescore(vectors_table, q, candidates: set[str]) -> dict[str, tuple[float, str | None]]:
        """chunk + best window, from every vector of each candidate parent."""
        rows = vectors_table.search().where(f"chunk_id IN ({_quote(sorted(candidates))})") \
            .limit(None).to_arrow().to_pylist()
        chunk_score: dict[str, float] = {}
        window: dict[str, tuple[float, str]] = {}
        for row in rows:
            score = float(np.dot(q, row["vector"]))
            cid = row["chunk_id"]
            if row["kind"] == CHUNK_KIND:
                chunk_score[cid] = score
            elif cid not in window or score > window[cid][0]:
                window[cid] = (score, row["text"])
        return {cid: (chunk_score[cid] + window[cid][0], window[cid][1])
                for cid in candidates if cid in chunk_score and cid in window}
