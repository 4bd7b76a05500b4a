"""Turn an LLM's answer into clean queries, or a precise reason why it is unusable.

Constrained decoding fixes the syntax, not the content: small models still append notes such as
"(This question is not answered by the passage.)", number their questions, repeat one question
twice, or return a negative that is a copy of a positive. Those are cleaned here; what cannot be
cleaned becomes a ``ParseError`` whose message is stored with the failed chunk.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from embedtune.generation.prompts import NEGATIVE_KEY, QUESTIONS_KEY

_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)
_NUMBERING = re.compile(r"^\s*(?:[-*•]|\(?\d+[.)]|Q\d*[:.])\s*", re.IGNORECASE)
_PARENTHETICAL = re.compile(r"\s*\((?:[^()]*\b(?:passage|answer(?:ed)?|question|note)\b[^()]*)\)")
# "What risks are mentioned in the passage?" only makes sense next to the passage; a search
# query never refers to it, so the reference is cut ("What risks are mentioned?").
_PASSAGE_REFERENCE = re.compile(
    r"\s*,?\s*(?:(?:that|which) (?:is|are) )?(?:(?:mentioned|described|discussed|listed|stated|"
    r"provided|given|outlined|referenced)\s+)?(?:in|by|from|according to) (?:the|this) "
    r"(?:passage|text|document|excerpt)\b",
    re.IGNORECASE,
)
MIN_QUERY_WORDS = 3


class ParseError(ValueError):
    """The LLM output holds no usable question."""


@dataclass(frozen=True)
class GeneratedQueries:
    queries: list[str]
    negative_query: str | None


def normalize(text: str) -> str:
    """Comparison key: lower case, alphanumerics only (so '?' or spacing never makes a dup)."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def clean_query(text: str) -> str:
    """Strip list numbering, quotes and the model's parenthetical notes from one question."""
    text = _NUMBERING.sub("", text.strip())
    text = _PARENTHETICAL.sub("", text)
    text = _PASSAGE_REFERENCE.sub("", text)
    text = re.sub(r"\s+([?.!,])", r"\1", text)
    return text.strip().strip("\"'").strip()


def parse_generation(raw: str | None, expected: int) -> GeneratedQueries:
    """Parse a JSON answer ``{"questions": [...], "unanswerable_question": "..."}``.

    Returns up to ``expected`` distinct questions (fewer is accepted if at least one is usable)
    and the negative question, or ``None`` for the negative when it is missing, too short or a
    copy of a positive (a negative that equals a positive would teach the model the opposite of
    the truth).
    """
    if raw is None or not raw.strip():
        raise ParseError("empty response")
    text = _FENCE.sub("", raw.strip())
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        hint = ""
        if exc.msg.startswith("Unterminated") or exc.pos >= len(text) - 1:
            hint = "; the answer ends mid-JSON, likely cut at generation.max_new_tokens"
        raise ParseError(f"not valid JSON ({exc.msg} at char {exc.pos}{hint})") from None
    if not isinstance(payload, dict):
        raise ParseError(f"expected a JSON object, got {type(payload).__name__}")
    questions = payload.get(QUESTIONS_KEY)
    if not isinstance(questions, list):
        raise ParseError(f"missing list '{QUESTIONS_KEY}'")

    queries: list[str] = []
    seen: set[str] = set()
    for item in questions:
        if not isinstance(item, str):
            continue
        query = clean_query(item)
        key = normalize(query)
        if len(key.split()) < MIN_QUERY_WORDS or key in seen:
            continue
        seen.add(key)
        queries.append(query)
        if len(queries) == expected:
            break
    if not queries:
        raise ParseError(f"no usable question among {len(questions)} returned")

    negative = payload.get(NEGATIVE_KEY)
    negative_query = clean_query(negative) if isinstance(negative, str) else None
    if negative_query is not None:
        key = normalize(negative_query)
        if len(key.split()) < MIN_QUERY_WORDS or key in seen:
            negative_query = None
    return GeneratedQueries(queries=queries, negative_query=negative_query)
