"""Small, self-contained SVG charts for the HTML report.

The ZenML dashboard shows an HTML artifact inside a sandboxed iframe (no scripts), and the report
must work offline and as a single downloaded file: so charts are inline SVG strings, with no
JavaScript, no external URLs and no plotting library. Each mark carries a ``<title>`` (a hover
tooltip in the browser) and ``data-*`` attributes with the value it draws, so a test can check
the numbers and the geometry behind a chart, not just that an ``<svg>`` exists.

These functions know nothing about retrieval: they draw numbers they are given.
"""

from __future__ import annotations

import math
from html import escape
from itertools import cycle
from typing import Mapping, Sequence

SYSTEM_COLORS = {"base": "#6b7280", "finetuned": "#2563eb", "bm25": "#d97706",
                 "production": "#7c3aed"}
EXTRA_COLORS = ("#0891b2", "#db2777", "#65a30d", "#92400e")
FONT = "font-family='sans-serif' font-size='12'"


def colors_for(names: Sequence[str], known: Mapping[str, str] = SYSTEM_COLORS) -> dict[str, str]:
    """A stable color per name: the known ones first, then a fixed cycle for the rest."""
    extra = cycle(EXTRA_COLORS)
    return {name: known.get(name) or next(extra) for name in names}


def scale(value: float, low: float, high: float, out_low: float, out_high: float) -> float:
    """Map ``value`` linearly from [low, high] to [out_low, out_high] (SVG y grows downwards,
    so pass out_low > out_high for a y axis). A zero-width input range maps to the middle."""
    if high == low:
        return (out_low + out_high) / 2
    return out_low + (value - low) / (high - low) * (out_high - out_low)


def _svg(width: int, height: int, title: str, body: str) -> str:
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' role='img' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' style='max-width:100%;height:auto' {FONT}>"
        f"<title>{escape(title)}</title>{body}</svg>"
    )


def _fmt(value: float) -> str:
    return f"{value:.1f}"


