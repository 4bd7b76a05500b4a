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
