"""Export the trained model to the formats a team serves, and score each one as it will serve.

A format is only worth shipping if it ranks like the model it came from and is faster. So each
export is loaded back and scored on the run's held-out queries, in the shipped reading, by the
same ranking code as the torch model, and timed on the same texts; a format that loses more
than ``tolerance`` of the metric is flagged and left out of the shipped folder (its row, with
the reason, stays in ``export.json``).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from pydantic import BaseModel

from embedtune.evaluation.retrieval import evaluate_retrieval
from embedtune.retrieval.index import encode_corpus
from embedtune.retrieval.reading import Reading
from embedtune.serving.onnx_export import FORMATS, ONNX_DIR, OnnxModel, export_onnx
from embedtune.serving.server_folder import prepare_for_servers, server_problems

logger = logging.getLogger(__name__)

TORCH = "torch"


class FormatResult(BaseModel):
    """One format's scores beside the torch model's."""

    format: str
    file: str | None  # relative to the model folder; None for torch (the folder itself)
    megabytes: float
    metrics: dict[str, float]
    metric_change: float  # this format's metric minus the torch model's
    chunks_per_second: float  # chunks indexed per second in the shipped reading
    queries_per_second: float
    speedup: float  # chunks per second over the torch model's
    flagged: bool = False
    reason: str | None = None


class ExportReport(BaseModel):
    """``export.json``: what was exported, how each format scored and whether it shipped."""

    reading: str
    metric: str
    tolerance: float
    n_queries: int
    n_chunks: int
    timed_chunks: int
    formats: list[FormatResult]
    server_problems: list[str]
    seconds: float

    @property
    def shipped(self) -> list[str]:
        return [f.format for f in self.formats if f.format != TORCH and not f.flagged]


def _per_second(encode: Callable[[list[str]], Any], texts: Sequence[str], batch_size: int) -> float:
    """Texts handled per second by ``encode`` (one untimed warm-up batch first)."""
    encode(list(texts[:batch_size]))
    started = time.perf_counter()
    encode(list(texts))
    return len(texts) / max(time.perf_counter() - started, 1e-9)


def _chunk_rate(model: Any, texts: Sequence[str], reading: Reading, batch_size: int) -> float:
    """Chunks indexed per second in ``reading``: every vector the index stores for them (the
    chunk's own and/or its windows), as re-embedding a corpus costs."""
    return _per_second(lambda batch: encode_corpus(model, [str(i) for i in range(len(batch))],
                                                   batch, [reading], batch_size),
                       texts, batch_size)


def _megabytes(path: Path) -> float:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()
                                           and ONNX_DIR not in p.relative_to(path).parts]
    return round(sum(p.stat().st_size for p in files) / 2**20, 1)


def export_and_score(
    model: Any,
    folder: Path,
    formats: Sequence[str],
    queries: Sequence[str],
    relevant: Sequence[set[str]],
    corpus_ids: Sequence[str],
    corpus_texts: Sequence[str],
    reading: Reading,
    k_values: Sequence[int],
    metric: str,
    tolerance: float,
    batch_size: int = 64,
    timed_chunks: int = 256,
    torch_metrics: dict[str, float] | None = None,
) -> ExportReport:
    """Save ``model`` to ``folder`` (server-ready), export ``formats`` into it, score and time
    every format; flagged exports are deleted from the folder.

    ``torch_metrics``: the torch model's metrics on these queries in this reading, when the
    run's evaluation has them already (the same ranking code), so it is not scored twice.
    """
    started = time.monotonic()
    folder = Path(folder)
    model.save(str(folder))
    prepare_for_servers(folder, model.max_seq_length)
    files = export_onnx(model, folder, formats) if formats else {}
    sample = list(corpus_texts[:timed_chunks])
    candidates: dict[str, Any] = {TORCH: model}
    for name, path in files.items():
        candidates[name] = OnnxModel(folder, path.name, max_seq_length=model.max_seq_length)
    results: list[FormatResult] = []
    reference = None
    for name, candidate in candidates.items():
        if name == TORCH and torch_metrics is not None:
            metrics = dict(torch_metrics)
        else:
            metrics = evaluate_retrieval(candidate, queries, relevant, corpus_ids, corpus_texts,
                                         k_values, batch_size, label=name, reading=reading).metrics
        value = metrics[metric]
        reference = value if reference is None else reference
        chunks_rate = _chunk_rate(candidate, sample, reading, batch_size)
        queries_rate = _per_second(lambda batch: candidate.encode_query(batch, batch_size=batch_size),
                                   list(queries), batch_size)
        torch_rate = results[0].chunks_per_second if results else chunks_rate
        change = round(value - reference, 4)
        flagged = change < -tolerance
        results.append(FormatResult(
            format=name, file=None if name == TORCH else f"{ONNX_DIR}/{FORMATS[name]}",
            megabytes=_megabytes(folder if name == TORCH else files[name]),
            metrics={k: round(v, 4) for k, v in metrics.items()}, metric_change=change,
            chunks_per_second=round(chunks_rate, 1), queries_per_second=round(queries_rate, 1),
            speedup=round(chunks_rate / torch_rate, 2), flagged=flagged,
            reason=(f"{metric} {change:+.4f} against the torch model, beyond the tolerance "
                    f"{tolerance}: not shipped" if flagged else None)))
        logger.info("Export %s: %s %.4f (%+.4f), %.1f chunks/s, %.1f queries/s%s", name, metric,
                    value, change, chunks_rate, queries_rate, " FLAGGED" if flagged else "")
    for result in results:
        if result.flagged:
            (folder / result.file).unlink()
    return ExportReport(
        reading=reading.name, metric=metric, tolerance=tolerance, n_queries=len(queries),
        n_chunks=len(corpus_ids), timed_chunks=len(sample), formats=results,
        server_problems=server_problems(folder), seconds=round(time.monotonic() - started, 1))
