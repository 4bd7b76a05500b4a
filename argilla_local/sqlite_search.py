"""A search backend for the real ``argilla-server`` 2.8 that keeps its index in one SQLite file.

Argilla server needs Elasticsearch or OpenSearch for search, filters, progress and "find
similar". For a review of a few thousand generated queries on one machine that is a heavy extra
service (and neither can be installed here), so this module implements argilla-server's
``SearchEngine`` interface on SQLite and registers it as ``ARGILLA_SEARCH_ENGINE=sqlite``.

It runs *inside the argilla-server virtualenv* (server and rq worker), never beside ZenML: it
imports ``argilla_server``. ``argilla_local.server_entry`` imports it before the server or
worker starts, which is what registration needs (argilla-server has no plugin entry point).

Why SQLite: the engine is instantiated per request and in the worker process, so the index must
live on disk and be shared between processes; SQLite (WAL mode) does that with no service to run.

Semantics reproduced from argilla-server's Elasticsearch mapping (``search_engine/commons.py``):

- text search: ``simple_query_string`` with AND as default operator over one field or all text
  fields (a term may match in any field), ``"phrases"``, ``prefix*``, ``-exclusion`` and ``a | b``;
  FTS5's unicode61 tokenizer (lower-cased, diacritics folded) stands in for ES's standard analyzer;
  relevance is FTS5's BM25;
- filters: terms/range on metadata, suggestions (value/score/agent/type), record properties and
  responses (per question, per user), response status where ``pending`` means "no response (by
  that user)"; ``AndFilter`` nests;
- sort on metadata, suggestions, responses (average over responses, per user), record properties,
  with missing values last in both directions; without a sort, a user's listing is shuffled
  deterministically per user (ES ``random_score`` seeded with the user id);
- metadata metrics (terms counts, numeric min/max), dataset progress by record status, a user's
  progress by response status;
- similarity: exact cosine kNN with ES's score ``(1 + cos) / 2``, ``least_similar`` by the
  inverted vector, the source record excluded, filters and a text query applied before ranking.

Only ORM relationships that argilla-server has already loaded are touched (the same ones its
Elasticsearch engine reads); touching others raises ``MissingGreenlet`` under async SQLAlchemy.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, List, Optional, Union
from uuid import UUID

import numpy as np
from argilla_server.enums import MetadataPropertyType, ResponseStatusFilter, SimilarityOrder, SortOrder
from argilla_server.models import (
    Dataset,
    MetadataProperty,
    Record,
    Response,
    Suggestion,
    User,
    VectorSettings,
)
from argilla_server.search_engine.base import (
    AndFilter,
    Filter,
    FloatMetadataMetrics,
    IntegerMetadataMetrics,
    MetadataFilterScope,
    MetadataMetrics,
    Order,
    RangeFilter,
    RecordFilterScope,
    ResponseFilterScope,
    SearchEngine,
    SearchResponseItem,
    SearchResponses,
    SuggestionFilterScope,
    TermsFilter,
    TermsMetrics,
    TextQuery,
)

ENGINE_NAME = "sqlite"
DB_PATH_ENV = "EMBEDTUNE_ARGILLA_SEARCH_DB"
RECORD_COLUMNS = {"id", "external_id", "status", "inserted_at", "updated_at"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS indexes (
    idx TEXT PRIMARY KEY,
    text_fields TEXT NOT NULL          -- JSON list: field name of each FTS column c0, c1, ...
);
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- insertion order, ES's order for match_all
    idx TEXT NOT NULL,
    id TEXT NOT NULL,
    external_id TEXT,
    status TEXT,
    inserted_at TEXT,
    updated_at TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    suggestions TEXT NOT NULL DEFAULT '{}',
    UNIQUE (idx, id)
);
CREATE TABLE IF NOT EXISTS responses (
    id TEXT PRIMARY KEY,
    idx TEXT NOT NULL,
    record_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    status TEXT NOT NULL,
    vals TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS responses_record ON responses (record_id);
CREATE INDEX IF NOT EXISTS responses_idx_user ON responses (idx, user_id);
CREATE TABLE IF NOT EXISTS vectors (
    idx TEXT NOT NULL,
    record_id TEXT NOT NULL,
    settings_id TEXT NOT NULL,
    value BLOB NOT NULL,               -- float32, L2-normalised (cosine is then a dot product)
    PRIMARY KEY (record_id, settings_id)
);
CREATE INDEX IF NOT EXISTS vectors_idx ON vectors (idx, settings_id);
"""


