import xml.etree.ElementTree as ET

import pytest

from embedtune.evaluation.charts import histogram_panels, line_chart, scale

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    assert "<script" not in svg and "href" not in svg  # self-contained, nothing to load
    return ET.fromstring(svg)


def test_scale_maps_linearly_and_flips_for_svg_y():
    assert scale(0.25, 0.0, 1.0, 200, 100) == 175
    assert scale(3, 3, 3, 0, 10) == 5


def test_line_chart_places_each_point_at_its_value():
    svg = parse(line_chart([1, 2, 3], {"base": [0.25, 0.5, 1.0], "finetuned": [0.0, 0.5, 0.5]},
                           title="t", x_label="k", y_label="hit rate", height=300))
    series = {g.get("data-series"): g for g in svg.iter(f"{SVG}g")}
    assert set(series) == {"base", "finetuned"}
    dots = [(float(c.get("cx")), float(c.get("cy")), float(c.get("data-y")))
            for c in series["base"].iter(f"{SVG}circle")]
    assert [d[2] for d in dots] == [0.25, 0.5, 1.0]
    (x1, y1, _), (x2, y2, _), (x3, y3, _) = dots
    assert x1 < x2 < x3 and x2 - x1 == pytest.approx(x3 - x2)
    # Linear in the value: 0.25 -> 0.5 is a third of the way from 0.25 to 1.0; up is smaller y.
    assert (y1 - y2) / (y1 - y3) == pytest.approx(1 / 3, abs=0.01)
    zero = next(iter(series["finetuned"].iter(f"{SVG}circle")))
    assert float(zero.get("cy")) == pytest.approx(300 - 42)  # 0 sits on the x axis
    assert y3 == pytest.approx(30)  # 1.0 at the top of the plot
    assert "<title>b&amp;b, 3: 1.000</title>" in line_chart([3], {"b&b": [1.0]}, title="t", x_label="k",
                                              y_label="y")


def test_line_chart_refuses_a_series_of_the_wrong_length():
    with pytest.raises(ValueError, match="2 values for 3 x values"):
        line_chart([1, 2, 3], {"base": [0.1, 0.2]}, title="t", x_label="k", y_label="y")


def test_histogram_bar_heights_are_proportional_to_counts_on_one_axis_for_all_panels():
    svg = parse(histogram_panels(
        [0.0, 0.5, 1.0],
        {"base": {"relevant": [4, 0], "wrong <b>": [1, 2]}, "finetuned": {"relevant": [0, 4]}},
        title="t", x_label="cosine", colors={"relevant": "#0a0", "wrong <b>": "#a00"},
    ))
    bars = {(p.get("data-panel"), h.get("data-name"), int(r.get("data-bin"))): float(r.get("height"))
            for p in svg.iter(f"{SVG}g") if p.get("class") == "panel"
            for h in p.iter(f"{SVG}g") if h.get("class") == "histogram"
            for r in h.iter(f"{SVG}rect")}
    assert ("base", "relevant", 1) not in bars  # an empty bin draws nothing
    assert bars[("base", "wrong <b>", 1)] == pytest.approx(2 * bars[("base", "wrong <b>", 0)], abs=0.2)
    assert bars[("base", "relevant", 0)] == pytest.approx(4 * bars[("base", "wrong <b>", 0)], abs=0.2)
    assert bars[("finetuned", "relevant", 1)] == bars[("base", "relevant", 0)]  # shared count axis


def test_histogram_refuses_counts_that_do_not_match_the_bins():
    with pytest.raises(ValueError, match="3 counts for 2 bins"):
        histogram_panels([0, 1, 2], {"p": {"h": [1, 2, 3]}}, title="t", x_label="x", colors={"h": "#000"})


def test_a_long_series_name_widens_the_legend_not_the_plot():
    short = parse(line_chart([1, 2], {"base": [0.1, 0.2]}, title="t", x_label="k", y_label="y"))
    long_name = "finetuned@chunk+windows128+bm25"
    wide = parse(line_chart([1, 2], {long_name: [0.1, 0.2]}, title="t", x_label="k", y_label="y"))
    assert int(wide.get("width")) - int(short.get("width")) == 46 + 7 * len(long_name) - 130
    last_dot = lambda svg: max(float(c.get("cx")) for c in svg.iter(f"{SVG}circle"))  # noqa: E731
    assert last_dot(wide) == last_dot(short)  # the plot area is the same
    label = next(t for t in wide.iter(f"{SVG}text") if t.text == long_name)
    assert float(label.get("x")) + 7 * len(long_name) <= int(wide.get("width"))
