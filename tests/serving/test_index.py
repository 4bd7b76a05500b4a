import json
import shutil

import pytest
import torch

from embedtune.retrieval.index import ParentRetriever
from embedtune.retrieval.reading import CHUNK, Reading
from embedtune.serving.index import CorpusIndex, CorpusIndexError, model_fingerprint
from tests.serving.conftest import QUERIES, TEXTS

WINDOWS = Reading(kind="windows", window_tokens=16, stride_tokens=8)
BOTH = Reading(kind="chunk+windows", window_tokens=16, stride_tokens=8)


def _chunks(texts=TEXTS):
    # three documents of four chunks each
    return [{"chunk_id": f"doc{i // 4}#{i % 4}", "document_id": f"doc{i // 4}",
             "source": f"doc{i // 4}.md", "page": i % 4 + 1, "section": "Risk factors",
             "position": i % 4, "text": t} for i, t in enumerate(texts)]


@pytest.mark.parametrize("reading", [CHUNK, WINDOWS, BOTH], ids=lambda r: r.name)
def test_search_ranks_as_the_evaluation_does(base_model, saved_model, tmp_path, reading):
    index = CorpusIndex(tmp_path / "index")
    chunks = _chunks()
    update = index.update(base_model, saved_model, reading, chunks, batch_size=4)
    assert update.rebuilt and update.embedded_chunks == len(chunks)
    reference = ParentRetriever(base_model, reading)
    reference.index([c["chunk_id"] for c in chunks], [c["text"] for c in chunks])
    for query in QUERIES:
        hits = index.search(base_model, query, top_k=4)
        expected = reference.search(query, top_k=4)
        assert [h.chunk_id for h in hits] == [e.chunk_id for e in expected]
        assert [h.score for h in hits] == pytest.approx([e.score for e in expected], abs=1e-4)
        assert hits[0].source.endswith(".md") and hits[0].page >= 1
        assert (hits[0].best_window is None) == (not reading.uses_windows)


def test_an_edited_document_re_embeds_only_its_chunks(base_model, saved_model, tmp_path):
    index = CorpusIndex(tmp_path / "index")
    index.update(base_model, saved_model, WINDOWS, _chunks(), batch_size=4)
    n_vectors = index.manifest["n_vectors"]
    edited = list(TEXTS)
    edited[9] = "Express Drive is Lyft's car rental program for drivers on the platform."
    edited[10] = "Brand marketing and referral bonuses are the main marketing costs."
    update = index.update(base_model, saved_model, WINDOWS, _chunks(edited), batch_size=4)
    assert not update.rebuilt
    assert (update.embedded_chunks, update.kept_chunks, update.removed_chunks) == (2, 10, 2)
    assert update.n_chunks == 12 and index.manifest["n_chunks"] == 12
    hit = index.search(base_model, "Which program rents cars to drivers?", top_k=1)[0]
    assert hit.chunk_id == "doc2#1" and hit.text == edited[9]
    # a removed document leaves with its vectors; an unchanged corpus embeds nothing
    update = index.update(base_model, saved_model, WINDOWS, _chunks(edited)[:8], batch_size=4)
    assert (update.embedded_chunks, update.removed_chunks, update.n_chunks) == (0, 4, 8)
    assert index.manifest["n_vectors"] < n_vectors
    again = index.update(base_model, saved_model, WINDOWS, _chunks(edited)[:8], batch_size=4)
    assert (again.embedded_chunks, again.removed_chunks, again.kept_chunks) == (0, 0, 8)


def test_a_changed_model_or_reading_rebuilds(base_model, saved_model, tmp_path):
    index = CorpusIndex(tmp_path / "index")
    index.update(base_model, saved_model, CHUNK, _chunks(), batch_size=4)
    other = tmp_path / "other-model"
    shutil.copytree(saved_model, other, ignore=shutil.ignore_patterns("onnx"))
    from sentence_transformers import SentenceTransformer

    changed = SentenceTransformer(str(other), device="cpu")
    with torch.no_grad():
        changed[0].auto_model.embeddings.word_embeddings.weight.mul_(1.01)
    changed.save(str(other))
    assert model_fingerprint(other, 128) != model_fingerprint(saved_model, 128)
    update = index.update(changed, other, CHUNK, _chunks(), batch_size=4)
    assert update.rebuilt and update.reason == "the model changed"
    assert update.embedded_chunks == 12
    update = index.update(changed, other, WINDOWS, _chunks(), batch_size=4)
    assert update.rebuilt and "reading changed (chunk -> windows16)" in update.reason
    assert json.loads((tmp_path / "index" / "index.json").read_text())["reading"]["kind"] == "windows"
    assert not (tmp_path / "index.partial").exists() and not (tmp_path / "index.old").exists()


def test_missing_index_and_bad_input_are_named(base_model, saved_model, tmp_path):
    index = CorpusIndex(tmp_path / "nothing")
    with pytest.raises(CorpusIndexError, match="No index at .*nothing"):
        index.search(base_model, "revenue")
    with pytest.raises(CorpusIndexError, match="unique"):
        index.update(base_model, saved_model, CHUNK, _chunks()[:2] + _chunks()[:1])
