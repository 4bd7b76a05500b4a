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
from typing import Any, Sequence

from embedtune.evaluation.charts import histogram_panels, line_chart
from embedtune.evaluation.comparison import Comparison
from embedtune.evaluation.promotion import PromotionDecision
from embedtune.evaluation.curves import hit_rate_curves
from embedtune.evaluation.score_distribution import (
    BEST_WRONG,
    RELEVANT,
    score_histogram,
    score_summary,
    scored_systems,
)

# The exports arrive as ``embedtune.serving.exports.ExportReport``; serving imports evaluation (it
# scores its exports with it), so the report names that type without importing it.
ExportReport = Any

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


def _difference(comparison: Comparison, other: str, metric: str) -> dict[str, Any] | None:
    return comparison.differences.get(f"{comparison.candidate}_vs_{other}", {}).get(metric)


def _difference_line(comparison: Comparison, key: str, metric: str) -> str | None:
    diff = comparison.differences.get(key, {}).get(metric)
    if diff is None:
        return None
    return (
        f"{metric} {key.replace('_vs_', ' vs ')}: {diff['mean']:+.3f} "
        f"({diff['confidence']:.0%} CI {diff['low']:+.3f} .. {diff['high']:+.3f}; "
        f"wins/losses/ties {diff['wins']}/{diff['losses']}/{diff['ties']})"
    )


def worth_it(comparison: Comparison) -> str:
    """One sentence: did finetuning beat what a team gets without it, on these test queries?"""
    if not comparison.no_training:
        return ""
    metric = comparison.metric
    best = comparison.no_training["best"]
    shipped = comparison.metrics[comparison.candidate][metric]
    other = comparison.metrics[best][metric]
    diff = _difference(comparison, best, metric)
    interval = (f"{diff['confidence']:.0%} CI {diff['low']:+.3f}..{diff['high']:+.3f}, "
                f"{diff['wins']} {'query' if diff['wins'] == 1 else 'queries'} won and "
                f"{diff['losses']} lost") if diff else ""
    name = f"the shipped retrieval ({comparison.candidate})"
    if diff and diff["low"] > 0:
        return (f"Finetuning was worth it on this corpus: {name} scores {metric} {shipped:.3f}, "
                f"{shipped - other:+.3f} over the best option without finetuning ({best}, "
                f"{other:.3f}; {interval}).")
    if shipped > other:
        return (f"Finetuning helped on this corpus, but not clearly: {name} scores {metric} "
                f"{shipped:.3f}, {shipped - other:+.3f} over the best option without finetuning "
                f"({best}, {other:.3f}), and the interval includes zero ({interval}).")
    return (f"Finetuning was not worth it on this corpus: {best}, which needs no finetuning, "
            f"scores {metric} {other:.3f} against {shipped:.3f} for {name} "
            f"({shipped - other:+.3f}{'; ' + interval if interval else ''}).")


def _summary_metrics(comparison: Comparison) -> list[str]:
    """The configured metric, then the hit rate at each configured k and MRR at the largest."""
    measured = comparison.metrics[comparison.candidate]
    others = [f"hit_rate@{k}" for k in sorted(comparison.k_values)] + [f"mrr@{comparison.k_max}"]
    return [comparison.metric] + [m for m in others if m != comparison.metric and m in measured]


def no_training_rows(comparison: Comparison) -> list[dict[str, Any]]:
    """The first table: the shipped retrieval, then each option that needs no finetuning, with
    the shipped retrieval's paired difference to it."""
    if not comparison.no_training:
        return []
    metric = comparison.metric
    notes = {comparison.no_training["best"]: "best without finetuning"}
    rows = [{"system": comparison.candidate, "note": "shipped",
             "metrics": comparison.metrics[comparison.candidate], "difference": None}]
    base_model = comparison.baseline.split("@")[0]
    base_reading = comparison.readings.get("chosen", {}).get(base_model)
    for option in comparison.no_training["options"]:
        what = ""
        if option.split("@")[0] == base_model or option.startswith(base_model + "+"):
            what = ("base model fused with BM25" if option.endswith("+bm25") else
                    f"base model, reading {base_reading} chosen on validation" if base_reading
                    else "base model")
        what = what or comparison.no_training.get("notes", {}).get(option, "")
        note = ", ".join(x for x in (notes.get(option, ""), what) if x)
        rows.append({"system": option, "note": note, "metrics": comparison.metrics[option],
                     "difference": _difference(comparison, option, metric)})
    return rows


