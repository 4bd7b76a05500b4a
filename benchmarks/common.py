"""What the benchmarks share: the shipped Lyft data, and a run config with ``--set`` overrides."""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from embedtune.config import RunConfig, load_config

# The Lyft 2021 10-K: 334 chunks and gpt-3.5's 668 questions (run-llama/finetune-embedding, MIT),
# and the embedded LLM's questions that the quality benchmark trains on; see its README.md.
DATA = Path(__file__).resolve().parent / "data" / "lyft-10k"


def read_json(path: Path) -> Any:
    """``path``, or ``path``.gz where only the gzipped copy exists (as shipped)."""
    path = Path(path)
    if not path.exists() and path.with_name(path.name + ".gz").exists():
        path = path.with_name(path.name + ".gz")
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8") as f:
            return json.load(f)
    return json.loads(path.read_text(encoding="utf-8"))


def load_benchmark(data: Path = DATA) -> tuple[dict[str, str], dict]:
    """The chunks (id -> text, in filing order) and the qa set (queries, relevant_docs).

    The qa file carries the corpus too (the same 334 chunks as ``data/lyft-10k/corpus.json``,
    in the same order), so the chunks come from it.
    """
    qa = read_json(Path(data) / "qa_dataset.json")
    return qa["corpus"], qa


def split_benchmark(corpus: dict[str, str], qa: dict) -> tuple[list[str], list[str], list[tuple[str, str]]]:
    """Chunk ids in corpus order, the first half's (train), and the test questions: gpt-3.5's
    questions (id, text) whose chunk is in the second half."""
    ids = list(corpus)
    first_half, second_half = ids[: len(ids) // 2], set(ids[len(ids) // 2:])
    test = [(qid, text) for qid, text in qa["queries"].items() if qa["relevant_docs"][qid][0] in second_half]
    return ids, first_half, test


def add_config_arguments(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument("--config", type=Path, default=Path(default),
                        help=f"run config the benchmark reads its settings from (default {default})")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                        help="override one config setting, e.g. --set training.learning_rate=2e-4 "
                        "(the value is read as YAML); repeatable")


def run_config(args: argparse.Namespace) -> RunConfig:
    """``--config`` with every ``--set section.key=value`` applied, validated as the file is."""
    raw = load_config(args.config).model_dump(mode="json")
    for item in args.overrides:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--set {item!r}: expected KEY=VALUE, e.g. teacher.enabled=false")
        *parents, leaf = key.split(".")
        node = raw
        for part in parents:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[leaf] = yaml.safe_load(value)
    try:
        return RunConfig.model_validate(raw)
    except ValidationError as exc:
        raise SystemExit(f"{args.config} with --set {' '.join(args.overrides)}: {exc}") from None
