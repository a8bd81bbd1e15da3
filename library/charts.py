"""Small inline SVG charts for every package's pages: no JavaScript, no chart library.

Three kinds: ``bar_chart`` (horizontal bars, one per labelled value), ``column_chart`` (columns
over labelled steps, grouped when there are several series) and ``line_chart`` (one line per
series over labelled steps).

What every chart does, so that a page can rely on it:
- the same drawing width (``WIDTH`` user units) with 16 px labels, scaled to the page by
  ``viewBox``: on a 390 px phone text stays at about 13 px; CSS caps the width in rem, so the
  large-text mode may draw a chart larger where there is room;
- ``role="img"`` with the title as its name, a ``<title>`` and a ``<desc>`` that lists every
  figure (a screen reader hears the data, not "image"), and each figure written as text on or
  next to its bar or in the desc;
- every text is escaped; label widths are estimated with CJK characters at one em, and a label
  too long for its column is cut with "…" (the whole label stays in the bar's tooltip and the desc);
- bars start at zero, so a negative value is drawn on the other side of the zero line;
  the column and line scales run from a round number to a round number (1, 2 or 5 × 10ⁿ steps)
  that include zero;
- no data gives a chart of the same size that says so (``暂无数据``).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from flask_babel import gettext as _
from markupsafe import Markup, escape

WIDTH = 400
LABEL_SIZE = 16
AXIS_SIZE = 14
# Muted colours that stay apart for the common colour-vision deficiencies; text carries every figure too.
PALETTE = ("#2f6f8f", "#c0812f", "#6a9a4a", "#b4483c", "#7a5c99")

Formatter = Callable[[float], str]


@dataclass(frozen=True)
class Series:
    """One named run of values (one per label) drawn in one colour; ``dashed`` for a line that must
    be told apart without colour (e.g. last year against this year)."""

    name: str
    values: Sequence[float]
    colour: str = PALETTE[0]
    dashed: bool = False


@dataclass(frozen=True)
class Scale:
    """A linear scale from ``low`` to ``high`` (``low <= 0 <= high``) with the round ``ticks``."""

    low: float
    high: float
    ticks: tuple[float, ...]

    def fraction(self, value: float) -> float:
        """Where ``value`` falls between ``low`` (0.0) and ``high`` (1.0)."""
        return (value - self.low) / (self.high - self.low)


def number(value: float) -> str:
    """A figure as people write it: whole numbers without a point, others to two decimals at most."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".")


def text_width(text: str, size: float) -> float:
    """Estimated width of ``text`` at font ``size``: wide (CJK) characters one em, others 0.6 em."""
    return sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.6 for c in text) * size


def fit_text(text: str, width: float, size: float) -> str:
    """``text``, cut and ended with "…" when it is wider than ``width`` at ``size``."""
    if text_width(text, size) <= width:
        return text
    while text and text_width(text + "…", size) > width:
        text = text[:-1]
    return text + "…"


def nice_scale(values: Sequence[float], *, ticks: int = 4) -> Scale:
    """A scale from the round number at or below min(values, 0) to the one at or above
    max(values, 0), in about ``ticks`` steps of 1, 2 or 5 × 10ⁿ (whole steps for whole values).
    All zeros or no values: 0 to 1."""
    low, high = min([0.0, *values]), max([0.0, *values])
    if low == high:
        high = 1.0
    rough = (high - low) / ticks
    magnitude = 10.0 ** math.floor(math.log10(rough))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= rough)
    if all(float(v).is_integer() for v in values):
        step = max(step, 1.0)
    low, high = round(math.floor(low / step + 1e-9) * step, 10), round(math.ceil(high / step - 1e-9) * step, 10)
    count = round((high - low) / step)
    return Scale(low, high, tuple(round(low + i * step, 10) for i in range(count + 1)))


