import pytest

from embedtune import schema
from embedtune.curation.validation import ValidationSplitError, hold_out_validation


def rows(n_chunks: int, per_chunk: int = 3) -> list[dict]:
    return [{schema.QUERY_ID: f"c{c}-q{q}", schema.QUERY: f"What does chunk {c} say about topic {q}?",
             schema.CHUNK_ID: f"c{c}"} for c in range(n_chunks) for q in range(per_chunk)]


def test_whole_chunks_are_held_out_seeded_and_never_trained_on():
    data = rows(20)
    split = hold_out_validation(data, [f"c{i}" for i in range(20)], 0.15, seed=42)
    assert len(split.validation_chunk_ids) == 3
    held = set(split.validation_chunk_ids)
    assert {r[schema.CHUNK_ID] for r in split.validation_rows} == held
    assert not held & {r[schema.CHUNK_ID] for r in split.train_rows}
    assert len(split.train_rows) + len(split.validation_rows) == len(data)
    assert hold_out_validation(data, [f"c{i}" for i in range(20)], 0.15, 42).validation_chunk_ids \
        == split.validation_chunk_ids
    assert hold_out_validation(data, [f"c{i}" for i in range(20)], 0.15, 7).validation_chunk_ids \
        != split.validation_chunk_ids
    assert split.report == {"validation_chunks": 3, "validation_queries": 9,
                            "validation_queries_also_in_train": 0}


def test_only_chunks_with_queries_are_drawn_and_one_is_always_left_to_train():
    data = rows(2)
    split = hold_out_validation(data, ["c0", "empty1", "c1", "empty2"], 0.9, seed=1)
    assert len(split.validation_chunk_ids) == 1 and split.validation_chunk_ids[0] in {"c0", "c1"}
    assert split.train_rows
    with pytest.raises(ValidationSplitError, match="Only 1 training chunk"):
        hold_out_validation(rows(1), ["c0"], 0.2, seed=1)
    assert hold_out_validation(rows(1), ["c0"], 0.0, seed=1).validation_rows == []


def test_a_validation_query_also_written_for_a_training_chunk_is_not_validation():
    data = rows(2, per_chunk=1)
    data[1][schema.QUERY] = data[0][schema.QUERY]  # the LLM wrote the same question for both chunks
    split = hold_out_validation(data, ["c0", "c1"], 0.5, seed=3)
    assert split.validation_rows == [] and split.dropped_as_train_duplicates == 1
