"""Filter generated queries and mine hard negatives for them from the training chunks.

Order matters and is cheap-first: rule filters (length, copies, exact duplicates) need no model;
near-duplicates, the round-trip check and mining share one encoding of the queries and chunks
with the *base* model, the model the training starts from.

Only training chunks are candidates, for both the round-trip check and mining: test chunks are
never shown to training, not even as negatives, so the held-out evaluation stays held out.
"""

from __future__ import annotations

import hashlib
import logging
import random
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

import constants as C
from embedtune.config import CurationConfig, FalseNegativePolicy, RejectedPositive, TeacherConfig
from embedtune.curation.text import copied_fraction, normalized, words
from embedtune.encoding import Encoder
from embedtune.teacher.embeddings import TeacherEmbeddings

logger = logging.getLogger(__name__)

KIND = "kind"  # "generated" (LLM question), "compound" (two joined) or "sentence" (inverse cloze)
GENERATED, COMPOUND, SENTENCE = "generated", "compound", "sentence"
HARD_NEGATIVES = "hard_negatives"
HARD_NEGATIVE_IDS = "hard_negative_ids"
POSITIVE_SCORE = "positive_score"
ROUND_TRIP_RANK = "round_trip_rank"
TEACHER_RANK = "teacher_rank"  # where the teacher ranks the query's chunk among training chunks
RELABELED_FROM = "relabeled_from"  # the chunk the query was written for, if the teacher moved it
SOURCE_QUERY_ID = "source_query_id"  # the generated query a teacher-found extra positive copies
TEACHER_POSITIVE = "teacher_positive"  # KIND of a row added for a teacher-found false negative


@dataclass
class CurationResult:
    rows: list[dict[str, Any]]
    dropped: list[dict[str, Any]]  # the dropped query rows, each with C.FAILURE_REASON
    report: dict[str, Any] = field(default_factory=dict)