def _ci(diff: dict[str, Any] | None) -> tuple[str, str]:
    if diff is None:
        return "", ""
    return (f"{diff['mean']:+.3f} ({diff['low']:+.3f}..{diff['high']:+.3f})",
            f"{diff['wins']}/{diff['losses']}")


def markdown_table(
    comparison: Comparison,
    promotion: PromotionDecision | None = None,
    generation: Sequence[dict[str, Any]] | None = None,
    exports: ExportReport | None = None,
) -> str:
    """The terminal summary: whether finetuning was worth it (the shipped retrieval against the
    options that need no finetuning), the readings chosen on validation, every system's metrics,
    the intervals, one line of data counts per split (``generation``: the generation step's
    summaries, see ``embedtune.generation.summary``) and the promotion decision."""
    metric = comparison.metric
    candidate = comparison.candidate
    lines: list[str] = []
    rows = no_training_rows(comparison)
    if rows:
        keys = _summary_metrics(comparison)
        lines += [worth_it(comparison), "",
                  f"| retrieval | {' | '.join(keys)} | shipped minus it ({metric}, 95% CI) | wins/losses |",
                  "|---|" + "---:|" * (len(keys) + 2)]
        for row in rows:
            ci, wl = _ci(row["difference"])
            name = row["system"] + (f" ({row['note']})" if row["note"] else "")
            lines.append(f"| {name} | " + " | ".join(f"{row['metrics'][k]:.3f}" for k in keys)
                         + f" | {ci} | {wl} |")
        lines.append("")
    if comparison.readings.get("models"):
        lines += [f"Readings, chosen on {comparison.readings['validation_queries']} validation "
                  f"queries by {metric} (test shown, never used to choose):", "",
                  f"| model | reading | validation {metric} | test {metric} | vectors per chunk "
                  "| encode s | chosen |", "|---|---|---:|---:|---:|---:|---|"]
        for model, table in comparison.readings["models"].items():
            for r in table:
                val, test = r[f"validation_{metric}"], r[f"test_{metric}"]
                lines.append(f"| {model} | {r['reading']} | {'-' if val is None else f'{val:.3f}'} | "
                             f"{'-' if test is None else f'{test:.3f}'} | {r['vectors_per_chunk']:g} | "
                             f"{r['encode_seconds']:.1f} | {'yes' if r['chosen'] else ''} |")
        lines.append("")
    systems = list(comparison.metrics)
    keys = list(comparison.metrics[candidate])
    lines += [f"| system | {' | '.join(keys)} |", "|---|" + "---:|" * len(keys)]
    for system in systems:
        lines.append(f"| {system} | " + " | ".join(f"{comparison.metrics[system][k]:.3f}" for k in keys) + " |")
    lines.append("")
    lines.append(f"{comparison.n_queries} held-out queries, retrieving over {comparison.n_corpus} chunks.")
    for other in systems:
        line = _difference_line(comparison, f"{candidate}_vs_{other}", metric)
        if line:
            lines.append(f"- {line}")
    for name, reg in comparison.regression.items():
        b, t = reg["metrics"]["base"][metric], reg["metrics"]["finetuned"][metric]
        lines.append(f"- regression set {name} ({reg['n_queries']} queries): {metric} {b:.3f} -> {t:.3f} ({t - b:+.3f})")
    margins = [f"{s} {score_summary(comparison.per_query, s).mean_margin:+.3f}"
               for s in _scored_chart_systems(comparison)]
    if margins:
        lines.append(f"- mean score margin, relevant minus best wrong chunk: {', '.join(margins)}")
    for summary in generation or []:
        lines.append(f"- {_data_line(summary)}")
    dropped = comparison.context.get("test_queries_dropped") or {}
    if dropped:
        lines.append("- test queries dropped by the rule filters: "
                     + ", ".join(f"{reason}: {n}" for reason, n in dropped.items()))
    if exports:
        lines += ["", *export_lines(exports)]
    if promotion:
        lines.append(f"\nPromotion: {'promoted' if promotion.promote else 'not promoted'}: "
                     + "; ".join(promotion.reasons))
    return "\n".join(lines)


