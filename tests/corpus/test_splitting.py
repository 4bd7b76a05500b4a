import logging

import pytest

from embedtune.config import SplitConfig
from embedtune.corpus.chunking import Chunk, chunk_id_for
from embedtune.corpus.loading import CorpusError
from embedtune.corpus.splitting import split_by_document


def make_chunks(chunks_per_document: dict[str, int]) -> list[Chunk]:
    chunks = []
    for document_id, n_chunks in chunks_per_document.items():
        for position in range(n_chunks):
            text = f"{document_id} chunk {position}"
            chunks.append(
                Chunk(
                    chunk_id=chunk_id_for(document_id, text),
                    document_id=document_id,
                    source=document_id,
                    text=text,
                    n_tokens=4,
                    position=position,
                )
            )
    return chunks


def documents(chunks: list[Chunk]) -> set[str]:
    return {chunk.document_id for chunk in chunks}


# Uneven document lengths, as in a real corpus.
CORPUS = make_chunks({f"doc{i:02d}.pdf": 1 + (i * 7) % 9 for i in range(30)})


@pytest.mark.parametrize("seed", [0, 1, 42, 1234])
def test_no_document_is_on_both_sides_and_no_chunk_is_lost(seed):
    train, test = split_by_document(CORPUS, SplitConfig(seed=seed))

    assert train and test
    assert documents(train).isdisjoint(documents(test))
    assert sorted(chunk.chunk_id for chunk in train + test) == sorted(
        chunk.chunk_id for chunk in CORPUS
    )


def test_same_seed_gives_the_same_split_and_other_seeds_differ():
    first = split_by_document(CORPUS, SplitConfig(seed=7))
    again = split_by_document(CORPUS, SplitConfig(seed=7))
    test_documents = {
        frozenset(documents(split_by_document(CORPUS, SplitConfig(seed=seed))[1]))
        for seed in range(5)
    }

    assert first == again
    assert len(test_documents) > 1


def test_split_does_not_depend_on_input_order():
    _, test = split_by_document(CORPUS, SplitConfig(seed=3))
    _, test_reversed = split_by_document(list(reversed(CORPUS)), SplitConfig(seed=3))

    assert documents(test) == documents(test_reversed)


@pytest.mark.parametrize("fraction", [0.1, 0.2, 0.5])
def test_test_fraction_is_approximately_honoured(fraction):
    corpus = make_chunks({f"doc{i:03d}": 3 for i in range(100)})

    train, test = split_by_document(corpus, SplitConfig(test_fraction=fraction))

    assert len(test) == pytest.approx(fraction * len(corpus), abs=3)
    assert len(train) + len(test) == len(corpus)


def test_single_document_is_split_into_contiguous_sections():
    corpus = make_chunks({"handbook.pdf": 50})

    config = SplitConfig(test_fraction=0.2, sections_per_document=10)

    train, test = split_by_document(corpus, config)

    assert len(test) == 10
    test_positions = sorted(chunk.position for chunk in test)
    # Sections are runs of 5 chunks: every test run starts at a section boundary and is whole.
    runs = [[test_positions[0]]]
    for position in test_positions[1:]:
        if position == runs[-1][-1] + 1:
            runs[-1].append(position)
        else:
            runs.append([position])
    for run in runs:
        assert run[0] % 5 == 0 and len(run) % 5 == 0
    assert set(test_positions).isdisjoint(chunk.position for chunk in train)


def test_single_document_with_few_chunks_uses_one_section_per_chunk():
    corpus = make_chunks({"memo.txt": 3})

    train, test = split_by_document(corpus, SplitConfig(sections_per_document=10))

    assert len(train) == 2 and len(test) == 1


def test_two_documents_put_one_on_each_side_even_with_a_large_fraction():
    corpus = make_chunks({"a.txt": 5, "b.txt": 5})

    train, test = split_by_document(corpus, SplitConfig(test_fraction=0.9))

    assert len(documents(train)) == 1 and len(documents(test)) == 1


def test_fewer_than_two_chunks_cannot_be_split():
    with pytest.raises(CorpusError, match="need at least 2 chunks to split"):
        split_by_document(make_chunks({"a.txt": 1}), SplitConfig())


def test_split_is_logged_with_its_sizes_and_seed(caplog):
    with caplog.at_level(logging.INFO, logger="embedtune.corpus.splitting"):
        train, test = split_by_document(CORPUS, SplitConfig(seed=5))

    assert (
        f"Split 30 documents ({len(CORPUS)} chunks): {len(train)} train chunks, "
        f"{len(test)} test chunks (seed 5)"
    ) in caplog.text
