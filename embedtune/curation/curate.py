"""Filter generated queries and mine hard negatives for them from the training chunks.

Order matters and is cheap-first: rule filters (length, copies, exact duplicates) need no model;
near-duplicates, the round-trip check and mining share one encoding of the queries and chunks
with the *base* model, the model the training starts from.

Only training chunks are candidates, for both the round-trip check and mining: test chunks are
never shown to training, not even as negatives, so the held-out evaluation stays held out.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from embedtune import schema
from embedtune.config import CurationConfig, TeacherConfig
from embedtune.curation.text import copied_fraction, normalized, words
from embedtune.encoding import Encoder
from embedtune.teacher.embeddings import TeacherEmbeddings

logger = logging.getLogger(__name__)



@dataclass
class CurationResult:
    rows: list[dict[str, Any]]
    dropped: list[dict[str, Any]]  # the dropped query rows, each with schema.FAILURE_REASON
    report: dict[str, Any] = field(default_factory=dict)


def _drop(row: dict[str, Any], reason: str, dropped: list[dict[str, Any]]) -> None:
    dropped.append({schema.QUERY_ID: row[schema.QUERY_ID], schema.QUERY: row[schema.QUERY],
                    schema.CHUNK_ID: row[schema.CHUNK_ID], schema.FAILURE_REASON: reason})


def rule_filter(
    rows: Sequence[dict[str, Any]], config: CurationConfig
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, set[str]]]:
    """Length, copy and exact-duplicate filters.

    Returns the kept rows, the dropped ones, and for each normalised query text every chunk it
    was generated from: a question written for two chunks must never use either as a negative.
    """
    f = config.filtering
    kept, dropped = [], []
    sources: dict[str, set[str]] = defaultdict(set)
    seen: set[str] = set()
    for row in rows:
        key = normalized(row[schema.QUERY])
        sources[key].add(row[schema.CHUNK_ID])
        n_words = len(words(row[schema.QUERY]))
        if n_words < f.min_words:
            _drop(row, f"too short (< {f.min_words} words)", dropped)
        elif n_words > f.max_words:
            _drop(row, f"too long (> {f.max_words} words)", dropped)
        elif copied_fraction(row[schema.QUERY], row[schema.POSITIVE]) > f.max_copied_fraction:
            _drop(row, "copies the chunk", dropped)
        elif key in seen:
            _drop(row, "duplicate query", dropped)
        else:
            seen.add(key)
            kept.append(row)
    return kept, dropped, dict(sources)


def _near_duplicates(rows: Sequence[dict[str, Any]], emb: np.ndarray, threshold: float) -> set[int]:
    """Indexes of queries that say the same as an earlier query for the same chunk."""
    by_chunk: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        by_chunk[row[schema.CHUNK_ID]].append(i)
    duplicates: set[int] = set()
    for members in by_chunk.values():
        for pos, i in enumerate(members):
            if any(j not in duplicates and float(emb[i] @ emb[j]) >= threshold for j in members[:pos]):
                duplicates.add(i)
    return duplicates


def curate(
    rows: Sequence[dict[str, Any]],
    chunk_ids: Sequence[str],
    chunk_texts: Sequence[str],
    config: CurationConfig,
    encoder: Encoder,
    teacher: TeacherEmbeddings | None = None,
    teacher_config: TeacherConfig | None = None,
) -> CurationResult:
    """Filter ``rows`` (generated queries) and attach mined hard negatives.

    ``chunk_ids``/``chunk_texts`` are the training chunks: the round-trip candidates and the
    negative pool. ``encoder`` embeds queries and chunks with the base model, each with the
    model's own prompt for its role. Every decision is counted in the report so a user can see
    what was dropped.

    With ``teacher`` (its vectors of these queries and chunks) two more rules apply, each
    counted: a query whose chunk the teacher ranks below ``round_trip_top_k`` is dropped, before
    the base model's round trip; and a mined candidate the teacher scores at least as high as the
    positive is never a negative (in a filing that repeats itself such chunks are often answers
    too).
    """
    n_in = len(rows)
    kept, dropped, sources = rule_filter(rows, config)
    report: dict[str, Any] = {"generated_queries": n_in}
    if not kept:
        report.update(_counts(dropped), kept_queries=0)
        return CurationResult([], dropped, report)

    index = {cid: i for i, cid in enumerate(chunk_ids)}
    missing = sorted({r[schema.CHUNK_ID] for r in kept} - index.keys())
    if missing:
        raise ValueError(
            f"{len(missing)} queries point at chunks that are not in the training chunks "
            f"(first: {missing[0]}); curate() needs the chunks the queries were generated from."
        )
    chunk_emb = encoder.chunks(list(chunk_texts))
    query_emb = encoder.queries([r[schema.QUERY] for r in kept])
    scores = query_emb @ chunk_emb.T  # (queries, chunks) cosine

    f = config.filtering
    t_scores = teacher.scores([r[schema.QUERY_ID] for r in kept], chunk_ids) if teacher else None
    tc = teacher_config or TeacherConfig()
    near = _near_duplicates(kept, query_emb, f.near_duplicate_threshold)
    survivors: list[int] = []
    ranks: dict[int, int] = {}
    for i, row in enumerate(kept):
        if i in near:
            _drop(row, "near-duplicate query", dropped)
            continue
        own = [index[c] for c in sources[normalized(row[schema.QUERY])] if c in index]
        if t_scores is not None:
            row = kept[i] = {**row}  # the callers' rows stay as given
            t_rank = 1 + int((t_scores[i] > t_scores[i, own].max()).sum())
            row[schema.TEACHER_RANK] = t_rank
            if tc.round_trip_top_k is not None and t_rank > tc.round_trip_top_k:
                _drop(row, f"fails teacher round trip (own chunk not in teacher's top "
                           f"{tc.round_trip_top_k})", dropped)
                continue
        rank = 1 + int((scores[i] > scores[i, own].max()).sum())
        ranks[i] = rank
        if f.round_trip_top_k is not None and rank > f.round_trip_top_k:
            _drop(row, f"fails round trip (own chunk not in base model's top {f.round_trip_top_k})", dropped)
            continue
        survivors.append(i)

    out_rows, mining = _mine(kept, survivors, sources, index, scores, chunk_emb, chunk_ids,
                             chunk_texts, ranks, config, t_scores)
    report.update(_counts(dropped), kept_queries=len(out_rows), mining=mining)
    if t_scores is not None:
        report["teacher"] = {"model": teacher.model}
    logger.info(
        "Curation: %d generated -> %d kept (%s); hard negatives: %s",
        n_in, len(out_rows), ", ".join(f"{k}: {v}" for k, v in report["dropped"].items()) or "none dropped",
        mining,
    )
    return CurationResult(out_rows, dropped, report)


def _counts(dropped: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"dropped": dict(Counter(d[schema.FAILURE_REASON] for d in dropped))}


def _mine(
    kept: list[dict[str, Any]],
    survivors: list[int],
    sources: dict[str, set[str]],
    index: dict[str, int],
    scores: np.ndarray,
    chunk_emb: np.ndarray,
    chunk_ids: Sequence[str],
    chunk_texts: Sequence[str],
    ranks: dict[int, int],
    config: CurationConfig,
    t_scores: np.ndarray | None = None,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Pick, per query, the highest-scoring training chunks that are safely *not* its answer.

    A candidate is skipped when it is the positive, a chunk the same question was generated from
    (a false negative by construction), a near-copy of the positive chunk (overlapping windows,
    boilerplate), or scores too close to the positive (``relative_margin``: likely another valid
    answer). Counting the skips shows whether the margins are sane for a corpus. With teacher
    scores (``t_scores``), a candidate the teacher rates at least as high as the positive is a
    false negative too, and skipped.
    """
    h = config.hard_negatives
    skipped: Counter[str] = Counter()
    out: list[dict[str, Any]] = []
    for i in survivors:
        row = dict(kept[i])
        pos = index[row[schema.CHUNK_ID]]
        pos_score = float(scores[i, pos])
        row[schema.POSITIVE_SCORE] = pos_score
        row[schema.ROUND_TRIP_RANK] = ranks[i]
        negatives: list[int] = []
        if h.enabled:
            own = {index[c] for c in sources[normalized(row[schema.QUERY])] if c in index}
            order = np.argsort(-scores[i], kind="stable")
            for rank, c in enumerate(order[: h.range_max]):
                c = int(c)
                if c == pos:
                    continue
                if c in own:
                    skipped["generated from the same question"] += 1
                elif t_scores is not None and t_scores[i, c] >= t_scores[i, pos]:
                    skipped["teacher scores it at or above the positive"] += 1
                elif rank < h.range_min:
                    skipped["above range_min"] += 1
                elif float(chunk_emb[c] @ chunk_emb[pos]) >= h.near_duplicate_threshold:
                    skipped["near-duplicate of the positive"] += 1
                elif float(scores[i, c]) > (1 - h.relative_margin) * pos_score:
                    skipped["too close to the positive score"] += 1
                else:
                    negatives.append(c)
                    if len(negatives) == h.num_negatives:
                        break
            if len(negatives) < h.num_negatives:
                skipped["queries without enough negatives (dropped)"] += 1
                continue
        row[schema.HARD_NEGATIVE_IDS] = [chunk_ids[c] for c in negatives]
        row[schema.HARD_NEGATIVES] = [chunk_texts[c] for c in negatives]
        out.append(row)
    return out, dict(skipped)
