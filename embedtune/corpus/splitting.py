"""Split chunks into train and test by document, before any query is generated.

Adjacent chunks of one document share overlap text, names and phrasing. If they landed on both
sides, the test set would reward memorising the training documents rather than retrieving
from unseen ones, and the reported gain would be inflated. So whole documents are the unit of
the split; only a corpus of a single document is cut into contiguous sections, the closest
thing to separate documents it has (neighbouring sections still share one overlap at their
boundary, a leak small enough to accept when there is nothing else to split).
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict

from embedtune.config import SplitConfig
from embedtune.corpus.chunking import Chunk
from embedtune.corpus.loading import CorpusError

logger = logging.getLogger(__name__)

_Unit = tuple[str, int]  # (document_id, section index; 0 when documents are not cut)
# Units hold indices into the chunk list rather than chunks, so that two equal chunks (which
# chunk_parts never makes, but a caller could) are still assigned exactly once.
_Units = dict[_Unit, list[int]]


def _document_units(chunks: list[Chunk]) -> _Units:
    units: _Units = defaultdict(list)
    for index, chunk in enumerate(chunks):
        units[(chunk.document_id, 0)].append(index)
    return units


def _section_units(chunks: list[Chunk], sections_per_document: int) -> _Units:
    """Cut each document, in reading order, into up to ``sections_per_document`` equal runs."""
    units: _Units = {}
    for (document_id, _), indices in _document_units(chunks).items():
        ordered = sorted(indices, key=lambda index: chunks[index].position)
        n_sections = min(sections_per_document, len(ordered))
        for section in range(n_sections):
            begin = section * len(ordered) // n_sections
            end = (section + 1) * len(ordered) // n_sections
            units[(document_id, section)] = ordered[begin:end]
    return units


def split_by_document(chunks: list[Chunk], config: SplitConfig) -> tuple[list[Chunk], list[Chunk]]:
    """Return (train, test) chunks, with no document (or section) on both sides.

    Documents differ in length, so the test side is filled document by document until it
    holds at least ``test_fraction`` of the chunks; the fraction is therefore approximate.
    Both sides keep the input order of chunks. The shuffle starts from the sorted unit ids, so
    the split depends only on the seed and the corpus, not on file-system order.
    """
    if len(chunks) < 2:
        raise CorpusError(
            f"Found {len(chunks)} chunk(s), but need at least 2 chunks to split into train and "
            "test; add documents or lower chunking.max_tokens"
        )
    units = _document_units(chunks)
    n_documents = len(units)
    if n_documents < 2:
        units = _section_units(chunks, config.sections_per_document)
        logger.info(
            "Only one document: splitting its %d contiguous sections instead", len(units)
        )

    order = sorted(units)
    random.Random(config.seed).shuffle(order)
    target = max(1, round(config.test_fraction * len(chunks)))
    test_units: set[_Unit] = set()
    n_test = 0
    for unit in order:
        if n_test >= target or len(test_units) == len(order) - 1:
            break  # the last unit always stays in train, so neither side is empty
        test_units.add(unit)
        n_test += len(units[unit])

    test_indices = {index for unit in test_units for index in units[unit]}
    train = [chunk for index, chunk in enumerate(chunks) if index not in test_indices]
    test = [chunk for index, chunk in enumerate(chunks) if index in test_indices]
    logger.info(
        "Split %d documents (%d chunks): %d train chunks, %d test chunks (seed %d)",
        n_documents, len(chunks), len(train), len(test), config.seed,
    )  # fmt: skip
    return train, test