def _export_rows(exports: ExportReport) -> tuple[list[str], list[list[str]]]:
    metric = exports.metric
    head = ["format", metric, "change", "chunks/s", "queries/s", "speedup", "MB", "shipped"]
    rows = [[f.format, f"{f.metrics[metric]:.3f}", f"{f.metric_change:+.4f}",
             f"{f.chunks_per_second:.1f}", f"{f.queries_per_second:.1f}",
             f"{f.speedup:.2f}x", f"{f.megabytes:.1f}",
             "flagged: " + f.reason if f.flagged else "yes"] for f in exports.formats]
    return head, rows


def export_lines(exports: ExportReport) -> list[str]:
    """The exports table: each format scored on the test queries in the shipped reading and
    timed on the same chunks, beside the torch model."""
    head, rows = _export_rows(exports)
    lines = [f"Exports, scored on the {exports.n_queries} test queries in the shipped reading "
             f"({exports.reading}), timed indexing {exports.timed_chunks} chunks in it "
             f"(tolerance {exports.tolerance}):", "",
             "| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 2) + "---|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    if exports.server_problems:
        lines.append("- model folder, as text-embeddings-inference reads it: "
                     + "; ".join(exports.server_problems))
    return lines


def _exports_html(exports: ExportReport | None) -> str:
    if not exports:
        return ""
    head, rows = _export_rows(exports)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    problems = "".join(f"<li>{html.escape(p)}</li>" for p in exports.server_problems)
    return (f"<h3 id='exports'>Exports</h3><p>Each format loaded back and scored on the "
            f"{exports.n_queries} test queries in the shipped reading "
            f"({html.escape(exports.reading)}), timed indexing {exports.timed_chunks} chunks in it; "
            f"a format losing more than {exports.tolerance} is flagged and not shipped.</p>"
            "<table class='data'><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head)
            + f"</tr>{body}</table>" + (f"<ul>{problems}</ul>" if problems else ""))


def _scored_chart_systems(comparison: Comparison) -> list[str]:
    scored = set(scored_systems(comparison.per_query))
    return [s for s in chart_systems(comparison) if s in scored]


def chart_systems(comparison: Comparison) -> list[str]:
    """The systems the charts draw: the shipped one, the base model read the same way, the one-
    vector readings and the best no-training option (every system would crowd the charts)."""
    wanted = [comparison.candidate, comparison.baseline, "finetuned", "base",
              comparison.no_training.get("best"), "bm25", "teacher"]
    return [s for s in dict.fromkeys(wanted) if s and s in comparison.metrics]


def _data_line(summary: dict[str, Any]) -> str:
    reasons = "; ".join(f"{k}: {v}" for k, v in summary.get("failure_reasons", {}).items())
    return (
        f"{summary['split']} data: {summary['documents']} documents, {summary['chunks']} chunks, "
        f"{summary['chunks_sent_to_llm']} sent to the LLM, {summary['failed_chunks']} failed"
        f"{f' ({reasons})' if reasons else ''}, {summary['queries']} queries generated"
    )


def _fmt_rank(value: int | None) -> str:
    return "-" if value is None else str(value)


def _examples_html(title: str, rows: list[dict[str, Any]], baseline: str = "base",
                   candidate: str = "finetuned") -> str:
    if not rows:
        return f"<h3>{title}</h3><p>None.</p>"
    body = "".join(
        f"<tr><td>{html.escape(r['query'])}</td><td>{_fmt_rank(r['base_rank'])}</td>"
        f"<td>{_fmt_rank(r['finetuned_rank'])}</td></tr>"
        for r in rows
    )
    return (
        f"<h3>{title}</h3><table><tr><th>query</th><th>{html.escape(baseline)} rank</th>"
        f"<th>{html.escape(candidate)} rank</th></tr>{body}</table>"
    )


def _kv_table(items: dict[str, Any]) -> str:
    return "<table>" + "".join(
        f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>" for k, v in items.items()
    ) + "</table>"


def hit_rate_chart(comparison: Comparison) -> str:
    """Hit rate at k = 1 .. k_max for every system, as an SVG line chart ("" without ranks)."""
    if not comparison.per_query or not comparison.k_max:
        return ""
    wanted = chart_systems(comparison)
    curves = {k: v for k, v in hit_rate_curves(comparison.per_query, comparison.k_max).items()
              if k in wanted}
    return line_chart(
        list(range(1, comparison.k_max + 1)), curves,
        title=f"Hit rate at k, {comparison.n_queries} held-out queries",
        x_label="k (relevant chunk within the top k)", y_label="hit rate",
    )


def score_chart(comparison: Comparison, bin_width: float = 0.05) -> str:
    """Histograms of the relevant and best wrong chunk's cosine, one panel per embedding model
    ("" for evaluations without scores)."""
    systems = _scored_chart_systems(comparison)
    if not systems:
        return ""
    histogram = score_histogram(comparison.per_query, systems, bin_width)
    panels = {s: {SCORE_LABELS[k]: counts for k, counts in histogram.counts[s].items()}
              for s in systems}
    return histogram_panels(
        histogram.edges, panels,
        title="Score of the relevant and of the best wrong chunk (cosine; chunk+windows adds two)",
        x_label="score against the query", y_label="queries",
        colors={SCORE_LABELS[k]: c for k, c in SCORE_COLORS.items()},
    )


def _score_table(comparison: Comparison) -> str:
    systems = _scored_chart_systems(comparison)
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
             **{f"mining skipped: {k}": v for k, v in curation.get("mining", {}).items()}}
        ))
    return "".join(parts) if len(parts) > 1 else ""