def _drop(row: dict[str, Any], reason: str, dropped: list[dict[str, Any]]) -> None:
    dropped.append({C.QUERY_ID: row[C.QUERY_ID], C.QUERY: row[C.QUERY],
                    C.CHUNK_ID: row[C.CHUNK_ID], C.FAILURE_REASON: reason})


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
        key = normalized(row[C.QUERY])
        sources[key].add(row[C.CHUNK_ID])
        n_words = len(words(row[C.QUERY]))
        if n_words < f.min_words:
            _drop(row, f"too short (< {f.min_words} words)", dropped)
        elif n_words > f.max_words:
            _drop(row, f"too long (> {f.max_words} words)", dropped)
        elif copied_fraction(row[C.QUERY], row[C.POSITIVE]) > f.max_copied_fraction:
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
        by_chunk[row[C.CHUNK_ID]].append(i)
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

    With ``teacher`` (its vectors of these queries and chunks) three more rules apply, each
    counted: a query whose chunk the teacher ranks below ``round_trip_top_k`` is dropped or moved
    to the teacher's first chunk (``rejected``), before the base model's round trip; and a mined
    candidate the teacher scores at least as high as the positive (less the margin) is never a
    negative: it is skipped, or trained as a second positive (``false_negatives``).
    """
    n_in = len(rows)
    kept, dropped, sources = rule_filter(rows, config)
    report: dict[str, Any] = {"generated_queries": n_in}
    if not kept:
        report.update(_counts(dropped), kept_queries=0)
        return CurationResult([], dropped, report)

    index = {cid: i for i, cid in enumerate(chunk_ids)}
    missing = sorted({r[C.CHUNK_ID] for r in kept} - index.keys())
    if missing:
        raise ValueError(
            f"{len(missing)} queries point at chunks that are not in the training chunks "
            f"(first: {missing[0]}); curate() needs the chunks the queries were generated from."
        )
    chunk_emb = encoder.chunks(list(chunk_texts))
    query_emb = encoder.queries([r[C.QUERY] for r in kept])
    scores = query_emb @ chunk_emb.T  # (queries, chunks) cosine

    f = config.filtering
    t_scores = teacher.scores([r[C.QUERY_ID] for r in kept], chunk_ids) if teacher else None
    tc = teacher_config or TeacherConfig()
    near = _near_duplicates(kept, query_emb, f.near_duplicate_threshold)
    survivors: list[int] = []
    ranks: dict[int, int] = {}
    teacher_counts: Counter[str] = Counter()
    for i, row in enumerate(kept):
        if i in near:
            _drop(row, "near-duplicate query", dropped)
            continue
        own = [index[c] for c in sources[normalized(row[C.QUERY])] if c in index]
        if t_scores is not None:
            row = kept[i] = {**row, RELABELED_FROM: None, SOURCE_QUERY_ID: None}  # callers' rows stay as given
            t_rank = 1 + int((t_scores[i] > t_scores[i, own].max()).sum())
            row[TEACHER_RANK] = t_rank
            if tc.round_trip_top_k is not None and t_rank > tc.round_trip_top_k:
                if tc.rejected is RejectedPositive.drop:
                    _drop(row, f"fails teacher round trip (own chunk not in teacher's top "
                               f"{tc.round_trip_top_k})", dropped)
                    continue
                if tc.rejected is RejectedPositive.relabel:
                    top = int(np.argmax(t_scores[i]))
                    row[RELABELED_FROM] = row[C.CHUNK_ID]
                    row[C.CHUNK_ID], row[C.POSITIVE] = chunk_ids[top], chunk_texts[top]
                    row[TEACHER_RANK] = 1
                    own = [top]
                    teacher_counts["relabeled to the teacher's first chunk"] += 1
                else:
                    teacher_counts["kept although the teacher ranks its chunk low"] += 1
        rank = 1 + int((scores[i] > scores[i, own].max()).sum())
        ranks[i] = rank
        if f.round_trip_top_k is not None and rank > f.round_trip_top_k:
            _drop(row, f"fails round trip (own chunk not in base model's top {f.round_trip_top_k})", dropped)
            continue
        survivors.append(i)

    out_rows, mining = _mine(kept, survivors, sources, index, scores, chunk_emb, chunk_ids,
                             chunk_texts, ranks, config, t_scores, tc)
    for r in out_rows:
        r.setdefault(KIND, GENERATED)
    report.update(_counts(dropped), kept_queries=len(out_rows), mining=mining)
    if t_scores is not None:
        teacher_counts["extra positives (teacher-found false negatives)"] = sum(
            r[KIND] == TEACHER_POSITIVE for r in out_rows)
        report["teacher"] = {"model": teacher.model, **dict(teacher_counts)}
    if config.check_llm_negatives:
        report["llm_negatives"] = _check_llm_negatives(out_rows, encoder)
    if config.compound_queries:  # from the kept questions only, so they inherit every filter
        compound = compound_queries(out_rows, config.compound_queries, sources)
        report["compound_queries"] = len(compound)
        out_rows.extend(compound)
    if config.sentence_pairs:  # last: they are not LLM questions and have no negatives
        sentence_rows = sentence_pairs(chunk_ids, chunk_texts)
        report["sentence_pairs"] = len(sentence_rows)
        out_rows.extend(sentence_rows)
    logger.info(
        "Curation: %d generated -> %d kept (%s); hard negatives: %s",
        n_in, len(out_rows), ", ".join(f"{k}: {v}" for k, v in report["dropped"].items()) or "none dropped",
        mining,
    )
    return CurationResult(out_rows, dropped, report)


def _counts(dropped: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"dropped": dict(Counter(d[C.FAILURE_REASON] for d in dropped))}


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
    teacher_config: TeacherConfig | None = None,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Pick, per query, the highest-scoring training chunks that are safely *not* its answer.

    A candidate is skipped when it is the positive, a chunk the same question was generated from
    (a false negative by construction), a near-copy of the positive chunk (overlapping windows,
    boilerplate), or scores too close to the positive (``relative_margin``: likely another valid
    answer). Counting the skips shows whether the margins are sane for a corpus. With teacher
    scores (``t_scores``), a candidate the teacher rates at least as high as the positive, less
    ``false_negative_margin``, is a false negative too: skipped, or (``false_negatives:
    positive``) added as a second positive row of the query.
    """
    h = config.hard_negatives
    tc = teacher_config or TeacherConfig()
    skipped: Counter[str] = Counter()
    out: list[dict[str, Any]] = []
    for i in survivors:
        row = dict(kept[i])
        pos = index[row[C.CHUNK_ID]]
        pos_score = float(scores[i, pos])
        row[POSITIVE_SCORE] = pos_score
        row[ROUND_TRIP_RANK] = ranks[i]
        negatives: list[int] = []
        extra_positives: list[int] = []
        if h.enabled:
            own = {index[c] for c in sources[normalized(row[C.QUERY])] if c in index}
            order = np.argsort(-scores[i], kind="stable")
            for rank, c in enumerate(order[: h.range_max]):
                c = int(c)
                if c == pos:
                    continue
                if c in own:
                    skipped["generated from the same question"] += 1
                elif (t_scores is not None
                      and t_scores[i, c] >= t_scores[i, pos] - tc.false_negative_margin):
                    skipped["teacher scores it at or above the positive"] += 1
                    if tc.false_negatives is FalseNegativePolicy.positive:
                        extra_positives.append(c)
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
        row[HARD_NEGATIVE_IDS] = [chunk_ids[c] for c in negatives]
        row[HARD_NEGATIVES] = [chunk_texts[c] for c in negatives]
        out.append(row)
        for n, c in enumerate(extra_positives, start=1):
            out.append({**row, C.QUERY_ID: f"{row[C.QUERY_ID]}+p{n}", SOURCE_QUERY_ID: row[C.QUERY_ID],
                        C.CHUNK_ID: chunk_ids[c], C.POSITIVE: chunk_texts[c],
                        POSITIVE_SCORE: float(scores[i, c]), KIND: TEACHER_POSITIVE})
    return out, dict(skipped)


