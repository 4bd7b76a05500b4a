"""Serving benchmark: what the exports and the corpus index cost and keep, on the Lyft filing.

For one model (``--model``: a finetuned folder from ``benchmarks.quality --save-model``; default
the config's base model), read in ``--reading`` (a candidate of the config's ``retrieval``
section; default windows128, the reading the recipe ships), through the product's functions:
- ``embedtune.serving.exports.export_and_score``: torch and every ``export.formats`` format
  scored side by side on the quality benchmark's 334 test questions over all 334 chunks, and
  timed indexing every chunk (chunks/s) and encoding every test question (queries/s);
- ``embedtune.serving.index.CorpusIndex``: the index build of the whole corpus in that reading,
  and the search latency (question encoding included) of ``--latency-queries`` single questions.

Settings come from ``--config`` (default ``configs/lyft_10k.yaml``: ``training.max_seq_length``,
``export``, ``evaluation``, ``retrieval``) and its ``--set`` overrides. Appends a JSON line to
``<work-dir>/serving.jsonl`` and prints the table of benchmarks/README.md.

    python -m benchmarks.serving --model outputs/quality/model-recipe-s42
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.common import (
    DATA,
    add_config_arguments,
    load_benchmark,
    run_config,
    split_benchmark,
)
from embedtune.models import load_model
from embedtune.serving.exports import export_and_score
from embedtune.serving.index import CorpusIndex


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_config_arguments(p, "configs/lyft_10k.yaml")
    p.add_argument("--data", type=Path, default=DATA)
    p.add_argument("--model", default=None, help="model folder (default: training.base_model)")
    p.add_argument("--reading", default="windows128",
                   help="chunk, windows<W> or chunk+windows<W>, W among retrieval.window_tokens")
    p.add_argument("--latency-queries", type=int, default=100)
    p.add_argument("--work-dir", type=Path, default=Path("outputs/serving"))
    args = p.parse_args()
    config = run_config(args)
    max_seq_length = config.training.max_seq_length
    readings = {r.name: r for r in config.retrieval.candidates(max_seq_length)}
    if args.reading not in readings:
        p.error(f"--reading {args.reading}: the config's candidates are {', '.join(readings)}")
    reading = readings[args.reading]
    corpus, qa = load_benchmark(args.data)
    ids, _, test = split_benchmark(corpus, qa)
    questions = [text for _, text in test]
    relevant = [set(qa["relevant_docs"][qid]) for qid, _ in test]
    texts = [corpus[i] for i in ids]
    model_name = args.model or config.training.base_model
    model = load_model(model_name, max_seq_length)
    batch_size = config.evaluation.batch_size
    work = Path(tempfile.mkdtemp(prefix="embedtune-serving-"))
    report = export_and_score(model, work / "model", [f.value for f in config.export.formats],
                              questions, relevant, ids, texts, reading, config.evaluation.k_values,
                              config.retrieval.metric, config.export.tolerance, batch_size,
                              timed_chunks=len(texts))
    chunks = [{"chunk_id": c, "document_id": "lyft-10k", "source": "corpus.json", "page": None,
               "section": None, "position": i, "text": t} for i, (c, t) in enumerate(corpus.items())]
    index = CorpusIndex(work / "index")
    build = index.update(model, work / "model", reading, chunks, batch_size=batch_size)
    sample = questions[: args.latency_queries]
    index.search(model, sample[0], top_k=5)  # warm-up
    latencies = []
    for question in sample:
        started = time.perf_counter()
        index.search(model, question, top_k=5)
        latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()
    result = {"model": model_name, "reading": reading.name, "max_seq_length": max_seq_length,
              "config": str(args.config), "overrides": args.overrides,
              "exports": report.model_dump(mode="json"),
              "index": {"build_seconds": build.seconds, "chunks": build.n_chunks,
                        "vectors": build.n_vectors},
              "search_ms": {"median": round(statistics.median(latencies), 1),
                            "p95": round(latencies[int(0.95 * (len(latencies) - 1))], 1),
                            "queries": len(latencies)}}
    args.work_dir.mkdir(parents=True, exist_ok=True)
    with (args.work_dir / "serving.jsonl").open("a") as out:
        out.write(json.dumps(result) + "\n")
    metric = config.retrieval.metric
    print(f"| format | {metric} ({reading.name}) | change | chunks/s | queries/s | speedup | MB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for f in report.formats:
        print(f"| {f.format} | {f.metrics[metric]:.4f} | {f.metric_change:+.4f} | "
              f"{f.chunks_per_second:.1f} | {f.queries_per_second:.1f} | {f.speedup:.2f}x | "
              f"{f.megabytes:.1f} |")
    print(f"\nIndex build ({build.n_chunks} chunks, {build.n_vectors} vectors): {build.seconds:.1f} s; "
          f"search ({len(latencies)} single questions, encoding included): median "
          f"{result['search_ms']['median']} ms, p95 {result['search_ms']['p95']} ms")


if __name__ == "__main__":
    main()
