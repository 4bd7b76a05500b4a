import tempfile
from pathlib import Path
from typing import Annotated, Tuple

from datasets import Dataset
from sentence_transformers import SentenceTransformer
from zenml import log_metadata, step

import constants as C
from embedtune import schema
from embedtune.config import EvaluationConfig, ExportConfig
from embedtune.evaluation.comparison import Comparison
from embedtune.retrieval.reading import Reading
from embedtune.serving.exports import ExportReport, export_and_score
from embedtune.serving.onnx_export import ONNX_DIR


@step
def export_model(
    finetuned_model: SentenceTransformer,
    evaluated_test_queries: Dataset,
    chunks: Dataset,
    evaluation_result: Comparison,
    export: ExportConfig,
    evaluation: EvaluationConfig,
) -> Tuple[Annotated[ExportReport, C.EXPORT_ARTIFACT], Annotated[Path, C.ONNX_EXPORTS_ARTIFACT]]:
    """ONNX exports of the model this run trained, each loaded back and scored on the test
    queries the evaluation kept, in the shipped reading, beside the torch model (its scores
    are the evaluation's), and timed.

    Returns the scores (``export.json``) and the ``onnx/`` folder of the exports that passed
    the tolerance; ``run.py`` puts that folder into the exported model.
    """
    folder = Path(tempfile.mkdtemp(prefix="embedtune-export-")) / "model"
    report = export_and_score(
        finetuned_model, folder, [f.value for f in export.formats],
        evaluated_test_queries[schema.QUERY], [{c} for c in evaluated_test_queries[schema.CHUNK_ID]],
        chunks[schema.CHUNK_ID], chunks[schema.TEXT], Reading(**evaluation_result.shipped["reading"]),
        evaluation.k_values, evaluation_result.metric, export.tolerance,
        evaluation.batch_size, export.timed_chunks,
        torch_metrics=evaluation_result.metrics[evaluation_result.candidate],
    )
    log_metadata({"export": {f.format: {"metric_change": f.metric_change, "speedup": f.speedup,
                                        "flagged": f.flagged}
                             for f in report.formats}}, infer_model=True)
    onnx = folder / ONNX_DIR
    onnx.mkdir(exist_ok=True)
    return report, onnx
