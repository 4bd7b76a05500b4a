"""Base-vs-finetuned comparison: a Markdown table for the terminal and logs, an HTML page for the
ZenML dashboard, with the per-query examples that explain the numbers."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any, Sequence


@dataclass
class Comparison:
    """Everything the report shows; also stored as the ``evaluation`` artifact (as a dict)."""

    metrics: dict[str, dict[str, float]]  # model label -> metric -> value
    n_queries: int
    n_corpus: int
    improved: list[dict[str, Any]] = field(default_factory=list)
    worsened: list[dict[str, Any]] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)  # counts, settings, timings

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def rank_changes(
    queries: Sequence[str],
    base_ranks: Sequence[int | None],
    tuned_ranks: Sequence[int | None],
    limit: int = 5,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Queries whose relevant chunk moved up / down the most (None = not in the top k)."""
    worst = 10**6

    def rank(value: int | None) -> int:
        return worst if value is None else value

    moves = [
        {"query": q, "base_rank": b, "finetuned_rank": t, "delta": rank(b) - rank(t)}
        for q, b, t in zip(queries, base_ranks, tuned_ranks)
        if rank(b) != rank(t)
    ]
    improved = sorted((m for m in moves if m["delta"] > 0), key=lambda m: -m["delta"])[:limit]
    worsened = sorted((m for m in moves if m["delta"] < 0), key=lambda m: m["delta"])[:limit]
    return improved, worsened


def markdown_table(comparison: Comparison, baseline: str = "base", candidate: str = "finetuned") -> str:
    base, tuned = comparison.metrics[baseline], comparison.metrics[candidate]
    lines = [
        f"| metric | {baseline} | {candidate} | change |",
        "|---|---:|---:|---:|",
    ]
    for key in base:
        lines.append(f"| {key} | {base[key]:.3f} | {tuned[key]:.3f} | {tuned[key] - base[key]:+.3f} |")
    lines.append("")
    lines.append(f"{comparison.n_queries} held-out queries, retrieving over {comparison.n_corpus} chunks.")
    return "\n".join(lines)


def _fmt_rank(value: int | None) -> str:
    return "-" if value is None else str(value)


def _examples_html(title: str, rows: list[dict[str, Any]]) -> str:
    if not rows:
        return f"<h3>{title}</h3><p>None.</p>"
    body = "".join(
        f"<tr><td>{html.escape(r['query'])}</td><td>{_fmt_rank(r['base_rank'])}</td>"
        f"<td>{_fmt_rank(r['finetuned_rank'])}</td></tr>"
        for r in rows
    )
    return (
        f"<h3>{title}</h3><table><tr><th>query</th><th>base rank</th><th>finetuned rank</th></tr>"
        f"{body}</table>"
    )


def html_report(comparison: Comparison, baseline: str = "base", candidate: str = "finetuned") -> str:
    base, tuned = comparison.metrics[baseline], comparison.metrics[candidate]
    rows = "".join(
        f"<tr><td>{k}</td><td>{base[k]:.3f}</td><td>{tuned[k]:.3f}</td>"
        f"<td class='{'up' if tuned[k] >= base[k] else 'down'}'>{tuned[k] - base[k]:+.3f}</td></tr>"
        for k in base
    )
    context = "".join(
        f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>"
        for k, v in comparison.context.items()
    )
    return f"""<html><head><style>
body {{ font-family: sans-serif; margin: 1.5em; }}
table {{ border-collapse: collapse; margin-bottom: 1.5em; }}
td, th {{ border: 1px solid #ccc; padding: 4px 10px; text-align: left; }}
.up {{ color: #11773a; }} .down {{ color: #b3261e; }}
</style></head><body>
<h2>Retrieval: {baseline} vs {candidate}</h2>
<p>{comparison.n_queries} held-out queries (documents never seen in training), retrieving over
all {comparison.n_corpus} chunks of the corpus.</p>
<table><tr><th>metric</th><th>{baseline}</th><th>{candidate}</th><th>change</th></tr>{rows}</table>
{_examples_html("Queries that improved most", comparison.improved)}
{_examples_html("Queries that got worse", comparison.worsened)}
<h3>Run</h3><table>{context}</table>
</body></html>"""
