"""The evaluation report: a Markdown summary for the terminal and logs, an HTML page for the
ZenML dashboard, with the per-query examples, the confidence interval and the promotion decision
that explain the numbers.

The HTML page is one self-contained string (inline CSS and SVG charts, no scripts, no external
URLs): the dashboard renders it in a sandboxed iframe, and the same file opens offline from
``output_dir``. Besides the metric table it shows the hit rate at every k (``curves``), the cosine
scores of the relevant and the best wrong chunk (``score_distribution``) and what the data was:
per split, the chunks, the queries generated, the failed chunks and every filter's drop counts.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any, Sequence

from embedtune.evaluation.charts import colors_for, histogram_panels, line_chart
from embedtune.evaluation.curves import hit_rate_curves
from embedtune.evaluation.score_distribution import (
    BEST_WRONG,
    RELEVANT,
    score_histogram,
    score_summary,
    scored_systems,
)

SCORE_COLORS = {RELEVANT: "#16a34a", BEST_WRONG: "#dc2626"}
SCORE_LABELS = {RELEVANT: "relevant chunk", BEST_WRONG: "best wrong chunk"}
# Rows of the data table: generation summary key -> label.
DATA_ROWS = {
    "documents": "documents",
    "chunks": "chunks",
    "chunks_sent_to_llm": "chunks sent to the LLM",
    "chunks_with_queries": "chunks with usable queries",
    "failed_chunks": "failed chunks",
    "unparsable_chunks": "of which unparsable answers",
    "queries": "queries generated",
    "negative_queries": "negative queries generated",
    "chunks_from_resume_cache": "chunks answered from the resume cache",
    "requests": "LLM requests",
    "retries": "retries",
    "output_tokens": "output tokens",
    "seconds": "generation seconds",
}


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
    # Ranks in per_query are known up to this k (None in evaluations stored before it existed).
    k_max: int | None = None

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
    generation: Sequence[dict[str, Any]] | None = None,
) -> str:
    """Every system side by side, the change of the candidate over the baseline, the CI, the
    cosine margins, one line of data counts per split (``generation``: the generation step's
    summaries, see ``embedtune.generation.summary``) and the promotion decision."""
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
    margins = [f"{s} {score_summary(comparison.per_query, s).mean_margin:+.3f}"
               for s in scored_systems(comparison.per_query)]
    if margins:
        lines.append(f"- mean cosine margin, relevant minus best wrong chunk: {', '.join(margins)}")
    for summary in generation or []:
        lines.append(f"- {_data_line(summary)}")
    dropped = comparison.context.get("test_queries_dropped") or {}
    if dropped:
        lines.append("- test queries dropped by the rule filters: "
                     + ", ".join(f"{reason}: {n}" for reason, n in dropped.items()))
    if promotion:
        lines.append(f"\nPromotion: {'promoted' if promotion['promote'] else 'not promoted'}: "
                     + "; ".join(promotion["reasons"]))
    return "\n".join(lines)


def _data_line(summary: dict[str, Any]) -> str:
    reasons = "; ".join(f"{k}: {v}" for k, v in summary.get("failure_reasons", {}).items())
    return (
        f"{summary['split']} data: {summary['documents']} documents, {summary['chunks']} chunks, "
        f"{summary['chunks_sent_to_llm']} sent to the LLM, {summary['failed_chunks']} failed"
        f"{f' ({reasons})' if reasons else ''}, {summary['queries']} queries generated"
    )


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


def hit_rate_chart(comparison: Comparison) -> str:
    """Hit rate at k = 1 .. k_max for every system, as an SVG line chart ("" without ranks)."""
    if not comparison.per_query or not comparison.k_max:
        return ""
    curves = hit_rate_curves(comparison.per_query, comparison.k_max)
    return line_chart(
        list(range(1, comparison.k_max + 1)), curves,
        title=f"Hit rate at k, {comparison.n_queries} held-out queries",
        x_label="k (relevant chunk within the top k)", y_label="hit rate",
    )


def score_chart(comparison: Comparison, bin_width: float = 0.05) -> str:
    """Histograms of the relevant and best wrong chunk's cosine, one panel per embedding model
    ("" for evaluations without scores)."""
    systems = scored_systems(comparison.per_query)
    if not systems:
        return ""
    histogram = score_histogram(comparison.per_query, systems, bin_width)
    panels = {s: {SCORE_LABELS[k]: counts for k, counts in histogram.counts[s].items()}
              for s in systems}
    return histogram_panels(
        histogram.edges, panels, title="Cosine score of the relevant and of the best wrong chunk",
        x_label="cosine similarity to the query", y_label="queries",
        colors={SCORE_LABELS[k]: c for k, c in SCORE_COLORS.items()},
    )


def _score_table(comparison: Comparison) -> str:
    systems = scored_systems(comparison.per_query)
    if not systems:
        return ""
    rows = ""
    for system in systems:
        m = score_summary(comparison.per_query, system)
        rows += (f"<tr><td>{html.escape(system)}</td><td>{m.mean_relevant:.3f}</td>"
                 f"<td>{m.mean_best_wrong:.3f}</td><td>{m.mean_margin:+.3f}</td></tr>")
    return ("<table><tr><th>model</th><th>mean cosine, relevant</th><th>mean cosine, best wrong</th>"
            f"<th>mean margin</th></tr>{rows}</table>")


def _data_html(comparison: Comparison, generation: Sequence[dict[str, Any]]) -> str:
    """Counts per split side by side, then each split's failure reasons and the filters' drops."""
    parts = ["<h3>Data and generation</h3>"]
    if generation:
        head = "".join(f"<th>{html.escape(g['split'])}</th>" for g in generation)
        rows = "".join(
            f"<tr><td>{label}</td>" + "".join(f"<td>{g.get(key, '-')}</td>" for g in generation)
            + "</tr>"
            for key, label in DATA_ROWS.items()
        )
        parts.append(f"<table class='data'><tr><th></th>{head}</tr>{rows}</table>")
        for g in generation:
            if g.get("failure_reasons"):
                parts.append(f"<h4>Failed {html.escape(g['split'])} chunks by reason</h4>"
                             + _kv_table(g["failure_reasons"]))
    dropped = comparison.context.get("test_queries_dropped")
    if dropped:
        parts.append("<h4>Test queries dropped by the rule filters</h4>" + _kv_table(dropped))
    curation = comparison.context.get("curation")
    if curation:
        parts.append("<h4>Training data curation</h4>" + _kv_table(
            {"generated queries": curation.get("generated_queries"),
             "kept queries": curation.get("kept_queries"),
             **{f"dropped: {k}": v for k, v in curation.get("dropped", {}).items()},
             **{f"mining skipped: {k}": v for k, v in curation.get("mining", {}).items()},
             **{f"LLM negatives: {k}": v for k, v in curation.get("llm_negatives", {}).items()}}
        ))
    return "".join(parts) if len(parts) > 1 else ""


def html_report(
    comparison: Comparison,
    baseline: str = "base",
    candidate: str = "finetuned",
    promotion: dict[str, Any] | None = None,
    generation: Sequence[dict[str, Any]] | None = None,
) -> str:
    """The dashboard page: metric table with intervals, decision, hit-rate curves, score
    histograms, the queries that moved most, data and generation counts, run settings.

    ``generation`` holds the generation step's per-split summaries
    (``embedtune.generation.summary.split_summary``), train first.
    """
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
    context = {k: v for k, v in comparison.context.items()
               if k not in ("curation", "test_queries_dropped")}
    curve = hit_rate_chart(comparison)
    scores = score_chart(comparison)
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<title>Evaluation report: {html.escape(baseline)} vs {html.escape(candidate)}</title><style>
body {{ font-family: sans-serif; margin: 1.5em; }}
table {{ border-collapse: collapse; margin-bottom: 1.5em; }}
td, th {{ border: 1px solid #ccc; padding: 4px 10px; text-align: left; }}
table.data td + td {{ text-align: right; }}
.up {{ color: #11773a; }} .down {{ color: #b3261e; }}
.chart {{ margin: 0.5em 0 1.5em 0; }}
</style></head><body>
<h2>Retrieval: {html.escape(baseline)} vs {html.escape(candidate)}</h2>
<p>{comparison.n_queries} held-out queries (documents never seen in training), retrieving over
all {comparison.n_corpus} chunks of the corpus.</p>
<table><tr><th>metric</th>{head}<th>{html.escape(candidate)} - {html.escape(baseline)}</th></tr>{rows}</table>
<ul>{intervals}{regression}</ul>
{decision}
{f'<h3 id="hit-rate">Hit rate at every k</h3><div class="chart">{curve}</div>' if curve else ""}
{f'<h3 id="scores">Score distributions</h3><div class="chart">{scores}</div>{_score_table(comparison)}' if scores else ""}
{_examples_html("Queries that improved most", comparison.improved)}
{_examples_html("Queries that got worse", comparison.worsened)}
{_data_html(comparison, generation or [])}
<h3>Run</h3>{_kv_table(context)}
</body></html>"""
