"""How generated queries look in Argilla: dataset settings, record mapping, dataset naming.

One record per generated query, its id the stable query id (``<chunk_id>-q<n>``), so pushing the
same generated dataset again updates records instead of duplicating them. What the annotator
sees and answers:

- fields: the query, the chunk it was generated from, the LLM's negative query;
- questions, each answerable with one click or a quick edit: does the chunk answer the query
  (yes/no), a corrected query (pre-filled with the LLM's query as a suggestion), is the negative
  really *not* answered by the chunk (yes/no, only meaningful when there is a negative);
- suggestions: what the LLM implicitly claimed (yes, its query, yes), with the LLM as agent;
- metadata usable as filters: source file, chunk id, split, the base model's cosine similarity
  query<->chunk and query<->negative (a low first or a high second is a pair worth a look), the
  chunk's token count;
- a vector: the base model's query embedding, so "find similar" groups near-duplicate queries.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Sequence

from embedtune import schema
from embedtune.encoding import encoder

# Names in Argilla (field, question, metadata and vector names); also read back by the pull.
QUERY_FIELD = "query"
CHUNK_FIELD = "chunk"
NEGATIVE_FIELD = "negative"
ANSWERS_QUESTION = "chunk_answers_query"
CORRECTED_QUESTION = "corrected_query"
NEGATIVE_QUESTION = "negative_not_answered"
YES, NO = "yes", "no"
SIM_QUERY_CHUNK = "sim_query_chunk"
SIM_QUERY_NEGATIVE = "sim_query_negative"
CHUNK_TOKENS = "chunk_tokens"
QUERY_VECTOR = "query_embedding"

GUIDELINES = """\
Each record is a search query an LLM wrote for a chunk of our documents, and a "negative" query
it claims the chunk does **not** answer. The pairs train our search model.

1. **Does the chunk answer the query?** Yes if a reader of the chunk alone could answer it.
2. **Corrected query**: edit the pre-filled query if it is vague, has a typo, or leaks words a
   searcher would not know. Leave it as it is otherwise.
3. **Is the negative really not answered?** No if the chunk does answer the negative query.

