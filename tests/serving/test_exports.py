import numpy as np
import pytest

from embedtune.retrieval.reading import CHUNK, Reading
from embedtune.serving import exports as exports_module
from embedtune.serving.exports import export_and_score
from tests.serving.conftest import QUERIES, TEXTS

RELEVANT = [{"c0"}, {"c9"}, {"c5"}, {"c4"}, {"c7"}]
IDS = [f"c{i}" for i in range(len(TEXTS))]


def _run(model, folder, reading=CHUNK, tolerance=0.005):
    return export_and_score(model, folder, ["onnx", "onnx_int8"], QUERIES, RELEVANT, IDS, TEXTS,
                            reading, [1, 5, 10], "ndcg@10", tolerance, batch_size=4,
                            timed_chunks=8)


def test_every_format_is_scored_beside_torch(base_model, tmp_path):
    report = _run(base_model, tmp_path / "model",
                  Reading(kind="windows", window_tokens=16, stride_tokens=8))
    names = [f.format for f in report.formats]
    assert names == ["torch", "onnx", "onnx_int8"]
    torch, onnx, int8 = report.formats
    assert torch.metric_change == 0 and torch.speedup == 1
    assert abs(onnx.metric_change) < 1e-3
    assert all(f.chunks_per_second > 0 and f.queries_per_second > 0 for f in report.formats)
    assert report.reading == "windows16" and report.n_queries == 5 and report.timed_chunks == 8
    assert report.server_problems == []
    assert (tmp_path / "model" / "onnx" / "model.onnx").is_file()
    assert int8.megabytes < onnx.megabytes


def test_an_export_that_loses_is_flagged_and_not_shipped(base_model, tmp_path, monkeypatch):
    real = exports_module.OnnxModel

    class Broken(real):
        def encode(self, texts, *args, **kwargs):  # an export that lost its weights' meaning
            if self.path.name == "model_qint8.onnx":
                rng = np.random.default_rng(len(texts))
                v = rng.normal(size=(len(texts), 384)).astype(np.float32)
                return v / np.linalg.norm(v, axis=1, keepdims=True)
            return super().encode(texts, *args, **kwargs)

    monkeypatch.setattr(exports_module, "OnnxModel", Broken)
    report = _run(base_model, tmp_path / "model")
    int8 = report.formats[2]
    assert int8.flagged and "not shipped" in int8.reason
    assert report.shipped == ["onnx"]
    assert not (tmp_path / "model" / "onnx" / "model_qint8.onnx").exists()
    assert (tmp_path / "model" / "onnx" / "model.onnx").exists()


@pytest.mark.parametrize("tolerance", [-0.1])
def test_config_refuses_a_negative_tolerance(tolerance):
    from pydantic import ValidationError

    from embedtune.config import ExportConfig

    with pytest.raises(ValidationError):
        ExportConfig(tolerance=tolerance)