def _no_training_html(comparison: Comparison) -> str:
    rows = no_training_rows(comparison)
    if not rows:
        return ""
    keys = _summary_metrics(comparison)
    metric = comparison.metric
    body = ""
    for row in rows:
        ci, wl = _ci(row["difference"])
        up = row["difference"] is not None and row["difference"]["low"] > 0
        down = row["difference"] is not None and row["difference"]["mean"] < 0
        name = html.escape(row["system"]) + (f" <small>({html.escape(row['note'])})</small>"
                                              if row["note"] else "")
        if row["note"] == "shipped":
            name = f"<b>{name}</b>"
        body += (f"<tr><td>{name}</td>" + "".join(f"<td>{row['metrics'][k]:.3f}</td>" for k in keys)
                 + f"<td class='{'up' if up else 'down' if down else ''}'>{ci}</td><td>{wl}</td></tr>")
    head = "".join(f"<th>{html.escape(k)}</th>" for k in keys)
    return (f"<h2 id='worth-it'>Was finetuning worth it?</h2><p>{html.escape(worth_it(comparison))}</p>"
            f"<table class='data'><tr><th>retrieval</th>{head}<th>shipped minus it ({metric}, 95% CI)"
            f"</th><th>wins/losses</th></tr>{body}</table>")


def _readings_html(comparison: Comparison) -> str:
    readings = comparison.readings
    if not readings.get("models"):
        return ""
    metric = comparison.metric
    body = ""
    for model, table in readings["models"].items():
        for r in table:
            val, test = r[f"validation_{metric}"], r[f"test_{metric}"]
            body += (f"<tr{' class=up' if r['chosen'] else ''}><td>{html.escape(model)}</td>"
                     f"<td>{html.escape(r['reading'])}</td>"
                     f"<td>{'-' if val is None else f'{val:.3f}'}</td>"
                     f"<td>{'-' if test is None else f'{test:.3f}'}</td>"
                     f"<td>{r['vectors_per_chunk']:g}</td><td>{r['encode_seconds']:.1f}</td>"
                     f"<td>{'chosen' if r['chosen'] else ''}</td></tr>")
    return (f"<h3 id='readings'>How chunks are read</h3><p>Each model under every candidate reading; "
            f"the reading is chosen on {readings['validation_queries']} validation queries (training "
            f"chunks held out of training) by {metric}. The test column is shown for reference and "
            "never used to choose.</p><table class='data'><tr><th>model</th><th>reading</th>"
            f"<th>validation {metric}</th><th>test {metric}</th><th>vectors per chunk</th>"
            f"<th>encode s</th><th></th></tr>{body}</table>")