def bar_chart(rows: Sequence[tuple[str, float]], *, title: str, colours: Sequence[str] = PALETTE[:1],
              fmt: Formatter = number, desc: str | None = None) -> Markup:
    """Horizontal bars, one per (label, value): the label before the bar, the value after its end;
    ``colours`` are used in turn (one colour unless the bars are different kinds of thing)."""
    bar_h, gap, pad = 24, 8, 8
    summary = desc if desc is not None else "; ".join(f"{label}: {fmt(v)}" for label, v in rows)
    if not rows:
        return _svg("chart-bars", 60, title, summary, [_no_data(60)])
    height = pad * 2 + len(rows) * (bar_h + gap) - gap
    label_w = min(max(text_width(label, LABEL_SIZE) for label, _v in rows), WIDTH * 0.4)
    value_w = max(text_width(fmt(v), LABEL_SIZE) for _l, v in rows) + 6
    low, high = min([0.0, *(v for _l, v in rows)]), max([0.0, *(v for _l, v in rows)])
    scale = Scale(low, high if high > low else 1.0, ())
    plot_left = 4 + label_w + 8 + (value_w if low < 0 else 0)
    plot_w = WIDTH - 4 - (value_w if high > 0 or low == high else 0) - plot_left
    zero_x = plot_left + plot_w * scale.fraction(0)
    body = []
    for i, (label, value) in enumerate(rows):
        y = pad + i * (bar_h + gap)
        end = plot_left + plot_w * scale.fraction(value)
        text_y = y + bar_h * 0.72
        body.append(f'<text x="{4 + label_w:.1f}" y="{text_y:.1f}" text-anchor="end">'
                    f"{escape(fit_text(label, label_w, LABEL_SIZE))}</text>")
        body.append(f'<rect x="{min(zero_x, end):.1f}" y="{y}" width="{abs(end - zero_x):.1f}" height="{bar_h}" rx="3" '
                    f'fill="{escape(colours[i % len(colours)])}"><title>{escape(label)}: {escape(fmt(value))}</title></rect>')
        anchor, value_x = ("end", end - 6) if value < 0 else ("start", end + 6)
        body.append(f'<text x="{value_x:.1f}" y="{text_y:.1f}" text-anchor="{anchor}">{escape(fmt(value))}</text>')
    body.append(f'<line x1="{zero_x:.1f}" y1="{pad - 4}" x2="{zero_x:.1f}" y2="{height - pad + 4}" stroke="#999"/>')
    return _svg("chart-bars", height, title, summary, body)


def column_chart(labels: Sequence[str], series: Sequence[Series], *, title: str,
                 axis_labels: Sequence[str] | None = None, fmt: Formatter = number,
                 desc: str | None = None) -> Markup:
    """Columns over ``labels`` (e.g. months), side by side when there are several series (with a
    legend); one series also writes each non-zero value on its column when it fits.
    ``axis_labels``: shorter texts under the axis (e.g. "03" for "2026-03"); the desc and the
    tooltips keep ``labels``."""
    plot = _Plot("chart-columns", labels, series, title, axis_labels, fmt, desc)
    if plot.empty:
        return plot.svg([])
    n = len(labels)
    slot = plot.width / n
    bar_w = slot * 0.7 / len(series)
    write_values = len(series) == 1 and all(
        text_width(fmt(v), AXIS_SIZE) <= slot for v in series[0].values)
    body = plot.frame([plot.left + slot * (i + 0.5) for i in range(n)], with_ends=False)
    for k, s in enumerate(series):
        for i, value in enumerate(s.values):
            x = plot.left + slot * i + slot * 0.15 + k * bar_w
            y, zero = plot.y(value), plot.y(0)
            body.append(f'<rect x="{x:.1f}" y="{min(y, zero):.1f}" width="{bar_w:.1f}" height="{abs(zero - y):.1f}" '
                        f'fill="{escape(s.colour)}" rx="2"><title>{escape(plot.tip(s, i))}</title></rect>')
            if write_values and value:
                text_y = y - 4 if value > 0 else y + AXIS_SIZE
                body.append(f'<text x="{x + bar_w / 2:.1f}" y="{text_y:.1f}" text-anchor="middle" '
                            f'font-size="{AXIS_SIZE}">{escape(fmt(value))}</text>')
    return plot.svg(body)


def line_chart(labels: Sequence[str], series: Sequence[Series], *, title: str,
               axis_labels: Sequence[str] | None = None, fmt: Formatter = number,
               desc: str | None = None) -> Markup:
    """One line per series over ``labels``, the first on top (a legend when there are several;
    ``Series.dashed`` for a line to tell apart without colour); a dot per value where the steps
    are wide enough to point at. ``axis_labels`` as in ``column_chart``."""
    plot = _Plot("chart-lines", labels, series, title, axis_labels, fmt, desc)
    if plot.empty:
        return plot.svg([])
    n = len(labels)
    xs = [plot.left + plot.width / 2] if n == 1 else [plot.left + plot.width * i / (n - 1) for i in range(n)]
    body = plot.frame(xs, with_ends=True)
    dots = plot.width / n >= 12
    for s in reversed(series):  # the first series on top
        points = " ".join(f"{x:.1f},{plot.y(v):.1f}" for x, v in zip(xs, s.values, strict=True))
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        body.append(f'<polyline points="{points}" fill="none" stroke="{escape(s.colour)}" stroke-width="2.5"'
                    f' stroke-linejoin="round"{dash}/>')
        if dots or n == 1:
            body.extend(f'<circle cx="{x:.1f}" cy="{plot.y(v):.1f}" r="3.5" fill="{escape(s.colour)}">'
                        f"<title>{escape(plot.tip(s, i))}</title></circle>"
                        for i, (x, v) in enumerate(zip(xs, s.values, strict=True)))
    return plot.svg(body)


