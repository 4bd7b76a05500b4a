import os

import torch

from materializers import SentenceTransformerMaterializer


def test_model_round_trips_as_a_folder_not_a_pickle(tmp_path, base_model):
    uri = str(tmp_path / "artifact")
    os.makedirs(uri)
    materializer = SentenceTransformerMaterializer(uri)
    materializer.save(base_model)
    stored = {p.name for p in (tmp_path / "artifact").rglob("*")}
    assert "model.safetensors" in stored and not any(n.endswith(".pkl") for n in stored)
    loaded = materializer.load(type(base_model))
    text = ["Lyft Pink membership benefits"]
    assert torch.allclose(loaded.encode(text, convert_to_tensor=True), base_model.encode(text, convert_to_tensor=True), atol=1e-5)
    meta = materializer.extract_metadata(base_model)
    assert meta["embedding_dimension"] == 384 and meta["max_seq_length"] == base_model.max_seq_length


def test_teacher_vectors_round_trip_as_arrays_and_ids(tmp_path):
    import numpy as np

    from embedtune.teacher.embeddings import TeacherEmbeddings
    from materializers import TeacherEmbeddingsMaterializer

    uri = str(tmp_path / "teacher")
    os.makedirs(uri)
    rng = np.random.default_rng(0)
    data = TeacherEmbeddings("bundled:embeddinggemma-300m", ["q1", "q2"], rng.normal(size=(2, 4)).astype(np.float32),
                             ["c1", "c2", "c3"], rng.normal(size=(3, 4)).astype(np.float32), 1.5)
    materializer = TeacherEmbeddingsMaterializer(uri)
    materializer.save(data)
    assert sorted(p.name for p in (tmp_path / "teacher").iterdir()) == ["ids.json", "vectors.npz"]
    loaded = materializer.load(TeacherEmbeddings)
    assert loaded.query_ids == ["q1", "q2"] and loaded.chunk_ids == ["c1", "c2", "c3"]
    np.testing.assert_array_equal(loaded.scores(["q2"], ["c3", "c1"]), data.scores(["q2"], ["c3", "c1"]))
    assert materializer.extract_metadata(data)["chunks"] == 3
