"""library/charts.py: well-formed, escaped SVG; the title, desc and figures as text; empty data;
zero and negative values drawn from the zero line; the round scale; labels that fit."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable

import pytest
from flask import Flask

from library.charts import (
    WIDTH,
    Series,
    bar_chart,
    column_chart,
    fit_text,
    line_chart,
    nice_scale,
    number,
    text_width,
)

SVG = "{http://www.w3.org/2000/svg}"
NASTY = '<script>alert("x")</script> & 书'


def parse(markup: str) -> ET.Element:
    """The chart as XML: fails on anything left unescaped."""
    return ET.fromstring(str(markup))


def rects(root: ET.Element) -> list[ET.Element]:
    return root.findall(f"{SVG}rect")


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def test_labels_titles_names_and_colours_are_escaped() -> None:
    charts = [
        bar_chart([(NASTY, 3)], title=NASTY, colours=['"><x'], desc=None),
        column_chart([NASTY], [Series(NASTY, [3], '"><x'), Series("b", [1])], title=NASTY),
        line_chart([NASTY, "b"], [Series(NASTY, [3, 4], '"><x'), Series("b", [1, 2])], title=NASTY),
    ]
    for chart in charts:
        assert "<script>" not in chart and 'fill=""><x' not in chart
        root = parse(chart)
        assert root.get("aria-label") == NASTY and root.findtext(f"{SVG}title") == NASTY
        assert NASTY in (root.findtext(f"{SVG}desc") or "")
        assert all(r.get("fill") in ('"><x', None) or r.get("fill", "").startswith("#") for r in rects(root))


def test_a_chart_is_an_image_named_by_its_title_with_every_figure_in_the_desc() -> None:
    root = parse(bar_chart([("报名人数", 15), ("候补人数", 0)], title="报名与签到"))
    assert root.get("role") == "img" and root.get("viewBox", "").startswith(f"0 0 {WIDTH} ")
    assert root.findtext(f"{SVG}desc") == "报名人数: 15; 候补人数: 0"
    assert texts(root) == ["报名人数", "15", "候补人数", "0"]
    lines = parse(line_chart(["2026-01", "2026-02"], [Series("积分", [10, 25])], title="走势"))
    assert lines.findtext(f"{SVG}desc") == "积分: 2026-01 10, 2026-02 25"
    assert "2026-02: 25" in [
        c.findtext(f"{SVG}title") for c in lines.iter(f"{SVG}circle")]
    assert parse(bar_chart([("a", 1)], title="t", desc="自定义说明")).findtext(f"{SVG}desc") == "自定义说明"


@pytest.mark.parametrize("chart", [
    lambda: bar_chart([], title="空"),
    lambda: column_chart([], [], title="空"),
    lambda: column_chart([], [Series("a", [])], title="空"),
    lambda: line_chart([], [Series("a", [])], title="空"),
])
def test_no_data_says_so(chart: Callable[[], str]) -> None:
    root = parse(chart())
    assert texts(root) == ["暂无数据"] and not rects(root) and root.findtext(f"{SVG}desc") == "暂无数据"


def test_no_data_in_english(app: Flask) -> None:
    with app.test_request_context("/?lang=en"):
        assert texts(parse(bar_chart([], title="t"))) == ["No data"]


def _bar_extent(root: ET.Element) -> list[tuple[float, float]]:
    return [(float(r.get("x", 0)), float(r.get("width", 0))) for r in rects(root)]


def _zero_x(root: ET.Element) -> float:
    line = root.find(f"{SVG}line")
    assert line is not None and line.get("x1") == line.get("x2")
    return float(line.get("x1", 0))


def test_bar_lengths_are_proportional_and_start_at_the_zero_line() -> None:
    root = parse(bar_chart([("a", 10), ("b", 5), ("c", 0)], title="t"))
    (xa, wa), (xb, wb), (xc, wc) = _bar_extent(root)
    zero = _zero_x(root)
    assert xa == xb == xc == zero and wc == 0 and wa == pytest.approx(2 * wb, abs=0.2)
    assert zero + wa + text_width("10", 16) <= WIDTH  # the longest bar leaves room for its figure


def test_negative_bars_go_left_of_the_zero_line_and_everything_stays_inside() -> None:
    root = parse(bar_chart([("增加", 6), ("扣减", -3)], title="t"))
    (x_pos, w_pos), (x_neg, w_neg) = _bar_extent(root)
    zero = _zero_x(root)
    assert x_pos == pytest.approx(zero) and x_neg + w_neg == pytest.approx(zero, abs=0.1)
    assert w_pos == pytest.approx(2 * w_neg, abs=0.2) and min(x_pos, x_neg) > 0 and w_neg > 0
    assert "-3" in texts(root)
    only_negative = parse(bar_chart([("a", -4), ("b", -2)], title="t"))
    assert all(w >= 0 and x >= 0 and x + w <= WIDTH for x, w in _bar_extent(only_negative))


def test_all_zero_values_draw_no_negative_sizes() -> None:
    for chart in (bar_chart([("a", 0), ("b", 0)], title="t"),
                  column_chart(["1", "2"], [Series("s", [0, 0])], title="t"),
                  line_chart(["1", "2"], [Series("s", [0, 0])], title="t")):
        assert not re.search(r'(width|height)="-', chart) and "nan" not in chart


def test_columns_rise_from_zero_and_negative_columns_hang_below() -> None:
    root = parse(column_chart(["一", "二", "三"], [Series("s", [10, -5, 0])], title="t"))
    (up, down, flat) = rects(root)
    zero_line = next(li for li in root.iter(f"{SVG}line") if li.get("stroke") == "#999")
    zero = float(zero_line.get("y1", 0))
    assert float(up.get("y", 0)) + float(up.get("height", 0)) == pytest.approx(zero, abs=0.1)
    assert float(down.get("y", 0)) == pytest.approx(zero, abs=0.1)
    assert float(up.get("height", 0)) == pytest.approx(2 * float(down.get("height", 0)), abs=0.2)
    assert float(flat.get("height", 1)) == 0
    written = texts(root)
    assert written.count("10") == written.count("-5") == 2  # the figure and the tick: the scale runs -5 to 10


def test_several_series_get_a_legend_and_side_by_side_columns() -> None:
    chart = column_chart(["2026-01", "2026-02"], [Series("获得", [5, 6], "#111111"), Series("兑换", [1, 2], "#222222")],
                         title="t", axis_labels=["01", "02"])
    root = parse(chart)
    assert {"获得", "兑换", "01", "02"} <= set(texts(root)) and "2026-01" not in texts(root)
    bars = [r for r in rects(root) if r.find(f"{SVG}title") is not None]
    assert [r.get("fill") for r in bars] == ["#111111", "#111111", "#222222", "#222222"]
    assert bars[0].findtext(f"{SVG}title") == "2026-01 获得: 5"
    with pytest.raises(ValueError):
        column_chart(["a", "b"], [Series("s", [1])], title="t")
    with pytest.raises(ValueError):
        line_chart(["a"], [Series("s", [1])], title="t", axis_labels=["a", "b"])


def test_dashed_series_and_first_series_drawn_on_top() -> None:
    root = parse(line_chart(["1", "2"], [Series("今年", [1, 2], "#111111"),
                                         Series("去年", [2, 1], "#222222", dashed=True)], title="t"))
    lines = root.findall(f"{SVG}polyline")
    assert [li.get("stroke") for li in lines] == ["#222222", "#111111"]
    assert lines[0].get("stroke-dasharray") and not lines[1].get("stroke-dasharray")


@pytest.mark.parametrize(("values", "low", "high", "ticks"), [
    ([147], 0, 150, (0, 50, 100, 150)),
    ([1543, 480], 0, 2000, (0, 500, 1000, 1500, 2000)),
    ([-5, 12], -5, 15, (-5, 0, 5, 10, 15)),
    ([0.88, 0.19], 0, 1, (0, 0.5, 1)),
    ([0.1, 0.3], 0, 0.3, (0, 0.1, 0.2, 0.3)),
    ([1], 0, 1, (0, 1)),  # whole numbers get whole steps, never 0.25
    ([3], 0, 3, (0, 1, 2, 3)),
    ([0, 0], 0, 1, (0, 1)),
    ([], 0, 1, (0, 1)),
    ([-40], -40, 0, (-40, -30, -20, -10, 0)),
])
def test_the_scale_runs_between_round_numbers_and_includes_zero(
        values: list[float], low: float, high: float, ticks: tuple[float, ...]) -> None:
    scale = nice_scale(values)
    assert (scale.low, scale.high, scale.ticks) == (low, high, ticks)
    assert scale.fraction(low) == 0 and scale.fraction(high) == 1


def test_column_heights_follow_the_scale() -> None:
    root = parse(column_chart(["a", "b"], [Series("s", [147, 50])], title="t"))
    tall, short = (float(r.get("height", 0)) for r in rects(root))
    assert tall / short == pytest.approx(147 / 50, rel=0.01)
    assert {"0", "50", "100", "150"} <= set(texts(root))


def test_long_labels_are_cut_to_fit_and_kept_whole_in_the_tooltip() -> None:
    long = "世界读书日主题讲座：我们为什么读书"
    root = parse(bar_chart([(long, 15), ("短", 3)], title="t"))
    label = texts(root)[0]
    assert label.endswith("…") and long.startswith(label[:-1]) and text_width(label, 16) <= WIDTH * 0.4
    assert rects(root)[0].findtext(f"{SVG}title") == f"{long}: 15"
    assert fit_text("长春镇", 100, 16) == "长春镇" and fit_text("长春经济开发区", 40, 16) == "长…"


def test_cjk_characters_count_one_em_and_figures_read_naturally() -> None:
    assert text_width("长春", 16) == 32 and text_width("04", 10) == 12
    assert [number(v) for v in (3, 3.0, 0.875, 0.5, -2.0, 1207)] == ["3", "3", "0.88", "0.5", "-2", "1207"]


def test_axis_labels_are_thinned_to_fit_and_a_time_line_keeps_both_ends() -> None:
    days = [f"2026-07-{d:02d}" for d in range(1, 32)] + [f"2026-08-{d:02d}" for d in range(1, 32)]
    root = parse(line_chart(days, [Series("s", list(range(62)))], title="t", axis_labels=[d[5:] for d in days]))
    shown = [t for t in texts(root) if re.fullmatch(r"\d\d-\d\d", t)]
    assert 3 <= len(shown) < 62 and shown[0] == "07-01" and shown[-1] == "08-31"
    assert not list(root.iter(f"{SVG}circle"))  # too many steps to point at each one
    months = [f"2026-{m:02d}" for m in range(1, 13)]
    twelve = parse(column_chart(months, [Series("s", [1] * 12)], title="t", axis_labels=[m[5:] for m in months]))
    assert [f"{m:02d}" for m in range(1, 13)] == [t for t in texts(twelve) if len(t) == 2 and t != "1"][:12]