class _Plot:
    """The frame shared by column and line charts: legend, value scale with grid lines and tick
    figures, labels under the axis, the desc."""

    def __init__(self, kind: str, labels: Sequence[str], series: Sequence[Series], title: str,
                 axis_labels: Sequence[str] | None, fmt: Formatter, desc: str | None) -> None:
        for s in series:
            if len(s.values) != len(labels):
                raise ValueError(f"series {s.name!r} has {len(s.values)} values for {len(labels)} labels")
        if axis_labels is not None and len(axis_labels) != len(labels):
            raise ValueError(f"{len(axis_labels)} axis labels for {len(labels)} labels")
        self.kind, self.labels, self.series, self.title, self.fmt = kind, labels, series, title, fmt
        self.axis_labels = list(axis_labels if axis_labels is not None else labels)
        self.empty = not labels or not series
        self.desc = desc if desc is not None else "" if self.empty else "; ".join(
            f"{s.name}: " + ", ".join(f"{label} {fmt(v)}" for label, v in zip(labels, s.values, strict=True))
            for s in series)
        self.legend, legend_h = self._legend() if len(series) > 1 else ([], 0)
        self.scale = nice_scale([v for s in series for v in s.values])
        self.top, bottom = 12 + legend_h, 26
        self.height = 220 + legend_h
        self.left = 8 + max(text_width(fmt(t), AXIS_SIZE) for t in self.scale.ticks)
        self.width = WIDTH - 12 - self.left
        self.plot_h = self.height - self.top - bottom

    def y(self, value: float) -> float:
        return self.top + self.plot_h * (1 - self.scale.fraction(value))

    def tip(self, s: Series, i: int) -> str:
        return f"{self.labels[i]} {s.name}: {self.fmt(s.values[i])}" if len(self.series) > 1 \
            else f"{self.labels[i]}: {self.fmt(s.values[i])}"

    def _labelled(self, with_ends: bool) -> list[int]:
        """Which steps get their label under the axis: all that fit side by side; where they do not,
        every k-th (``with_ends``: spread from the first to the last, as a time line reads)."""
        n = len(self.axis_labels)
        fits = max(int(self.width // (max(text_width(a, AXIS_SIZE) for a in self.axis_labels) + 8)), 1)
        if n <= fits:
            return list(range(n))
        if with_ends and fits > 1:
            return sorted({round(i * (n - 1) / (fits - 1)) for i in range(fits)})
        return list(range(0, n, math.ceil(n / fits)))

    def frame(self, slot_centres: Sequence[float], *, with_ends: bool) -> list[str]:
        body = list(self.legend)
        for t in self.scale.ticks:
            y = self.y(t)
            stroke = 'stroke="#999"' if t == 0 else 'class="grid" stroke="#ddd"'
            body.append(f'<line x1="{self.left:.1f}" x2="{WIDTH - 12}" y1="{y:.1f}" y2="{y:.1f}" {stroke}/>')
            body.append(f'<text x="{self.left - 6:.1f}" y="{y + 5:.1f}" text-anchor="end" class="axis" '
                        f'font-size="{AXIS_SIZE}">{escape(self.fmt(t))}</text>')
        for i in self._labelled(with_ends):
            half = text_width(self.axis_labels[i], AXIS_SIZE) / 2
            x = min(max(slot_centres[i], half + 2), WIDTH - half - 2)
            body.append(f'<text x="{x:.1f}" y="{self.height - 8}" text-anchor="middle" class="axis" '
                        f'font-size="{AXIS_SIZE}">{escape(self.axis_labels[i])}</text>')
        return body

    def _legend(self) -> tuple[list[str], int]:
        """Legend entries in rows across the top (a wrapped row where they do not fit)."""
        parts, x, row = [], 8.0, 0
        for s in self.series:
            w = 30 + text_width(s.name, AXIS_SIZE)
            if x + w > WIDTH - 8 and x > 8:
                x, row = 8.0, row + 1
            y = 14 + row * 22
            if self.kind == "chart-columns":
                parts.append(f'<rect x="{x:.1f}" y="{y - 11}" width="14" height="14" fill="{escape(s.colour)}"/>')
            else:
                dash = ' stroke-dasharray="6 4"' if s.dashed else ""
                parts.append(f'<line x1="{x:.1f}" y1="{y - 4}" x2="{x + 20:.1f}" y2="{y - 4}" '
                             f'stroke="{escape(s.colour)}" stroke-width="2.5"{dash}/>')
            parts.append(f'<text x="{x + 24:.1f}" y="{y + 1}" font-size="{AXIS_SIZE}">{escape(s.name)}</text>')
            x += w + 14
        return parts, (row + 1) * 22 + 4

    def svg(self, body: list[str]) -> Markup:
        """The chart around ``body``; with no data, one that says so."""
        return _svg(self.kind, self.height, self.title, self.desc, body if not self.empty else [_no_data(self.height)])


def _no_data(height: int) -> str:
    return (f'<text x="{WIDTH / 2}" y="{height / 2 + 5}" text-anchor="middle" class="axis">'
            f"{escape(_('暂无数据'))}</text>")


def _svg(kind: str, height: int, title: str, desc: str, body: list[str]) -> Markup:
    return Markup(
        f'<svg class="chart {kind}" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg" font-size="{LABEL_SIZE}" fill="currentColor">'
        f"<title>{escape(title)}</title><desc>{escape(desc or _('暂无数据'))}</desc>" + "".join(body) + "</svg>"
    )
