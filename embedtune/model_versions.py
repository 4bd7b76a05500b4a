"""The ZenML Model's versions: what each run records on its version, and the listing command.

Every run records on its model version what a reviewer needs to trust or reproduce it: the base
model, the data (corpus path and content fingerprint, and the artifact versions of the chunks and
queries it trained and was evaluated on), the whole run config, and the metrics (logged by the
evaluation step). ``python run.py models --config ...`` lists the versions with their key metrics
and marks the production one, which the promotion gate maintains.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import constants as C
from embedtune.config import ConfigError, RunConfig, load_config

# Artifacts whose versions identify the data a model version was trained and evaluated on.
DATA_STEPS = {
    "chunk_documents": C.CHUNKS_ARTIFACT,
    "generate_train_queries": C.QUERIES_ARTIFACT,
    "generate_test_queries": C.QUERIES_ARTIFACT,
    "curate_queries": C.CURATED_QUERIES_ARTIFACT,
}
SYSTEMS = ("base", "finetuned", "bm25")


def run_record(config: RunConfig, corpus_fingerprint: str, run_response) -> dict[str, Any]:
    """The metadata a run logs on its model version (JSON-able; no secrets: configs hold only the
    *names* of environment variables and ZenML secrets, never keys).

    The metrics are taken from the run's evaluation artifact and recorded again here: when the
    evaluation step is cached, it does not log them, and a run that attaches to a new model
    version (say, only the schedule changed) would otherwise leave that version without metrics.
    """
    data: dict[str, Any] = {
        "corpus_path": str(config.corpus.path),
        "corpus_fingerprint": corpus_fingerprint,
        "pipeline_run": run_response.name,
    }
    for step_name, artifact in DATA_STEPS.items():
        step_run = run_response.steps.get(step_name)
        if step_run is None or artifact not in step_run.outputs:
            continue
        version = step_run.outputs[artifact][0]
        data[step_name] = {"artifact": version.name, "version": str(version.version), "id": str(version.id)}
    evaluation = run_response.steps["evaluate_models"].outputs[C.EVALUATION_ARTIFACT][0].load()
    return {
        **evaluation.metrics,
        "base_model": config.training.base_model,
        "data": data,
        "run_config": config.model_dump(mode="json"),
    }


@dataclass(frozen=True)
class VersionRow:
    number: int
    name: str
    stage: str | None
    created: datetime
    metrics: dict[str, dict[str, float]]  # system -> metric -> value
    promoted: bool | None  # the gate's decision for this version, if it ran


def list_versions(model_name: str, limit: int = 50) -> list[VersionRow]:
    """The newest ``limit`` versions of ``model_name``, newest first, with their logged metrics."""
    from zenml.client import Client

    client = Client()
    client.get_model(model_name)  # raises KeyError naming the model if it does not exist
    page = client.list_model_versions(model=model_name, sort_by="desc:number", size=limit, hydrate=True)
    rows = []
    for version in page.items:
        metadata = version.run_metadata or {}
        promotion = metadata.get("promotion")
        rows.append(VersionRow(
            number=version.number,
            name=version.name,
            stage=str(getattr(version.stage, "value", version.stage)) if version.stage else None,
            created=version.created,
            metrics={s: metadata[s] for s in SYSTEMS if isinstance(metadata.get(s), dict)},
            promoted=promotion.get("promote") if isinstance(promotion, dict) else None,
        ))
    return rows


def format_versions(model_name: str, rows: list[VersionRow], metrics: list[str]) -> str:
    """A plain-text table: one line per version, production marked with ``*``."""
    if not rows:
        return f"Model '{model_name}' has no versions yet."
    header = ["", "#", "version", "stage", "created"] + [f"{m} ft (base)" for m in metrics] + ["gate"]
    lines = [header]
    for row in rows:
        cells = ["*" if row.stage == "production" else "", str(row.number), row.name,
                 row.stage or "-", row.created.strftime("%Y-%m-%d %H:%M")]
        for metric in metrics:
            ft = row.metrics.get("finetuned", {}).get(metric)
            base = row.metrics.get("base", {}).get(metric)
            cells.append("-" if ft is None else f"{ft:.3f} ({base:.3f})" if base is not None else f"{ft:.3f}")
        cells.append({True: "promoted", False: "held back", None: "-"}[row.promoted])
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in lines)
    production = next((r for r in rows if r.stage == "production"), None)
    footer = (f"* production: version {production.number} ({production.name})" if production
              else "No version is in production yet.")
    return f"Model '{model_name}':\n{text}\n{footer}"


def main(argv: list[str]) -> int:
    """``python run.py models --config ...`` (or ``--name``)."""
    parser = argparse.ArgumentParser(prog="run.py models", description="List the model's versions.")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", type=Path, help="run config whose model.name to list")
    source.add_argument("--name", help="ZenML model name")
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--metrics", nargs="+", default=None,
                        help="metrics to show (default: the config's promotion metric, hit_rate@5, mrr@10)")
    args = parser.parse_args(argv)
    metrics = args.metrics
    name = args.name
    if args.config is not None:
        try:
            config = load_config(args.config)
        except ConfigError as exc:
            print(exc, file=sys.stderr)
            return 2
        name = config.model.name
        k = max(config.evaluation.k_values)
        metrics = metrics or list(dict.fromkeys([config.promotion.metric, "hit_rate@5", f"mrr@{k}"]))
    metrics = metrics or ["ndcg@10", "hit_rate@5", "mrr@10"]
    try:
        rows = list_versions(name, args.limit)
    except KeyError:
        print(f"No ZenML model named '{name}' in this ZenML store; run the pipeline first.", file=sys.stderr)
        return 1
    print(format_versions(name, rows, metrics))
    return 0
