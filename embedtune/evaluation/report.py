"""The evaluation report: a Markdown summary for the terminal and logs, an HTML page for the
ZenML dashboard, with the per-query examples, the confidence interval and the promotion decision
that explain the numbers."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any, Sequence


@dataclass
class Comparison:
    """Everything the report shows; also stored as the ``evaluation`` artifact (as a dict)."""

    metrics: dict[str, dict[str, float]]  # system label -> metric -> value
    n_queries: int
    n_corpus: int
    improved: list[dict[str, Any]] = field(default_factory=list)
    worsened: list[dict[str, Any]] = field(default_factory=list)
    # "<candidate>_vs_<other>" -> metric -> PairedDifference.as_dict()
    differences: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    per_query: list[dict[str, Any]] = field(default_factory=list)
    # regression set name -> {"n_queries": n, "metrics": {system: {metric: value}}}
    regression: dict[str, dict[str, Any]] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)  # counts, settings, timings

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Comparison":
        return cls(**data)


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


def _difference_line(comparison: Comparison, key: str, metric: str) -> str | None:
    diff = comparison.differences.get(key, {}).get(metric)
    if diff is None:
        return None
    return (
        f"{metric} {key.replace('_vs_', ' vs ')}: {diff['mean']:+.3f} "
        f"({diff['confidence']:.0%} CI {diff['low']:+.3f} .. {diff['high']:+.3f}; "
        f"wins/losses/ties {diff['wins']}/{diff['losses']}/{diff['ties']})"
    )


def markdown_table(
    comparison: Comparison,
    baseline: str = "base",
    candidate: str = "finetuned",
    promotion: dict[str, Any] | None = None,
) -> str:
    """Every system side by side, the change of the candidate over the baseline, the CI."""
    systems = list(comparison.metrics)
    base, tuned = comparison.metrics[baseline], comparison.metrics[candidate]
    lines = [
        f"| metric | {' | '.join(systems)} | {candidate} - {baseline} |",
        "|---|" + "---:|" * (len(systems) + 1),
    ]
    for key in base:
        values = " | ".join(f"{comparison.metrics[s][key]:.3f}" for s in systems)
        lines.append(f"| {key} | {values} | {tuned[key] - base[key]:+.3f} |")
    lines.append("")
    lines.append(f"{comparison.n_queries} held-out queries, retrieving over {comparison.n_corpus} chunks.")
    for other in systems:
        line = _difference_line(comparison, f"{candidate}_vs_{other}", "ndcg@10")
        if line:
            lines.append(f"- {line}")
    for name, reg in comparison.regression.items():
        b, t = reg["metrics"][baseline]["ndcg@10"], reg["metrics"][candidate]["ndcg@10"]
        lines.append(f"- regression set {name} ({reg['n_queries']} queries): ndcg@10 {b:.3f} -> {t:.3f} ({t - b:+.3f})")
    if promotion:
        lines.append(f"\nPromotion: {'promoted' if promotion['promote'] else 'not promoted'}: "
                     + "; ".join(promotion["reasons"]))
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


def _kv_table(items: dict[str, Any]) -> str:
    return "<table>" + "".join(
        f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>" for k, v in items.items()
    ) + "</table>"


def html_report(
    comparison: Comparison,
    baseline: str = "base",
    candidate: str = "finetuned",
    promotion: dict[str, Any] | None = None,
) -> str:
    systems = list(comparison.metrics)
    base, tuned = comparison.metrics[baseline], comparison.metrics[candidate]
    head = "".join(f"<th>{html.escape(s)}</th>" for s in systems)
    rows = "".join(
        f"<tr><td>{k}</td>"
        + "".join(f"<td>{comparison.metrics[s][k]:.3f}</td>" for s in systems)
        + f"<td class='{'up' if tuned[k] >= base[k] else 'down'}'>{tuned[k] - base[k]:+.3f}</td></tr>"
        for k in base
    )
    intervals = "".join(
        f"<li>{html.escape(line)}</li>"
        for other in systems
        if (line := _difference_line(comparison, f"{candidate}_vs_{other}", "ndcg@10"))
    )
    decision = ""
    if promotion:
        verdict = "Promoted to production" if promotion["promote"] else "Not promoted"
        reasons = "".join(f"<li>{html.escape(r)}</li>" for r in promotion["reasons"])
        decision = (f"<h3 class='{'up' if promotion['promote'] else 'down'}'>{verdict}</h3>"
                    f"<ul>{reasons}</ul>")
    regression = "".join(
        f"<li>regression set {html.escape(name)} ({reg['n_queries']} queries): ndcg@10 "
        f"{reg['metrics'][baseline]['ndcg@10']:.3f} -> {reg['metrics'][candidate]['ndcg@10']:.3f}</li>"
        for name, reg in comparison.regression.items()
    )
    curation = comparison.context.get("curation")
    context = {k: v for k, v in comparison.context.items() if k != "curation"}
    curation_html = ""
    if curation:
        curation_html = "<h3>Training data curation</h3>" + _kv_table(
            {"generated queries": curation.get("generated_queries"),
             "kept queries": curation.get("kept_queries"),
             **{f"dropped: {k}": v for k, v in curation.get("dropped", {}).items()},
             **{f"mining skipped: {k}": v for k, v in curation.get("mining", {}).items()},
             **{f"LLM negatives: {k}": v for k, v in curation.get("llm_negatives", {}).items()}}
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
<table><tr><th>metric</th>{head}<th>{candidate} - {baseline}</th></tr>{rows}</table>
<ul>{intervals}{regression}</ul>
{decision}
{_examples_html("Queries that improved most", comparison.improved)}
{_examples_html("Queries that got worse", comparison.worsened)}
{curation_html}
<h3>Run</h3>{_kv_table(context)}
</body></html>"""
