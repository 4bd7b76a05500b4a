import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from embedtune.serving.onnx_export import ExportError, OnnxModel, export_onnx, pool
from tests.conftest import PROJECT_ROOT
from tests.serving.conftest import QUERIES, TEXTS


def _top5(model) -> list[list[int]]:
    chunks = model.encode_document(TEXTS, batch_size=4, normalize_embeddings=True)
    queries = model.encode_query(QUERIES, batch_size=4, normalize_embeddings=True)
    return np.argsort(-(queries @ chunks.T), axis=1, kind="stable")[:, :5].tolist()


@pytest.fixture(scope="module")
def exported(saved_model, base_model):
    files = export_onnx(base_model, saved_model, ["onnx", "onnx_int8"])
    return saved_model, files


def test_export_writes_both_files_and_nothing_partial(exported):
    folder, files = exported
    assert sorted(files) == ["onnx", "onnx_int8"]
    assert sorted(p.name for p in (folder / "onnx").iterdir()) == ["model.onnx", "model_qint8.onnx"]
    # int8 weights: about a quarter of the fp32 file
    assert files["onnx_int8"].stat().st_size < 0.4 * files["onnx"].stat().st_size


def test_exports_rank_like_torch_in_a_fresh_process(exported, base_model):
    folder, _ = exported
    program = textwrap.dedent(f"""
        import json, sys
        import numpy as np
        from embedtune.serving.onnx_export import OnnxModel
        from tests.serving.conftest import QUERIES, TEXTS
        out = {{}}
        for name, file in (("onnx", "model.onnx"), ("onnx_int8", "model_qint8.onnx")):
            m = OnnxModel({str(folder)!r}, file, max_seq_length=128)
            c = m.encode_document(TEXTS, batch_size=4); q = m.encode_query(QUERIES, batch_size=4)
            out[name] = {{"top5": np.argsort(-(q @ c.T), axis=1, kind="stable")[:, :5].tolist(),
                          "vectors": c.tolist(), "queries": q.tolist()}}
        print(json.dumps(out))
    """)
    run = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                         cwd=PROJECT_ROOT, timeout=300)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    torch_top5 = _top5(base_model)
    assert result["onnx"]["top5"] == torch_top5
    # int8 moves each score by a few hundredths, so it keeps every best chunk and may swap near-ties
    # (here, among twelve unrelated sentences, some ranks differ by less than that).
    assert [r[0] for r in result["onnx_int8"]["top5"]] == [r[0] for r in torch_top5]
    torch_vectors = base_model.encode_document(TEXTS, normalize_embeddings=True)
    assert np.abs(np.asarray(result["onnx"]["vectors"]) - torch_vectors).max() < 1e-4
    int8_vectors = np.asarray(result["onnx_int8"]["vectors"])
    assert (int8_vectors * torch_vectors).sum(axis=1).min() > 0.97
    torch_queries = base_model.encode_query(QUERIES, normalize_embeddings=True)
    int8_queries = np.asarray(result["onnx_int8"]["queries"])
    drift = np.abs(int8_queries @ int8_vectors.T - torch_queries @ torch_vectors.T).max()
    assert drift < 0.05  # unrelated vectors would differ by ~0.5


def test_onnx_model_reads_the_folders_prompts(exported):
    folder, _ = exported
    model = OnnxModel(folder, max_seq_length=128)
    plain = model.encode_query(["revenue"])
    model.prompts = {"query": "query: "}
    assert not np.allclose(model.encode_query(["revenue"]), plain)
    assert np.allclose(model.encode_query(["revenue"]), model.encode(["query: revenue"]))


def test_missing_export_is_named(saved_model, tmp_path):
    with pytest.raises(ExportError, match="No ONNX export at .*model_qint8.onnx"):
        OnnxModel(tmp_path, "model_qint8.onnx")


def test_a_module_the_graph_lacks_is_refused_by_name(saved_model, tmp_path, base_model):
    folder = tmp_path / "dense"
    base_model.save(str(folder))
    modules = json.loads((folder / "modules.json").read_text())
    modules.append({"idx": 3, "name": "3", "path": "3_Dense",
                    "type": "sentence_transformers.models.Dense"})
    (folder / "modules.json").write_text(json.dumps(modules))
    with pytest.raises(ExportError, match="sentence_transformers.models.Dense"):
        export_onnx(base_model, folder, ["onnx"])
    assert not (folder / "onnx" / "model.onnx").exists()


def test_unknown_format_is_refused(saved_model, base_model):
    with pytest.raises(ExportError, match="openvino"):
        export_onnx(base_model, saved_model, ["openvino"])


def test_pooling_matches_sentence_transformers_definitions():
    hidden = np.arange(2 * 3 * 2, dtype=np.float32).reshape(2, 3, 2)
    mask = np.array([[1, 1, 0], [1, 1, 1]])
    assert np.allclose(pool(hidden, mask, "mean")[0], hidden[0, :2].mean(axis=0))
    assert np.allclose(pool(hidden, mask, "cls"), hidden[:, 0])
    assert np.allclose(pool(hidden, mask, "max")[0], hidden[0, 1])
    assert np.allclose(pool(hidden, mask, "lasttoken")[0], hidden[0, 1])
    assert np.allclose(pool(hidden, mask, "lasttoken")[1], hidden[1, 2])
