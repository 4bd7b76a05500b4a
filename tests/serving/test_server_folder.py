import json
import shutil

import numpy as np
from sentence_transformers import SentenceTransformer

from embedtune.serving.server_folder import prepare_for_servers, server_problems
from tests.serving.conftest import TEXTS


def test_a_sentence_transformers_6_folder_would_be_misread(saved_model, tmp_path):
    folder = tmp_path / "as-saved"
    shutil.copytree(saved_model, folder, ignore=shutil.ignore_patterns("onnx"))
    problems = server_problems(folder)
    assert any("pooling_mode_mean_tokens" in p and "CLS" in p for p in problems)
    assert any("max_seq_length" in p for p in problems)


def test_prepared_folder_reads_as_a_server_reads_it(saved_model, tmp_path, base_model):
    folder = tmp_path / "prepared"
    shutil.copytree(saved_model, folder, ignore=shutil.ignore_patterns("onnx"))
    prepare_for_servers(folder, 128)
    assert server_problems(folder) == []
    # Read as text-embeddings-inference does: the pooling flags, the sequence length, the prompts.
    pooling = json.loads((folder / "1_Pooling" / "config.json").read_text())
    assert pooling["pooling_mode_mean_tokens"] is True and pooling["pooling_mode_cls_token"] is False
    assert json.loads((folder / "sentence_bert_config.json").read_text())["max_seq_length"] == 128
    config = json.loads((folder / "config.json").read_text())
    assert config["max_position_embeddings"] >= 128 and config["architectures"]
    # ...and sentence-transformers still loads it to the same model.
    reloaded = SentenceTransformer(str(folder), device="cpu")
    assert reloaded.max_seq_length == 128
    assert np.allclose(reloaded.encode(TEXTS[:3]), base_model.encode(TEXTS[:3]), atol=1e-6)


def test_flags_that_contradict_the_pooling_are_reported(saved_model, tmp_path):
    folder = tmp_path / "wrong"
    shutil.copytree(saved_model, folder, ignore=shutil.ignore_patterns("onnx"))
    prepare_for_servers(folder, 128)
    file = folder / "1_Pooling" / "config.json"
    pooling = json.loads(file.read_text())
    pooling.update(pooling_mode_cls_token=True, pooling_mode_mean_tokens=False)
    file.write_text(json.dumps(pooling))
    assert any("say 'cls' pooling but the model pools 'mean'" in p for p in server_problems(folder))