def _check_llm_negatives(rows: list[dict[str, Any]], encoder: Encoder) -> dict[str, int]:
    """Blank the LLM's negative query where it is probably answerable by the chunk.

    The 1.5B model's "unanswerable" questions are often rewordings of a positive. A negative is
    kept only if it is less similar to the chunk than every kept positive of that chunk.
    """
    with_neg = [r for r in rows if r.get(C.NEGATIVE_QUERY)]
    counts: Counter[str] = Counter()
    if not with_neg:
        return dict(counts)
    pos_by_chunk: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        pos_by_chunk[r[C.CHUNK_ID]].append(r[POSITIVE_SCORE])
    neg_emb = encoder.queries([r[C.NEGATIVE_QUERY] for r in with_neg])
    chunk_emb = encoder.chunks([r[C.POSITIVE] for r in with_neg])
    neg_scores = (neg_emb * chunk_emb).sum(axis=1)
    for r, s in zip(with_neg, neg_scores):
        if float(s) >= min(pos_by_chunk[r[C.CHUNK_ID]]):
            r[C.NEGATIVE_QUERY] = ""
            counts["looks answerable (blanked)"] += 1
        else:
            counts["kept"] += 1
    return dict(counts)


def compound_queries(
    rows: Sequence[dict[str, Any]], per_chunk: int, sources: dict[str, set[str]] | None = None
) -> list[dict[str, Any]]:
    """Up to ``per_chunk`` longer queries per chunk, each two of its kept questions joined.

    Real RAG queries are often several asks in one ("How is X defined, and when does Y
    apply?"); a small LLM writes one short question at a time and does not follow instructions
    to do otherwise reliably. Joining two questions about the same chunk teaches the model that
    a long, two-part query still points at that one chunk. Both halves passed curation, so the
    pair needs no new filtering. A pair inherits the first question's mined negatives unless
    one of them is a chunk the second question was also generated from (a false negative);
    then it takes the second's, and if both clash it is skipped. Pairs are picked by a hash of
    the chunk id, so reruns give the same rows.
    """
    sources = sources or {}
    by_chunk: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if r.get(KIND, GENERATED) == GENERATED:
            by_chunk[r[C.CHUNK_ID]].append(r)
    out: list[dict[str, Any]] = []
    for cid, members in by_chunk.items():
        pairs = [(a, b) for a in range(len(members)) for b in range(len(members)) if a != b]
        rng = random.Random(int(hashlib.sha256(cid.encode()).hexdigest()[:8], 16))
        rng.shuffle(pairs)
        used: set[frozenset[int]] = set()
        for a, b in pairs:
            if len(used) == per_chunk:
                break
            if frozenset((a, b)) in used:
                continue
            first, second = members[a], members[b]
            negatives = _shared_safe_negatives(first, second, sources)
            if negatives is None:
                continue
            used.add(frozenset((a, b)))
            out.append({
                **{k: v for k, v in first.items() if k not in (HARD_NEGATIVE_IDS, HARD_NEGATIVES)},
                C.QUERY_ID: f"{first[C.QUERY_ID]}+{second[C.QUERY_ID]}",
                C.QUERY: f"{_as_question(first[C.QUERY])} {_as_question(second[C.QUERY])}",
                C.NEGATIVE_QUERY: "",
                HARD_NEGATIVE_IDS: negatives[0],
                HARD_NEGATIVES: negatives[1],
                POSITIVE_SCORE: None,
                ROUND_TRIP_RANK: None,
                KIND: COMPOUND,
            })
    return out


def _as_question(text: str) -> str:
    text = text.strip()
    return text if text.endswith(("?", ".", "!")) else text + "?"


def _shared_safe_negatives(
    first: dict[str, Any], second: dict[str, Any], sources: dict[str, set[str]]
) -> tuple[list[str], list[str]] | None:
    """(ids, texts) of mined negatives that are wrong answers to both halves, or None."""
    for row, other in ((first, second), (second, first)):
        ids = list(row.get(HARD_NEGATIVE_IDS) or [])
        if not set(ids) & sources.get(normalized(other[C.QUERY]), set()):
            return ids, list(row.get(HARD_NEGATIVES) or [])
    return None


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def sentence_pairs(
    chunk_ids: Sequence[str], chunk_texts: Sequence[str], min_words: int = 8, max_words: int = 40
) -> list[dict[str, Any]]:
    """One inverse-cloze pair per chunk: a sentence, and the chunk without that sentence.

    Removing the sentence means the model must match meaning and domain terms, not the string.
    The sentence is picked by a hash of the chunk id, so reruns give the same pairs.
    """
    rows = []
    for cid, text in zip(chunk_ids, chunk_texts):
        sentences = [s for s in _SENTENCE_END.split(text) if min_words <= len(words(s)) <= max_words]
        if len(sentences) < 2:
            continue
        pick = random.Random(int(hashlib.sha256(cid.encode()).hexdigest()[:8], 16)).choice(sentences)
        rest = " ".join(text.replace(pick, " ").split())
        rows.append({C.QUERY_ID: f"{cid}-s0", C.QUERY: pick, C.CHUNK_ID: cid, C.POSITIVE: rest,
                     C.NEGATIVE_QUERY: "", HARD_NEGATIVE_IDS: [], HARD_NEGATIVES: [],
                     POSITIVE_SCORE: None, ROUND_TRIP_RANK: None, KIND: SENTENCE})
    return rows