def line_chart(
    x_values: Sequence[int],
    series: Mapping[str, Sequence[float]],
    *,
    title: str,
    x_label: str,
    y_label: str,
    y_max: float = 1.0,
    width: int = 560,
    height: int = 300,
    colors: Mapping[str, str] | None = None,
) -> str:
    """One polyline with a dot per point for each series over shared integer x values; y runs
    from 0 to ``y_max`` with gridlines at quarters. The legend sits right of the plot."""
    if not x_values:
        raise ValueError("a line chart needs at least one x value")
    for name, ys in series.items():
        if len(ys) != len(x_values):
            raise ValueError(f"series {name!r} has {len(ys)} values for {len(x_values)} x values")
    colors = dict(colors or colors_for(list(series)))
    # The legend right of the plot is as wide as its longest name (~7 px a character at 12 px),
    # so "finetuned@chunk+windows128" is not cut off; the plot keeps its width.
    legend = max(130, 46 + 7 * max((len(name) for name in series), default=0))
    width += legend - 130
    left, right, top, bottom = 52, width - legend, 30, height - 42
    x_lo, x_hi = min(x_values), max(x_values)

    def x_at(x: float) -> float:
        return scale(x, x_lo, x_hi, left, right)

    def y_at(y: float) -> float:
        return scale(y, 0.0, y_max, bottom, top)

    parts = [f"<text x='{left}' y='18' font-weight='bold'>{escape(title)}</text>"]
    for i in range(5):
        tick = y_max * i / 4
        y = _fmt(y_at(tick))
        parts.append(f"<line x1='{left}' x2='{right}' y1='{y}' y2='{y}' stroke='#e5e7eb'/>"
                     f"<text x='{left - 6}' y='{y}' text-anchor='end' dominant-baseline='middle'>"
                     f"{tick:.2f}</text>")
    step = max(1, len(x_values) // 10)
    for x in list(x_values)[::step]:
        parts.append(f"<text x='{_fmt(x_at(x))}' y='{bottom + 16}' text-anchor='middle'>{x}</text>")
    parts.append(f"<line x1='{left}' x2='{right}' y1='{bottom}' y2='{bottom}' stroke='#9ca3af'/>"
                 f"<text x='{(left + right) / 2:.0f}' y='{height - 6}' text-anchor='middle'>"
                 f"{escape(x_label)}</text>"
                 f"<text x='14' y='{(top + bottom) / 2:.0f}' text-anchor='middle' "
                 f"transform='rotate(-90 14 {(top + bottom) / 2:.0f})'>{escape(y_label)}</text>")
    for index, (name, ys) in enumerate(series.items()):
        color = colors[name]
        points = " ".join(f"{_fmt(x_at(x))},{_fmt(y_at(y))}" for x, y in zip(x_values, ys))
        dots = "".join(
            f"<circle cx='{_fmt(x_at(x))}' cy='{_fmt(y_at(y))}' r='3' fill='{color}' "
            f"data-x='{x}' data-y='{y:.4f}'><title>{escape(name)}, {x}: {y:.3f}</title></circle>"
            for x, y in zip(x_values, ys)
        )
        legend_y = top + 8 + 18 * index
        parts.append(
            f"<g class='series' data-series='{escape(name)}'>"
            f"<polyline points='{points}' fill='none' stroke='{color}' stroke-width='2'/>{dots}"
            f"<line x1='{right + 14}' x2='{right + 34}' y1='{legend_y}' y2='{legend_y}' "
            f"stroke='{color}' stroke-width='3'/>"
            f"<text x='{right + 40}' y='{legend_y}' dominant-baseline='middle'>{escape(name)}</text>"
            f"</g>"
        )
    return _svg(width, height, title, "".join(parts))


def histogram_panels(
    edges: Sequence[float],
    panels: Mapping[str, Mapping[str, Sequence[int]]],
    *,
    title: str,
    x_label: str,
    colors: Mapping[str, str],
    y_label: str = "count",
    panel_width: int = 300,
    height: int = 240,
) -> str:
    """Side-by-side panels (e.g. one per model) of overlaid, half-transparent histograms (e.g.
    relevant vs best wrong chunk), all on the same bins and the same count axis so panels can be
    compared by eye. ``colors`` maps each histogram name (the inner keys) to a color."""
    bins = len(edges) - 1
    if bins < 1:
        raise ValueError("a histogram needs at least two edges")
    for panel, series in panels.items():
        for name, counts in series.items():
            if len(counts) != bins:
                raise ValueError(f"{panel}/{name} has {len(counts)} counts for {bins} bins")
    y_max = max([c for series in panels.values() for counts in series.values() for c in counts]
                + [1])
    names = list(dict.fromkeys(n for series in panels.values() for n in series))
    width = panel_width * max(1, len(panels)) + 20
    top, bottom = 46, height - 40
    parts = [f"<text x='10' y='18' font-weight='bold'>{escape(title)}</text>"]
    for i, name in enumerate(names):
        x = 10 + 170 * i
        parts.append(f"<rect x='{x}' y='26' width='12' height='12' fill='{colors[name]}' "
                     f"fill-opacity='0.55'/><text x='{x + 18}' y='36'>{escape(name)}</text>")
    label_every = max(1, math.ceil(bins / 5))  # at most 6 edge labels per panel
    for p, (panel, series) in enumerate(panels.items()):
        left = 20 + p * panel_width + 30
        right = 20 + (p + 1) * panel_width - 20

        def x_at(value: float) -> float:
            return scale(value, edges[0], edges[-1], left, right)

        def y_at(count: float) -> float:
            return scale(count, 0, y_max, bottom, top + 14)

        parts.append(f"<g class='panel' data-panel='{escape(panel)}'>"
                     f"<text x='{(left + right) / 2:.0f}' y='{top + 6}' text-anchor='middle' "
                     f"font-weight='bold'>{escape(panel)}</text>"
                     f"<line x1='{left}' x2='{right}' y1='{bottom}' y2='{bottom}' stroke='#9ca3af'/>"
                     f"<text x='{left - 4}' y='{_fmt(y_at(y_max))}' text-anchor='end' "
                     f"dominant-baseline='middle'>{y_max}</text>"
                     f"<text x='{left - 4}' y='{bottom}' text-anchor='end'>0</text>"
                     f"<text x='{left - 4}' y='{top + 6}' text-anchor='end' fill='#6b7280'>"
                     f"{escape(y_label)}</text>")
        for i in range(0, bins + 1, label_every):
            parts.append(f"<text x='{_fmt(x_at(edges[i]))}' y='{bottom + 14}' "
                         f"text-anchor='middle'>{edges[i]:.2f}</text>")
        for name, counts in series.items():
            parts.append(f"<g class='histogram' data-name='{escape(name)}'>")
            for i, count in enumerate(counts):
                if count == 0:
                    continue
                x0, x1, y = x_at(edges[i]), x_at(edges[i + 1]), y_at(count)
                parts.append(
                    f"<rect x='{_fmt(x0)}' y='{_fmt(y)}' width='{_fmt(x1 - x0)}' "
                    f"height='{_fmt(bottom - y)}' fill='{colors[name]}' fill-opacity='0.55' "
                    f"data-bin='{i}' data-count='{count}'><title>{escape(panel)}, {escape(name)}: "
                    f"{count} in [{edges[i]:.2f}, {edges[i + 1]:.2f})</title></rect>"
                )
            parts.append("</g>")
        parts.append("</g>")
    parts.append(f"<text x='{width / 2:.0f}' y='{height - 8}' text-anchor='middle'>"
                 f"{escape(x_label)}</text>")
    return _svg(width, height, title, "".join(parts))
