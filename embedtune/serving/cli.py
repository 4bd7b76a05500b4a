"""``python run.py search --config C "question"``: try the trained model on your own questions.

Searches the index the run left in ``<output_dir>/index`` (the exported model, in the shipped
reading) and prints the top chunks with source, page, section and score. ``--compare`` puts the
base model's ranking beside it, from an index of the same chunks in the same reading that is
built once (``<output_dir>/index-base``) and kept in step like the main one; ``--interactive``
reads one question per line and keeps the models loaded.
"""

from __future__ import annotations

import argparse
import logging
import sys
import textwrap
import time
from pathlib import Path
from typing import TextIO

from embedtune.serving.index import CorpusIndex, CorpusIndexError, SearchHit

BASE_SUFFIX = "-base"


def _where(hit: SearchHit) -> str:
    parts = [hit.source or "?"]
    if hit.page is not None:
        parts.append(f"p. {hit.page}")
    if hit.section:
        parts.append(f"§ {hit.section}")
    return ", ".join(parts)


def _snippet(hit: SearchHit, width: int) -> str:
    text = " ".join((hit.best_window or hit.text).split())
    return textwrap.shorten(text, width=width, placeholder=" ...")


def format_hits(hits: list[SearchHit], width: int = 100) -> str:
    lines = []
    for hit in hits:
        lines.append(f"{hit.rank:>2}. {hit.score:.3f}  {_where(hit)}  [{hit.chunk_id}]")
        lines.append(textwrap.indent(textwrap.fill(_snippet(hit, 3 * width), width - 6), "      "))
    return "\n".join(lines)


def format_side_by_side(left: list[SearchHit], right: list[SearchHit], names: tuple[str, str],
                        width: int | None = None) -> str:
    """Two rankings in columns, each hit as its rank, score and source, then the start of its
    text; ``=`` marks a chunk both rank in their top k."""
    import shutil

    width = width or max(100, min(shutil.get_terminal_size((140, 40)).columns, 200))
    column = (width - 3) // 2
    both = {h.chunk_id for h in left} & {h.chunk_id for h in right}

    def cell(hit: SearchHit | None) -> list[str]:
        if hit is None:
            return ["", "", ""]
        mark = "=" if hit.chunk_id in both else " "
        head = f"{hit.rank:>2} {mark} {hit.score:.3f}  {_where(hit)}"
        head = head if len(head) <= column else head[: column - 3] + "..."
        body = textwrap.wrap(_snippet(hit, 2 * (column - 7)), column - 7)[:2]
        return [head] + ["       " + line for line in body] + [""] * (2 - len(body))

    lines = [f"{names[0]:<{column}} | {names[1]}", "-" * column + "-+-" + "-" * column]
    for i in range(max(len(left), len(right))):
        a = cell(left[i] if i < len(left) else None)
        b = cell(right[i] if i < len(right) else None)
        lines += [f"{x:<{column}} | {y}" for x, y in zip(a, b)]
    lines.append("(= ranked by both)")
    return "\n".join(lines)


class Session:
    """The loaded index and model(s), answering one question at a time."""

    def __init__(self, index: CorpusIndex, compare_with: str | None = None):
        manifest = index.manifest
        self.index = index
        from embedtune.models import load_model, resolve_model_path

        self.model = load_model(manifest["model"], manifest["max_seq_length"])
        self.base_index = self.base_model = None
        if compare_with is not None:
            folder = resolve_model_path(compare_with)
            self.base_index = CorpusIndex(index.path.with_name(index.path.name + BASE_SUFFIX))
            self.base_model = load_model(folder, manifest["max_seq_length"])
            update = self.base_index.update(self.base_model, folder,
                                            index.reading, index.chunks(),
                                            details={"compared_with": manifest["model"]})
            if update.embedded_chunks:
                print(f"(base model index: {update.embedded_chunks} chunks embedded in "
                      f"{update.seconds:.1f} s)", file=sys.stderr)

    def answer(self, question: str, top_k: int, out: TextIO) -> None:
        started = time.perf_counter()
        hits = self.index.search(self.model, question, top_k)
        ms = (time.perf_counter() - started) * 1000
        if self.base_index is None:
            print(f"{question}\n({ms:.0f} ms, reading {self.index.reading.name})", file=out)
            print(format_hits(hits), file=out)
            return
        base_hits = self.base_index.search(self.base_model, question, top_k)
        print(f"{question}\n({ms:.0f} ms, reading {self.index.reading.name})", file=out)
        print(format_side_by_side(hits, base_hits, ("finetuned", "base")), file=out)


def main(argv: list[str], index_dir: str = "index", stdin: TextIO | None = None) -> int:
    parser = argparse.ArgumentParser(prog="run.py search", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("question", nargs="*", help="the question (or use --interactive)")
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--compare", action="store_true",
                        help="the base model's ranking beside the finetuned model's")
    parser.add_argument("--interactive", action="store_true", help="one question per line")
    args = parser.parse_args(argv)
    if not args.question and not args.interactive:
        parser.error("give a question, or --interactive")
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    from embedtune.config import ConfigError, load_config

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    index = CorpusIndex(config.output_dir / index_dir)
    if index.manifest is None:
        print(f"No index at {index.path}. Build it with `python run.py --config {args.config}` "
              "(export.index: true, the default); the run writes it after the model.",
              file=sys.stderr)
        return 2
    try:
        session = Session(index, config.training.base_model if args.compare else None)
    except (CorpusIndexError, OSError) as exc:
        print(f"The index at {index.path} cannot be used: {exc}. Rebuild it with "
              f"`python run.py --config {args.config}`.", file=sys.stderr)
        return 2
    manifest = index.manifest
    status = {True: "promoted to production", False: "not promoted by the gate"}.get(
        manifest.get("promoted"), "promotion unknown")
    print(f"Index {index.path}: {manifest['n_chunks']} chunks, model {manifest['model']} "
          f"(version {manifest.get('model_version') or '?'}, {status}), reading "
          f"{index.reading.name}", file=sys.stderr)
    if args.question:
        session.answer(" ".join(args.question), args.top_k, sys.stdout)
    if args.interactive:
        stdin = stdin or sys.stdin
        print("One question per line; an empty line or Ctrl-D ends.", file=sys.stderr)
        for line in stdin:
            if not line.strip():
                break
            session.answer(line.strip(), args.top_k, sys.stdout)
            print(file=sys.stdout, flush=True)
    return 0
