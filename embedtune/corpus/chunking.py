"""Cut document parts into chunks that fit the embedding model, at sentence boundaries.

Chunk size is measured in the embedding model's own tokens because the model silently
truncates anything longer than its maximum sequence length: a chunk measured in words or
characters could lose its tail, and with it the answer that a generated query asks about.
Cutting between sentences keeps each chunk readable for the LLM that writes queries about it,
and the overlap keeps a fact that straddles a boundary whole in at least one chunk.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Protocol

from embedtune.config import ChunkingConfig
from embedtune.corpus.formats import DocumentPart

logger = logging.getLogger(__name__)

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_PARAGRAPH_SEPARATOR = "\n\n"
_SENTENCE_SEPARATOR = " "


class TokenCounter(Protocol):
    """Counts the embedding model's tokens in a text, without special tokens."""

    def __call__(self, text: str, /) -> int: ...


@dataclass(frozen=True)
class Chunk:
    """A passage that one embedding represents, and that queries are generated for."""

    chunk_id: str
    document_id: str
    source: str
    text: str
    n_tokens: int
    position: int  # index of the chunk within its document, across the document's parts
    page: int | None = None
    section: str | None = None


@dataclass(frozen=True)
class _Piece:
    """The smallest unit that packing moves around: a sentence, or a word of a long sentence.

    ``separator`` is the whitespace that preceded the piece in the part, so joining pieces
    reproduces the part's own text and a chunk is always an exact substring of its part.
    """

    text: str
    separator: str
    n_tokens: int


def chunk_id_for(source: str, text: str) -> str:
    """An id that depends only on where the chunk is from and what it says.

    Content-derived ids stay the same across runs and machines, so queries generated for a
    chunk still point at it when the corpus is re-chunked unchanged, and caches stay valid.
    """
    return hashlib.sha256(f"{source}\x00{text}".encode("utf-8")).hexdigest()[:16]


def tokenizer_counter(model_path_or_tokenizer: str | os.PathLike[str] | Any) -> TokenCounter:
    """A token counter backed by the embedding model's Hugging Face tokenizer.

    Special tokens are left out: chunk budgets are about content, and ``max_tokens`` is kept
    at or below ``max_seq_length`` by the config. Truncation is switched off explicitly because
    the tokenizer files of some models (this project's default among them) enable it.
    """
    if isinstance(model_path_or_tokenizer, (str, os.PathLike)):
        # Imported here because importing transformers takes seconds and everything else in
        # this module runs without it (tests use plain counting functions).
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(os.fspath(model_path_or_tokenizer))
    else:
        tokenizer = model_path_or_tokenizer

    def count_tokens(text: str) -> int:
        encoding = tokenizer(text, add_special_tokens=False, truncation=False, verbose=False)
        return len(encoding["input_ids"])

    return count_tokens


def _split_long_word(word: str, count_tokens: TokenCounter, max_tokens: int) -> list[str]:
    """Cut a token-heavy run of characters (a URL, a hash, a table row) into fitting pieces.

    Rare, so a binary search over prefix lengths with real counts is affordable.
    """
    pieces = []
    while word:
        low, high = 1, len(word)
        while low < high:
            middle = (low + high + 1) // 2
            if count_tokens(word[:middle]) <= max_tokens:
                low = middle
            else:
                high = middle - 1
        pieces.append(word[:low])
        word = word[low:]
    return pieces


def _pieces(text: str, count_tokens: TokenCounter, max_tokens: int) -> list[_Piece]:
    """Sentences with their token counts; a sentence over the budget becomes its words."""
    pieces: list[_Piece] = []
    for paragraph_index, paragraph in enumerate(_PARAGRAPH_BREAK.split(text.strip())):
        for sentence_index, sentence in enumerate(_SENTENCE_END.split(paragraph.strip())):
            if not sentence:
                continue
            separator = _SENTENCE_SEPARATOR
            if sentence_index == 0:
                separator = _PARAGRAPH_SEPARATOR if paragraph_index > 0 else ""
            n_tokens = count_tokens(sentence)
            if n_tokens <= max_tokens:
                pieces.append(_Piece(sentence, separator, n_tokens))
                continue
            for word_index, word in enumerate(sentence.split()):
                word_separator = separator if word_index == 0 else _SENTENCE_SEPARATOR
                word_tokens = count_tokens(word)
                if word_tokens <= max_tokens:
                    pieces.append(_Piece(word, word_separator, word_tokens))
                    continue
                for cut_index, cut in enumerate(_split_long_word(word, count_tokens, max_tokens)):
                    cut_separator = word_separator if cut_index == 0 else ""
                    pieces.append(_Piece(cut, cut_separator, count_tokens(cut)))
    return pieces