def html_report(
    comparison: Comparison,
    promotion: PromotionDecision | None = None,
    generation: Sequence[dict[str, Any]] | None = None,
    exports: ExportReport | None = None,
) -> str:
    """The dashboard page: whether finetuning was worth it (the shipped retrieval against the
    options that need no finetuning), the gate's decision, the readings, every system's
    metrics with intervals, hit-rate curves, score histograms, the queries that moved most, data
    and generation counts, run settings.

    ``generation`` holds the generation step's per-split summaries
    (``embedtune.generation.summary.split_summary``), train first.
    """
    metric = comparison.metric
    candidate, baseline = comparison.candidate, comparison.baseline
    systems = list(comparison.metrics)
    keys = list(comparison.metrics[candidate])
    head = "".join(f"<th>{html.escape(k)}</th>" for k in keys)
    rows = "".join(
        f"<tr><td>{html.escape(s)}</td>"
        + "".join(f"<td>{comparison.metrics[s][k]:.3f}</td>" for k in keys) + "</tr>"
        for s in systems
    )
    intervals = "".join(
        f"<li>{html.escape(line)}</li>"
        for other in systems
        if (line := _difference_line(comparison, f"{candidate}_vs_{other}", metric))
    )
    decision = ""
    if promotion:
        verdict = "Promoted to production" if promotion.promote else "Not promoted"
        reasons = "".join(f"<li>{html.escape(r)}</li>" for r in promotion.reasons)
        decision = (f"<h3 class='{'up' if promotion.promote else 'down'}'>{verdict}</h3>"
                    f"<ul>{reasons}</ul>")
    regression = "".join(
        f"<li>regression set {html.escape(name)} ({reg['n_queries']} queries): {metric} "
        f"{reg['metrics']['base'][metric]:.3f} -> {reg['metrics']['finetuned'][metric]:.3f}</li>"
        for name, reg in comparison.regression.items()
    )
    context = {k: v for k, v in comparison.context.items()
               if k not in ("curation", "test_queries_dropped")}
    curve = hit_rate_chart(comparison)
    scores = score_chart(comparison)
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<title>Evaluation report: {html.escape(candidate)}</title><style>
body {{ font-family: sans-serif; margin: 1.5em; }}
table {{ border-collapse: collapse; margin-bottom: 1.5em; }}
td, th {{ border: 1px solid #ccc; padding: 4px 10px; text-align: left; }}
table.data td + td {{ text-align: right; }}
.up {{ color: #11773a; }} .down {{ color: #b3261e; }}
.chart {{ margin: 0.5em 0 1.5em 0; }}
</style></head><body>
{_no_training_html(comparison)}
{decision}
<p>{comparison.n_queries} held-out queries (documents never seen in training), retrieving over
all {comparison.n_corpus} chunks of the corpus.</p>
{_readings_html(comparison)}
<h3 id="systems">Every system on the test queries</h3>
<table class="data"><tr><th>system</th>{head}</tr>{rows}</table>
<ul>{intervals}{regression}</ul>
{f'<h3 id="hit-rate">Hit rate at every k</h3><div class="chart">{curve}</div>' if curve else ""}
{f'<h3 id="scores">Score distributions</h3><div class="chart">{scores}</div>{_score_table(comparison)}' if scores else ""}
{_examples_html("Queries that improved most", comparison.improved, baseline, candidate)}
{_examples_html("Queries that got worse", comparison.worsened, baseline, candidate)}
{_exports_html(exports)}
{_data_html(comparison, generation or [])}
<h3>Run</h3>{_kv_table(context)}
</body></html>"""
