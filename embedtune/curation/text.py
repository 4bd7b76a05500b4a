"""Text normalisation shared by the query filters."""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z0-9]+(?:['.-][a-z0-9]+)*")


def words(text: str) -> list[str]:
    """Lower-cased word tokens; punctuation and case never make two queries different."""
    return _WORD.findall(text.lower())


def normalized(text: str) -> str:
    return " ".join(words(text))


def copied_fraction(query: str, passage: str, ngram: int = 4) -> float:
    """Share of the query's words that sit inside a word n-gram also found in the passage.

    A query that is a passage sentence with "What is" in front is answered by string matching;
    training on it teaches the model nothing a lexical retriever doesn't already do.
    """
    q = words(query)
    if len(q) < ngram:
        return 0.0
    p = words(passage)
    grams = {tuple(p[i : i + ngram]) for i in range(len(p) - ngram + 1)}
    covered = [False] * len(q)
    for i in range(len(q) - ngram + 1):
        if tuple(q[i : i + ngram]) in grams:
            for j in range(i, i + ngram):
                covered[j] = True
    return sum(covered) / len(q)