Submit when done; *Discard* a record that is unusable as a whole (it is then dropped).
Filter on `sim_query_chunk` (low) or `sim_query_negative` (high) to find suspicious pairs first.
"""


def dataset_name(prefix: str, rows: Sequence[dict[str, Any]]) -> str:
    """One Argilla dataset per generated dataset version: the prefix plus a content hash.

    The hash covers what a record shows (ids, queries, chunks, negatives), so the push and the
    later pull of the same generated data agree on the name, and regenerated data gets a new
    dataset instead of mixing with reviews of different queries.
    """
    digest = hashlib.sha256()
    for row in sorted(rows, key=lambda r: r[schema.QUERY_ID]):
        digest.update(json.dumps(
            [row[schema.QUERY_ID], row[schema.QUERY], row[schema.CHUNK_ID], row.get(schema.NEGATIVE_QUERY), row[schema.SPLIT]]
        ).encode())
    return f"{prefix}-{digest.hexdigest()[:10]}"


def review_settings(vector_dimensions: int):
    """The Argilla dataset settings (fields, questions, metadata, vector) for review."""
    import argilla as rg

    return rg.Settings(
        guidelines=GUIDELINES,
        fields=[
            rg.TextField(name=QUERY_FIELD, title="Query (written by the LLM)"),
            rg.TextField(name=CHUNK_FIELD, title="Chunk", use_markdown=False),
            rg.TextField(name=NEGATIVE_FIELD, title="Negative query (the chunk should NOT answer it)",
                         required=False),
        ],
        questions=[
            rg.LabelQuestion(name=ANSWERS_QUESTION, title="Does the chunk answer the query?",
                             labels={YES: "Yes", NO: "No"}, required=True),
            rg.TextQuestion(name=CORRECTED_QUESTION, title="Corrected query (edit if needed)",
                            required=False),
            rg.LabelQuestion(name=NEGATIVE_QUESTION, title="Is the negative really NOT answered by the chunk?",
                             labels={YES: "Yes, not answered", NO: "No, the chunk answers it"},
                             required=False),
        ],
        metadata=[
            rg.TermsMetadataProperty(name=schema.SOURCE, title="Source file"),
            rg.TermsMetadataProperty(name=schema.CHUNK_ID, title="Chunk id"),
            rg.TermsMetadataProperty(name=schema.SPLIT, title="Split"),
            rg.FloatMetadataProperty(name=SIM_QUERY_CHUNK, title="Base model similarity query-chunk"),
            rg.FloatMetadataProperty(name=SIM_QUERY_NEGATIVE, title="Base model similarity query-negative"),
            rg.IntegerMetadataProperty(name=CHUNK_TOKENS, title="Chunk tokens"),
        ],
        vectors=[rg.VectorField(name=QUERY_VECTOR, title="Base model query embedding",
                                dimensions=vector_dimensions)],
    )


def settings_signature(settings) -> dict[str, Any]:
    """What must match between a dataset on the server and the settings we would push.

    Titles and guidelines are cosmetic; names, types, labels, requiredness and vector sizes
    decide whether records and responses can be written and read back.
    """
    def describe(item) -> Any:
        data = item.serialize() if hasattr(item, "serialize") else dict(item)
        kind = data.get("settings", {}).get("type") or data.get("type")
        labels = data.get("settings", {}).get("options")
        return {
            "type": kind,
            "required": data.get("required"),
            "labels": sorted(o["value"] for o in labels) if labels else None,
            "dimensions": data.get("dimensions"),
        }

    return {
        "fields": {f.name: describe(f) for f in settings.fields},
        "questions": {q.name: describe(q) for q in settings.questions},
        "metadata": {m.name: describe(m)["type"] for m in settings.metadata},
        "vectors": {v.name: v.dimensions for v in settings.vectors},
    }


def settings_differences(existing: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    """Human-readable differences between two ``settings_signature`` results."""
    differences = []
    singular = {"fields": "field", "questions": "question", "metadata": "metadata", "vectors": "vector"}
    for section, kind in singular.items():
        have, want = existing.get(section, {}), wanted.get(section, {})
        for name in sorted(set(have) | set(want)):
            if name not in have:
                differences.append(f"{kind} '{name}' is new")
            elif name not in want:
                differences.append(f"{kind} '{name}' is no longer used")
            elif have[name] != want[name]:
                differences.append(f"{kind} '{name}' changed: {have[name]} -> {want[name]}")
    return differences


@dataclass(frozen=True)
class QueryFeatures:
    """What the base model says about one generated query (metadata and vector)."""

    sim_query_chunk: float
    sim_query_negative: float | None
    chunk_tokens: int
    query_embedding: list[float]


def base_model_features(model, rows: Sequence[dict[str, Any]], batch_size: int = 64) -> list[QueryFeatures]:
    """Embed queries, chunks and negatives once with the base model; cosine similarities.

    Chunks are shared by several queries, so each distinct chunk is encoded once. Queries and
    negatives (also queries) are read as queries, chunks as documents (``embedtune.encoding``).
    """
    import numpy as np

    queries = [r[schema.QUERY] for r in rows]
    chunks = sorted({r[schema.POSITIVE] for r in rows})
    negatives = sorted({r[schema.NEGATIVE_QUERY] for r in rows if r.get(schema.NEGATIVE_QUERY)})
    sides = encoder(model, batch_size, show_progress_bar=len(queries) > 2 * batch_size)

    def encode(embed, texts: list[str]) -> np.ndarray:
        return embed(texts) if texts else np.zeros((0, model.get_sentence_embedding_dimension()))

    query_vectors = encode(sides.queries, queries)
    chunk_vectors = dict(zip(chunks, encode(sides.chunks, chunks)))
    negative_vectors = dict(zip(negatives, encode(sides.queries, negatives)))
    token_counts = {chunk: len(model.tokenizer(chunk, add_special_tokens=False)["input_ids"]) for chunk in chunks}
    features = []
    for row, query_vector in zip(rows, query_vectors):
        negative = row.get(schema.NEGATIVE_QUERY)
        features.append(QueryFeatures(
            sim_query_chunk=round(float(query_vector @ chunk_vectors[row[schema.POSITIVE]]), 4),
            sim_query_negative=round(float(query_vector @ negative_vectors[negative]), 4) if negative else None,
            chunk_tokens=token_counts[row[schema.POSITIVE]],
            query_embedding=[float(x) for x in query_vector],
        ))
    return features


def suggestion_agent(model_name: str | None) -> str:
    """The model name as an Argilla suggestion agent: argilla-server accepts only letters, digits,
    spaces and ``-_:./`` there (``gpt-3.5 (seed)`` would reject the whole batch)."""
    agent = re.sub(r"[^a-zA-Z0-9\-_:./\s]", "-", str(model_name or "")).strip()
    return agent if re.search(r"[a-zA-Z0-9]", agent) else "llm"


def to_record(row: dict[str, Any], features: QueryFeatures):
    """One generated query as an Argilla record with the LLM's answers as suggestions."""
    import argilla as rg

    agent = suggestion_agent(row.get(schema.MODEL_NAME))
    negative = row.get(schema.NEGATIVE_QUERY) or None
    suggestions = [
        rg.Suggestion(ANSWERS_QUESTION, YES, agent=agent),
        rg.Suggestion(CORRECTED_QUESTION, row[schema.QUERY], agent=agent),
    ]
    if negative:
        suggestions.append(rg.Suggestion(NEGATIVE_QUESTION, YES, agent=agent))
    metadata = {
        schema.SOURCE: str(row.get(schema.SOURCE) or ""),
        schema.CHUNK_ID: row[schema.CHUNK_ID],
        schema.SPLIT: row[schema.SPLIT],
        SIM_QUERY_CHUNK: features.sim_query_chunk,
        CHUNK_TOKENS: features.chunk_tokens,
    }
    if features.sim_query_negative is not None:
        metadata[SIM_QUERY_NEGATIVE] = features.sim_query_negative
    return rg.Record(
        id=row[schema.QUERY_ID],
        fields={QUERY_FIELD: row[schema.QUERY], CHUNK_FIELD: row[schema.POSITIVE], NEGATIVE_FIELD: negative},
        metadata=metadata,
        suggestions=suggestions,
        vectors={QUERY_VECTOR: features.query_embedding},
    )