def database_path() -> Path:
    """The index file: ``$EMBEDTUNE_ARGILLA_SEARCH_DB``, else ``$ARGILLA_HOME_PATH/search.sqlite``."""
    explicit = os.environ.get(DB_PATH_ENV)
    if explicit:
        return Path(explicit)
    home = os.environ.get("ARGILLA_HOME_PATH") or str(Path.home() / ".argilla")
    return Path(home) / "search.sqlite"


def index_name(dataset_id: Any) -> str:
    return f"rg.{dataset_id}"


def _fts_table(idx: str) -> str:
    return "fts_" + hashlib.sha1(idx.encode()).hexdigest()[:20]


def _json_path(*keys: str) -> str:
    return "$" + "".join('."' + key.replace('"', '\\"') + '"' for key in keys)


def _iso(value: Optional[datetime]) -> Optional[str]:
    return value.isoformat() if value is not None else None


def _user_shuffle(user_id: str, record_id: str) -> float:
    """A per-user pseudo-random weight in (0, 1], stable across requests (ES random_score)."""
    digest = hashlib.blake2b(f"{user_id}:{record_id}".encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") + 1) / 2**64


# ---------------------------------------------------------------- simple_query_string -> FTS5

_TOKEN = re.compile(r'"[^"]*"?|\(|\)|\||[^\s()|]+')
_WORD = re.compile(r"\w+", re.UNICODE)


def _phrase(text: str) -> Optional[str]:
    words = _WORD.findall(text)
    if not words:
        return None
    return '"' + " ".join(w.replace('"', '""') for w in words) + '"'


def fts_query(q: str, columns: Optional[List[str]] = None) -> tuple[Optional[str], Optional[str]]:
    """Translate an ES ``simple_query_string`` (default operator AND) into FTS5 MATCH strings.

    Returns ``(positive, negative)``: records must match ``positive`` (if any) and must not match
    ``negative`` (if any). Parentheses are ignored (operators then apply left to right), which
    is the only part of the syntax not reproduced. ``columns`` restricts terms to those FTS
    columns (a search in one field).
    """
    colspec = "{" + " ".join(columns) + "} : " if columns else ""
    groups: List[List[str]] = [[]]  # OR of AND-groups
    negatives: List[str] = []
    pending_or = False
    for token in _TOKEN.findall(q):
        if token in ("(", ")"):
            continue
        if token == "|":
            pending_or = True
            continue
        negate = token.startswith("-") and len(token) > 1
        token = token.lstrip("+-") if not token.startswith('"') else token
        prefix = token.endswith("*") and not token.startswith('"')
        phrase = _phrase(token.strip('"').rstrip("*"))
        if phrase is None:
            continue
        term = colspec + phrase + ("*" if prefix else "")
        if negate:
            negatives.append(term)
            continue
        if pending_or and groups[-1]:
            groups.append([])
        pending_or = False
        groups[-1].append(term)
    alternatives = ["(" + " AND ".join(group) + ")" for group in groups if group]
    positive = " OR ".join(alternatives) if alternatives else None
    negative = " OR ".join(negatives) if negatives else None
    return positive, negative


# ---------------------------------------------------------------- the engine


@SearchEngine.register(engine_name=ENGINE_NAME)
class SQLiteSearchEngine(SearchEngine):
    """argilla-server's search interface on one SQLite file shared by the server and worker."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), timeout=30.0, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)

    @classmethod
    async def new_instance(cls) -> "SQLiteSearchEngine":
        return cls(database_path())

    async def close(self):
        self.db.close()

    async def ping(self) -> bool:
        return self.db.execute("SELECT 1").fetchone() == (1,)

    async def info(self) -> dict:
        return {"distribution": "embedtune-sqlite", "version": sqlite3.sqlite_version}

    # -- index life cycle ----------------------------------------------------------------------

    def _text_fields(self, idx: str) -> List[str]:
        row = self.db.execute("SELECT text_fields FROM indexes WHERE idx = ?", (idx,)).fetchone()
        if row is None:
            raise ValueError(f"No search index for {idx}: the dataset has not been published.")
        return json.loads(row[0])

    async def create_index(self, dataset: Dataset):
        idx = index_name(dataset.id)
        names = [field.name for field in dataset.fields if not field.is_image]
        columns = ", ".join(f"c{i}" for i in range(len(names))) or "c0"
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute(
                "INSERT OR REPLACE INTO indexes (idx, text_fields) VALUES (?, ?)", (idx, json.dumps(names))
            )
            self.db.execute(f'DROP TABLE IF EXISTS "{_fts_table(idx)}"')
            self.db.execute(
                f'CREATE VIRTUAL TABLE "{_fts_table(idx)}" USING fts5('
                f"record_id UNINDEXED, {columns}, tokenize='unicode61 remove_diacritics 2')"
            )

    async def delete_index(self, dataset: Dataset):
        idx = index_name(dataset.id)
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            for table in ("indexes", "records", "responses", "vectors"):
                self.db.execute(f"DELETE FROM {table} WHERE idx = ?", (idx,))
            self.db.execute(f'DROP TABLE IF EXISTS "{_fts_table(idx)}"')

    async def configure_metadata_property(self, dataset: Dataset, metadata_property: MetadataProperty):
        """Nothing to map: metadata is stored as JSON and read with SQLite's JSON functions."""

    async def configure_index_vectors(self, vector_settings: VectorSettings):
        """Nothing to map: vectors are stored per vector-settings id."""

    # -- documents -----------------------------------------------------------------------------

    @staticmethod
    def _field_text(field: Any, value: Any) -> str:
        if value is None:
            return ""
        if field.is_chat and isinstance(value, list):
            return "\n".join(str(m.get("content", "")) for m in value if isinstance(m, dict))
        return value if isinstance(value, str) else json.dumps(value)

    async def index_records(self, dataset: Dataset, records: Iterable[Record]):
        idx = index_name(dataset.id)
        fts = _fts_table(idx)
        text_fields = self._text_fields(idx)
        fields_by_name = {field.name: field for field in dataset.fields}
        metadata_names = {p.name for p in dataset.metadata_properties}
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            for record in records:
                rid = str(record.id)
                metadata = {k: v for k, v in (record.metadata_ or {}).items() if k in metadata_names and v is not None}
                suggestions = {
                    s.question.name: {"type": s.type, "agent": s.agent, "score": s.score, "value": s.value}
                    for s in record.suggestions
                }
                self.db.execute(
                    "INSERT INTO records (idx, id, external_id, status, inserted_at, updated_at, metadata, suggestions)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (idx, id) DO UPDATE SET"
                    " external_id = excluded.external_id, status = excluded.status,"
                    " inserted_at = excluded.inserted_at, updated_at = excluded.updated_at,"
                    " metadata = excluded.metadata, suggestions = excluded.suggestions",
                    (idx, rid, record.external_id, record.status, _iso(record.inserted_at),
                     _iso(record.updated_at), json.dumps(metadata), json.dumps(suggestions)),
                )
                # The FTS row shares the record's seq as rowid: record_id is UNINDEXED in FTS5, so
                # deleting by it would scan the whole table for every record (quadratic pushes).
                seq = self.db.execute("SELECT seq FROM records WHERE idx = ? AND id = ?", (idx, rid)).fetchone()[0]
                self.db.execute(f'DELETE FROM "{fts}" WHERE rowid = ?', (seq,))
                texts = [self._field_text(fields_by_name[name], (record.fields or {}).get(name)) for name in text_fields]
                if texts:
                    marks = ", ".join("?" * (len(texts) + 2))
                    self.db.execute(f'INSERT INTO "{fts}" (rowid, record_id, {", ".join(f"c{i}" for i in range(len(texts)))})'
                                    f" VALUES ({marks})", (seq, rid, *texts))
                self.db.execute("DELETE FROM responses WHERE record_id = ?", (rid,))
                for response in record.responses:
                    self._upsert_response(idx, response)
                self.db.execute("DELETE FROM vectors WHERE record_id = ?", (rid,))
                for vector in record.vectors:
                    self._upsert_vector(idx, rid, str(vector.vector_settings_id), vector.value)

    def _upsert_response(self, idx: str, response: Response) -> None:
        values = {q: (v or {}).get("value") for q, v in (response.values or {}).items()}
        self.db.execute(
            "INSERT OR REPLACE INTO responses (id, idx, record_id, user_id, status, vals) VALUES (?, ?, ?, ?, ?, ?)",
            (str(response.id), idx, str(response.record_id), str(response.user_id), str(response.status),
             json.dumps(values)),
        )

    def _upsert_vector(self, idx: str, record_id: str, settings_id: str, value: List[float]) -> None:
        vector = np.asarray(value, dtype=np.float32)
        norm = float(np.linalg.norm(vector))
        if norm > 0:
            vector = vector / norm
        self.db.execute(
            "INSERT OR REPLACE INTO vectors (idx, record_id, settings_id, value) VALUES (?, ?, ?, ?)",
            (idx, record_id, settings_id, vector.tobytes()),
        )

    async def partial_record_update(self, record: Record, **update):
        columns = {k: v for k, v in update.items() if k in RECORD_COLUMNS - {"id"}}
        if "metadata" in update:
            columns["metadata"] = json.dumps({k: v for k, v in (update["metadata"] or {}).items() if v is not None})
        if not columns:
            return
        sets = ", ".join(f"{column} = ?" for column in columns)
        values = [_iso(v) if isinstance(v, datetime) else (str(v) if v is not None else None) for v in columns.values()]
        with self.db:
            self.db.execute(
                f"UPDATE records SET {sets} WHERE idx = ? AND id = ?",
                (*values, index_name(record.dataset_id), str(record.id)),
            )

    async def delete_records(self, dataset: Dataset, records: Iterable[Record]):
        idx = index_name(dataset.id)
        fts = _fts_table(idx)
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            for record in records:
                rid = str(record.id)
                row = self.db.execute("SELECT seq FROM records WHERE idx = ? AND id = ?", (idx, rid)).fetchone()
                if row is not None:
                    self.db.execute(f'DELETE FROM "{fts}" WHERE rowid = ?', row)
                self.db.execute("DELETE FROM records WHERE idx = ? AND id = ?", (idx, rid))
                self.db.execute("DELETE FROM responses WHERE record_id = ?", (rid,))
                self.db.execute("DELETE FROM vectors WHERE record_id = ?", (rid,))

    async def update_record_response(self, response: Response):
        with self.db:
            self._upsert_response(index_name(response.record.dataset_id), response)

    async def delete_record_response(self, response: Response):
        with self.db:
            self.db.execute("DELETE FROM responses WHERE id = ?", (str(response.id),))

    async def update_record_suggestion(self, suggestion: Suggestion):
        value = {"type": suggestion.type, "agent": suggestion.agent, "score": suggestion.score, "value": suggestion.value}
        with self.db:
            self.db.execute(
                "UPDATE records SET suggestions = json_set(suggestions, ?, json(?)) WHERE id = ?",
                (_json_path(suggestion.question.name), json.dumps(value), str(suggestion.record_id)),
            )

    async def delete_record_suggestion(self, suggestion: Suggestion):
        with self.db:
            self.db.execute(
                "UPDATE records SET suggestions = json_remove(suggestions, ?) WHERE id = ?",
                (_json_path(suggestion.question.name), str(suggestion.record_id)),
            )

    # -- progress and metrics ------------------------------------------------------------------

    async def get_dataset_progress(self, dataset: Dataset) -> dict:
        if dataset.is_draft:
            return {}
        rows = self.db.execute(
            "SELECT status, count(*) FROM records WHERE idx = ? AND status IS NOT NULL GROUP BY status",
            (index_name(dataset.id),),
        ).fetchall()
        return {"total": sum(n for _, n in rows), **dict(rows)}

    async def get_dataset_user_progress(self, dataset: Dataset, user: User) -> dict:
        if dataset.is_draft:
            return {}
        rows = self.db.execute(
            "SELECT status, count(*) FROM responses WHERE idx = ? AND user_id = ? GROUP BY status",
            (index_name(dataset.id), str(user.id)),
        ).fetchall()
        return {"total": sum(n for _, n in rows), **dict(rows)}

    async def compute_metrics_for(self, metadata_property: MetadataProperty) -> MetadataMetrics:
        idx = index_name(metadata_property.dataset_id)
        path = _json_path(metadata_property.name)
        if metadata_property.type == MetadataPropertyType.terms:
            rows = self.db.execute(
                "SELECT CAST(j.value AS TEXT) AS term, count(*) AS n FROM records r, json_each(r.metadata, ?) j"
                " WHERE r.idx = ? GROUP BY term ORDER BY n DESC, term",
                (path, idx),
            ).fetchall()
            return TermsMetrics(
                total=sum(n for _, n in rows),
                values=[TermsMetrics.TermCount(term=term, count=n) for term, n in rows],
            )
        low, high = self.db.execute(
            "SELECT min(json_extract(metadata, ?)), max(json_extract(metadata, ?)) FROM records WHERE idx = ?",
            (path, path, idx),
        ).fetchone()
        if metadata_property.type == MetadataPropertyType.integer:
            return IntegerMetadataMetrics(min=low, max=high)
        return FloatMetadataMetrics(min=low, max=high)

    # -- filters and sorting -------------------------------------------------------------------

    def _filter_sql(self, filter: Filter) -> tuple[str, list]:
        """A SQL condition on ``records r`` for an argilla-server filter."""
        if isinstance(filter, AndFilter):
            parts = [self._filter_sql(f) for f in filter.filters]
            if not parts:
                return "1", []
            return "(" + " AND ".join(sql for sql, _ in parts) + ")", [p for _, params in parts for p in params]
        scope = filter.scope
        if isinstance(scope, ResponseFilterScope):
            return self._response_filter_sql(filter)
        if isinstance(scope, MetadataFilterScope):
            return self._value_condition("r.metadata", _json_path(scope.metadata_property), filter)
        if isinstance(scope, SuggestionFilterScope):
            return self._value_condition("r.suggestions", _json_path(scope.question, scope.property), filter)
        if isinstance(scope, RecordFilterScope):
            if scope.property not in RECORD_COLUMNS:
                raise ValueError(f"Cannot filter on record property {scope.property!r}")
            return self._column_condition(f"r.{scope.property}", filter)
        raise ValueError(f"Cannot process filter scope {scope}")

    @staticmethod
    def _value_condition(document: str, path: str, filter: Filter) -> tuple[str, list]:
        """Terms: any element of the (scalar or list) value is one of the terms. Range: bounds."""
        if isinstance(filter, TermsFilter):
            marks = ", ".join("?" * len(filter.values))
            return (
                f"EXISTS (SELECT 1 FROM json_each({document}, ?) j WHERE CAST(j.value AS TEXT) IN ({marks}))",
                [path, *[str(v) for v in filter.values]],
            )
        if isinstance(filter, RangeFilter):
            return SQLiteSearchEngine._range(f"json_extract({document}, ?)", [path], filter)
        raise ValueError(f"Cannot process filter {filter}")

    @staticmethod
    def _column_condition(column: str, filter: Filter) -> tuple[str, list]:
        if isinstance(filter, TermsFilter):
            marks = ", ".join("?" * len(filter.values))
            return f"{column} IN ({marks})", [str(v) for v in filter.values]
        if isinstance(filter, RangeFilter):
            return SQLiteSearchEngine._range(column, [], filter)
        raise ValueError(f"Cannot process filter {filter}")

    @staticmethod
    def _range(expression: str, params: list, filter: RangeFilter) -> tuple[str, list]:
        parts, values = [f"{expression} IS NOT NULL"], list(params)
        if filter.ge is not None:
            parts.append(f"{expression} >= ?")
            values += [*params, filter.ge]
        if filter.le is not None:
            parts.append(f"{expression} <= ?")
            values += [*params, filter.le]
        return "(" + " AND ".join(parts) + ")", values

    def _response_filter_sql(self, filter: Filter) -> tuple[str, list]:
        scope: ResponseFilterScope = filter.scope
        user_sql, user_params = ("", [])
        if scope.user is not None:
            user_sql, user_params = " AND s.user_id = ?", [str(scope.user.id)]
        if scope.question:
            condition, params = self._value_condition("s.vals", _json_path(scope.question), filter)
            return (
                f"EXISTS (SELECT 1 FROM responses s WHERE s.record_id = r.id{user_sql} AND {condition})",
                [*user_params, *params],
            )
        if scope.property == "status" and isinstance(filter, TermsFilter):
            statuses = [str(v) for v in filter.values]
            parts, params = [], []
            if ResponseStatusFilter.pending in statuses:
                # pending: no response at all, or none by this user (ES must_not on responses).
                parts.append(f"NOT EXISTS (SELECT 1 FROM responses s WHERE s.record_id = r.id{user_sql})")
                params += user_params
                statuses = [s for s in statuses if s != ResponseStatusFilter.pending]
            if statuses:
                marks = ", ".join("?" * len(statuses))
                parts.append(
                    f"EXISTS (SELECT 1 FROM responses s WHERE s.record_id = r.id{user_sql} AND s.status IN ({marks}))"
                )
                params += [*user_params, *statuses]
            return ("(" + " OR ".join(parts) + ")" if parts else "1"), params
        raise ValueError(f"Cannot process filter scope {scope}")

    def _sort_sql(self, order: Order) -> tuple[str, list]:
        scope = order.scope
        if isinstance(scope, MetadataFilterScope):
            expression, params = "json_extract(r.metadata, ?)", [_json_path(scope.metadata_property)]
        elif isinstance(scope, SuggestionFilterScope):
            expression, params = "json_extract(r.suggestions, ?)", [_json_path(scope.question, scope.property)]
        elif isinstance(scope, RecordFilterScope):
            if scope.property not in RECORD_COLUMNS:
                raise ValueError(f"Cannot sort on record property {scope.property!r}")
            expression, params = f"r.{scope.property}", []
        elif isinstance(scope, ResponseFilterScope):
            user_sql, params = ("", [])
            if scope.user is not None:
                user_sql, params = " AND s.user_id = ?", [str(scope.user.id)]
            column = "s.status" if not scope.question else "json_extract(s.vals, ?)"
            params = ([_json_path(scope.question)] if scope.question else []) + params
            aggregate = "avg" if scope.question else "min"
            expression = f"(SELECT {aggregate}({column}) FROM responses s WHERE s.record_id = r.id{user_sql})"
        else:
            raise ValueError(f"Cannot process sort scope {scope}")
        direction = "DESC" if order.order == SortOrder.desc else "ASC"
        # Missing values last in both directions, as ES sorts them by default.
        return f"({expression}) IS NULL, ({expression}) {direction}", params * 2

    def _candidates(self, dataset: Dataset, query, filter: Optional[Filter]) -> tuple[str, list, str, list]:
        """FROM/WHERE of the records matching a text query and a filter, and a score expression."""
        idx = index_name(dataset.id)
        where, params = ["r.idx = ?"], [idx]
        score, score_params = "1.0", []
        joins = ""
        if query is not None:
            text = TextQuery(q=query) if isinstance(query, str) else query
            text_fields = self._text_fields(idx)
            columns = None
            if text.field:
                if text.field not in text_fields:
                    raise ValueError(f"Field {text.field} not found in dataset {dataset.id}")
                columns = [f"c{text_fields.index(text.field)}"]
            positive, negative = fts_query(text.q, columns)
            fts = _fts_table(idx)
            if positive is not None:
                # The FTS index drives the query; records are looked up by their (idx, id) key.
                joins = f' JOIN (SELECT record_id, -bm25("{fts}") AS relevance FROM "{fts}" WHERE "{fts}" MATCH ?) f'
                params = [positive, *params]
                where.append("r.id = f.record_id")
                score = "f.relevance"
            if negative is not None:
                where.append(f'r.id NOT IN (SELECT record_id FROM "{fts}" WHERE "{fts}" MATCH ?)')
                params.append(negative)
        if filter is not None:
            condition, condition_params = self._filter_sql(filter)
            where.append(condition)
            params += condition_params
        return f"FROM records r{joins} WHERE " + " AND ".join(where), params, score, score_params

    # -- search --------------------------------------------------------------------------------

    async def search(
        self,
        dataset: Dataset,
        query: Optional[Union[TextQuery, str]] = None,
        filter: Optional[Filter] = None,
        sort: Optional[List[Order]] = None,
        offset: int = 0,
        limit: int = 100,
        user_id: Optional[str] = None,
    ) -> SearchResponses:
        source, params, score, _ = self._candidates(dataset, query, filter)
        total = self.db.execute(f"SELECT count(*) {source}", params).fetchone()[0]
        if user_id is not None:
            # ES function_score with random_score seeded by the user: relevance x per-user weight.
            self.db.create_function("user_shuffle", 2, _user_shuffle, deterministic=True)
            score = f"({score}) * user_shuffle(?, r.id)"
            score_params = [str(user_id)]
        else:
            score_params = []
        order_parts, order_params = [], []
        for order in sort or []:
            sql, sort_params = self._sort_sql(order)
            order_parts.append(sql)
            order_params += sort_params
        if not sort:
            order_parts.append("score DESC")
        order_parts.append("r.seq")
        rows = self.db.execute(
            f"SELECT r.id, {score} AS score {source} ORDER BY {', '.join(order_parts)} LIMIT ? OFFSET ?",
            [*score_params, *params, *order_params, limit, offset],
        ).fetchall()
        return SearchResponses(items=[SearchResponseItem(record_id=UUID(rid), score=s) for rid, s in rows], total=total)

    async def similarity_search(
        self,
        dataset: Dataset,
        vector_settings: VectorSettings,
        value: Optional[List[float]] = None,
        record: Optional[Record] = None,
        query: Optional[Union[TextQuery, str]] = None,
        filter: Optional[Filter] = None,
        max_results: int = 100,
        order: SimilarityOrder = SimilarityOrder.most_similar,
        threshold: Optional[float] = None,
    ) -> SearchResponses:
        if bool(value) == bool(record):
            raise ValueError("Must provide either vector value or record to compute the similarity search")
        excluded = None
        if not value:
            excluded = str(record.id)
            value = record.vector_value_by_vector_settings(vector_settings)
        if not value:
            raise ValueError("Cannot find a vector value to apply with provided info")
        target = np.asarray(value, dtype=np.float32)
        target = target / (np.linalg.norm(target) or 1.0)
        if order == SimilarityOrder.least_similar:
            target = -target
        source, params, _, _ = self._candidates(dataset, query, filter)
        rows = self.db.execute(
            f"SELECT v.record_id, v.value FROM vectors v WHERE v.settings_id = ? AND v.record_id IN "
            f"(SELECT r.id {source})",
            [str(vector_settings.id), *params],
        ).fetchall()
        rows = [row for row in rows if row[0] != excluded]
        if not rows:
            return SearchResponses(items=[], total=0)
        matrix = np.frombuffer(b"".join(blob for _, blob in rows), dtype=np.float32).reshape(len(rows), -1)
        scores = (1.0 + matrix @ target) / 2.0
        top = np.argsort(-scores, kind="stable")[:max_results]
        items = [
            SearchResponseItem(record_id=UUID(rows[i][0]), score=float(scores[i]))
            for i in top
            if threshold is None or scores[i] >= threshold
        ]
        return SearchResponses(items=items, total=len(items))
