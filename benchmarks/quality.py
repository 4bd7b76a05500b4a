"""Quality benchmark: does the pipeline's recipe make retrieval better on text it never saw?

The data is the Lyft 2021 10-K shipped in ``benchmarks/data/lyft-10k`` (334 chunks in filing
order, gpt-3.5's 668 questions):
- train: questions about the FIRST 167 chunks, by default the embedded LLM's, written with the
  config's generation settings (the shipped ``generated_queries.json.gz`` when the settings are
  the shipped ones; otherwise generated here and cached in ``--work-dir``), or with
  ``--reference-queries`` gpt-3.5's own questions about those chunks;
- test: gpt-3.5's 334 questions whose chunk is in the SECOND half, retrieving over all 334
  chunks. They come from another writer, so a lift is not the model learning our LLM's phrasing.

The protocol is the pipeline's: the questions of ``retrieval.validation_fraction`` of the train
chunks (seeded by ``split.seed``) are held out as validation; the rest are curated (with the
teacher's round trip when ``teacher.guide_training``) and trained on once per ``--seeds`` seed;
the base model, the finetuned model and the teacher are scored under every candidate reading;
each model's reading is chosen on validation; the test only reports it. Every setting comes from
``--config`` (default ``configs/lyft_10k.yaml``) and its ``--set`` overrides. One row per seed is
appended to ``<work-dir>/results.jsonl``, then the mean and spread are printed.

    python -m benchmarks.quality --seeds 42 43 44 --label L-recipe
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from benchmarks.common import (
    DATA,
    add_config_arguments,
    load_benchmark,
    read_json,
    run_config,
    split_benchmark,
)
from embedtune import schema
from embedtune.config import GenerationConfig, RunConfig, shaping_settings
from embedtune.curation.curate import curate, rule_filter
from embedtune.curation.validation import hold_out_validation
from embedtune.encoding import encoder
from embedtune.evaluation.compare import BASE, FINETUNED, TEACHER, evaluate_readings
from embedtune.evaluation.readings import QuerySet
from embedtune.evaluation.report import markdown_table
from embedtune.generation.runner import generate_queries
from embedtune.models import load_model
from embedtune.teacher.embeddings import embed_training_side
from embedtune.teacher.model import load_teacher
from embedtune.training.finetune import finetune

SHIPPED_QUERIES = DATA / "generated_queries.json.gz"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_config_arguments(p, "configs/lyft_10k.yaml")
    p.add_argument("--data", type=Path, default=DATA,
                   help="folder with qa_dataset.json (or .gz) and generated_queries.json.gz")
    p.add_argument("--work-dir", type=Path, default=Path("outputs/quality"),
                   help="results.jsonl and the cache of newly generated questions")
    p.add_argument("--label", default="run", help="names the rows in results.jsonl")
    p.add_argument("--seeds", type=int, nargs="+", default=[42],
                   help="training seeds: one draw each on the same data and validation hold-out")
    p.add_argument("--reference-queries", action="store_true",
                   help="train on gpt-3.5's questions about the first half instead of the LLM's")
    p.add_argument("--save-model", type=Path, metavar="DIR",
                   help="save the last seed's finetuned model (for benchmarks.serving)")
    return p.parse_args()


def settings_differences(recorded: dict, generation: GenerationConfig) -> list[str]:
    """The generation settings that differ from those a cached file was written with. A setting
    the file does not record counts as its default (it was added to the product later)."""
    current, defaults = shaping_settings(generation), shaping_settings(GenerationConfig())
    return [f"generation.{name}: {recorded.get(name, defaults.get(name))!r} there, {value!r} here"
            for name, value in current.items() if recorded.get(name, defaults.get(name)) != value]


def generated_queries(generation: GenerationConfig, corpus: dict[str, str], chunk_ids: list[str],
                      work_dir: Path) -> dict:
    """The LLM's questions about ``chunk_ids``: the shipped file when the settings are the ones it
    was written with, else a cache in ``work_dir`` keyed by the settings, else generated now."""
    settings = shaping_settings(generation)
    key = hashlib.sha256(json.dumps([settings, chunk_ids], sort_keys=True).encode()).hexdigest()[:10]
    cache = work_dir / f"queries_{len(chunk_ids)}chunks_{key}.json"
    if cache.exists():
        print(f"Generated questions: {cache} (cached)")
        return {**json.loads(cache.read_text()), "source": str(cache)}
    why = f"{SHIPPED_QUERIES} is missing"
    if SHIPPED_QUERIES.exists():
        shipped = read_json(SHIPPED_QUERIES)
        differences = settings_differences(shipped["generation"], generation)
        if shipped["chunk_ids"] == chunk_ids and not differences:
            print(f"Generated questions: {SHIPPED_QUERIES} (shipped, same generation settings)")
            return {**shipped, "source": str(SHIPPED_QUERIES)}
        why = "; ".join(differences) or "other chunks"
    print(f"Generating questions for {len(chunk_ids)} chunks (the shipped ones differ: {why})")
    rows = [{schema.CHUNK_ID: cid, schema.TEXT: corpus[cid], schema.DOCUMENT_ID: cid,
             schema.SOURCE: "corpus.json"} for cid in chunk_ids]
    started = time.monotonic()
    result = generate_queries(rows, generation, schema.TRAIN)
    generated = {"generation": settings, "chunk_ids": chunk_ids, "queries": result.queries,
                 "failures": result.failures, "stats": result.stats.as_dict(),
                 "wall_seconds": time.monotonic() - started}
    cache.write_text(json.dumps(generated, indent=1))
    return {**generated, "source": str(cache)}


def reference_queries(qa: dict, corpus: dict[str, str], chunk_ids: list[str]) -> dict:
    """gpt-3.5's questions about ``chunk_ids``, as rows like the LLM's."""
    train = set(chunk_ids)
    rows = []
    for qid, text in qa["queries"].items():
        chunk = qa["relevant_docs"][qid][0]
        if chunk in train:
            rows.append({schema.QUERY_ID: qid, schema.QUERY: text, schema.CHUNK_ID: chunk,
                         schema.DOCUMENT_ID: chunk, schema.SOURCE: "corpus.json",
                         schema.POSITIVE: corpus[chunk], schema.NEGATIVE_QUERY: "",
                         schema.SPLIT: schema.TRAIN})
    return {"queries": rows, "failures": [], "wall_seconds": 0.0, "source": "qa_dataset.json"}


def main() -> None:
    args = parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    args.work_dir.mkdir(parents=True, exist_ok=True)
    config = run_config(args)
    corpus, qa = load_benchmark(args.data)
    ids, train_ids, test = split_benchmark(corpus, qa)
    generated = (reference_queries(qa, corpus, train_ids) if args.reference_queries
                 else generated_queries(config.generation, corpus, train_ids, args.work_dir))
    rows = draws(args, config, generated, corpus, qa, ids, train_ids, test)
    summarise(rows, config.retrieval.metric)


def draws(args: argparse.Namespace, config: RunConfig, generated: dict, corpus: dict[str, str],
          qa: dict, ids: list[str], train_ids: list[str], test: list[tuple[str, str]]) -> list[dict]:
    """Hold out validation, curate, then train and evaluate once per seed; one row per seed."""
    retrieval, training, teacher_config = config.retrieval, config.training, config.teacher
    split = hold_out_validation(generated["queries"], train_ids, retrieval.validation_fraction,
                                config.split.seed)
    held = set(split.validation_chunk_ids)
    fit_ids = [i for i in train_ids if i not in held]
    test_set = QuerySet([q for q, _ in test], [t for _, t in test],
                        [set(qa["relevant_docs"][q]) for q, _ in test])
    validation_rows, _, _ = rule_filter(split.validation_rows, config.curation)
    validation = QuerySet([r[schema.QUERY_ID] for r in validation_rows],
                          [r[schema.QUERY] for r in validation_rows],
                          [{r[schema.CHUNK_ID]} for r in validation_rows])
    print(f"Validation: {len(held)} of {len(train_ids)} training chunks held out, "
          f"{len(validation)} questions (after the rule filters); training on {len(fit_ids)} chunks.")

    base = load_model(training.base_model, training.max_seq_length)
    base_state = {k: v.detach().clone() for k, v in base.state_dict().items()}
    teacher = load_teacher(teacher_config) if teacher_config.enabled else None
    teacher_vectors, teacher_seconds = None, 0.0
    if teacher_config.guides:
        started = time.monotonic()
        teacher_vectors = embed_training_side(teacher, split.train_rows, fit_ids,
                                              [corpus[i] for i in fit_ids], teacher_config.model,
                                              teacher_config.batch_size)
        teacher_seconds = time.monotonic() - started
    started = time.monotonic()
    curated = curate(split.train_rows, fit_ids, [corpus[i] for i in fit_ids], config.curation,
                     encoder(base), teacher=teacher_vectors,
                     teacher_config=teacher_config if teacher_vectors is not None else None)
    curation_seconds = time.monotonic() - started

    models, readings_for, extra_options = {BASE: base}, {}, {}
    if teacher is not None:
        models[TEACHER] = teacher
        readings_for[TEACHER] = [r for r in retrieval.candidates(teacher_config.max_seq_length)
                                 if r.kind.value in teacher_config.readings]
        extra_options[TEACHER] = f"teacher {teacher_config.model}"
    corpus_texts = [corpus[i] for i in ids]
    candidates = retrieval.candidates(training.max_seq_length)
    tuned = load_model(training.base_model, training.max_seq_length)
    rows = []
    for seed in args.seeds:
        tuned.load_state_dict(base_state)
        run_started = time.monotonic()
        tuned, stats = finetune(tuned, curated.rows, training.model_copy(update={"seed": seed}))
        eval_started = time.monotonic()
        comparison = evaluate_readings(test_set, validation, ids, corpus_texts,
                                       {**models, FINETUNED: tuned}, candidates, config.evaluation,
                                       retrieval.metric, readings_for=readings_for,
                                       extra_options=extra_options)
        eval_seconds = time.monotonic() - eval_started
        label = f"{args.label}-s{seed}"
        print(f"\n{label}\n" + markdown_table(comparison))
        tables = comparison.readings["models"]
        row = {
            "label": label, "seed": seed, "config": str(args.config), "overrides": args.overrides,
            "queries": generated["source"], "generated_queries": len(generated["queries"]),
            "train_chunks": len(fit_ids), "validation_chunks": len(held),
            "validation_queries": len(validation), "curation": curated.report,
            "teacher_seconds": round(teacher_seconds, 1),
            "curation_seconds": round(curation_seconds, 1), "eval_seconds": round(eval_seconds, 1),
            **{k: round(v, 4) for k, v in stats.items()},
            "training": training.model_copy(update={"seed": seed}).model_dump(mode="json"),
            "teacher": teacher_config.model_dump(mode="json") if teacher else None,
            "shipped": comparison.candidate, "no_training_best": comparison.no_training["best"],
            "chosen": comparison.readings["chosen"],
            "best_on_test": {m: max(t, key=lambda r: r[f"test_{retrieval.metric}"])["reading"]
                             for m, t in tables.items()},
            "readings": tables,
            # generation (as measured when the questions were written), the teacher, curation,
            # this draw's training and evaluation: the recipe's cost for one draw.
            "recipe_seconds": round(generated["wall_seconds"] + teacher_seconds + curation_seconds
                                    + time.monotonic() - run_started, 1),
        }
        with (args.work_dir / "results.jsonl").open("a") as out:
            out.write(json.dumps({"metrics": comparison.metrics,
                                  "differences": {k: v[retrieval.metric]
                                                  for k, v in comparison.differences.items()},
                                  "settings": row}) + "\n")
        rows.append({**row, "metrics": comparison.metrics})
    if args.save_model:
        tuned.save(str(args.save_model))
        print(f"Saved the finetuned model of seed {args.seeds[-1]} to {args.save_model}")
    return rows


def summarise(rows: list[dict], metric: str) -> None:
    """Mean and spread over the draws of every system, and how often the reading chosen on
    validation was the finetuned model's best on the test."""
    def spread(values: list[float]) -> str:
        return f"{statistics.mean(values):.3f} ({min(values):.3f}..{max(values):.3f})"

    print(f"\n{len(rows)} draw(s), {metric}, mean (min..max):")
    print(f"- shipped retrieval: {spread([r['metrics'][r['shipped']][metric] for r in rows])} "
          f"as {[r['shipped'] for r in rows]}")
    for system in rows[0]["metrics"]:
        if all(system in r["metrics"] for r in rows):
            print(f"  - {system}: {spread([r['metrics'][system][metric] for r in rows])}")
    agree = sum(r["chosen"][FINETUNED] == r["best_on_test"][FINETUNED] for r in rows)
    print(f"- the finetuned model's reading chosen on validation was its best on the test in "
          f"{agree} of {len(rows)} draws")


if __name__ == "__main__":
    main()