def _join(pieces: list[_Piece]) -> str:
    return pieces[0].text + "".join(piece.separator + piece.text for piece in pieces[1:])


def _pack(
    pieces: list[_Piece], count_tokens: TokenCounter, config: ChunkingConfig
) -> list[tuple[str, int]]:
    """Greedily pack consecutive pieces into (text, n_tokens) windows with overlap.

    Budgets are planned with the sum of the pieces' own counts, which avoids re-tokenising
    every candidate window. A joined text can tokenise slightly differently from its parts
    (a tokenizer may merge across the separator), so each window is checked with one real
    count and shrunk from the end until it fits. A single piece always fits on its own, which
    is what makes "never over max_tokens" a guarantee rather than a hope.
    """
    windows: list[tuple[str, int]] = []
    start = 0
    while start < len(pieces):
        end, planned = start, 0
        while end < len(pieces) and planned + pieces[end].n_tokens <= config.max_tokens:
            planned += pieces[end].n_tokens
            end += 1
        text = _join(pieces[start:end])
        n_tokens = count_tokens(text)
        while n_tokens > config.max_tokens and end - start > 1:
            end -= 1
            text = _join(pieces[start:end])
            n_tokens = count_tokens(text)
        windows.append((text, n_tokens))
        if end == len(pieces):
            break
        # The next window repeats the trailing pieces that fit the overlap budget, but never
        # all of this window (the loop must advance) and never so many that the next new
        # piece no longer fits beside them.
        next_start, overlap = end, 0
        while next_start - 1 > start:
            candidate = pieces[next_start - 1].n_tokens
            if overlap + candidate > config.overlap_tokens:
                break
            if overlap + candidate + pieces[end].n_tokens > config.max_tokens:
                break
            next_start -= 1
            overlap += candidate
        start = next_start
    return windows


def chunk_parts(
    parts: list[DocumentPart], count_tokens: TokenCounter, config: ChunkingConfig
) -> list[Chunk]:
    """Chunk every part, numbering chunks per document in reading order.

    Chunks never cross a part boundary, so each chunk has one page and one section to cite.
    Chunks under ``min_tokens`` (page numbers, stray headers) are dropped as noise, and an exact
    repeat of a chunk in the same source (boilerplate on every page) is kept once: duplicates
    would appear as each other's negatives in contrastive training.
    """
    chunks: list[Chunk] = []
    positions: Counter[str] = Counter()
    seen_ids: set[str] = set()
    too_short = duplicates = 0
    for part in parts:
        pieces = _pieces(part.text, count_tokens, config.max_tokens)
        for text, n_tokens in _pack(pieces, count_tokens, config):
            if n_tokens < config.min_tokens:
                too_short += 1
                continue
            chunk_id = chunk_id_for(part.source, text)
            if chunk_id in seen_ids:
                duplicates += 1
                continue
            seen_ids.add(chunk_id)
            chunks.append(
                Chunk(
                    chunk_id=chunk_id,
                    document_id=part.document_id,
                    source=part.source,
                    text=text,
                    n_tokens=n_tokens,
                    position=positions[part.document_id],
                    page=part.page,
                    section=part.section,
                )
            )
            positions[part.document_id] += 1
    logger.info(
        "Chunked %d parts of %d documents into %d chunks of at most %d tokens "
        "(dropped %d under %d tokens, %d duplicates)",
        len(parts), len({part.document_id for part in parts}), len(chunks), config.max_tokens,
        too_short, config.min_tokens, duplicates,
    )  # fmt: skip
    return chunks
