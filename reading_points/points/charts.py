"""Small inline SVG charts (no JavaScript, readable on a phone, scale with the page)."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

COLOURS = ("#2b6cb0", "#2f855a", "#c05621", "#6b46c1")


def _nice_max(value: int) -> int:
    if value <= 0:
        return 10
    step = 10 ** (len(str(value)) - 1)
    return ((value + step - 1) // step) * step


def line_chart(points: Sequence[tuple[str, int]], *, title: str, width: int = 640, height: int = 220) -> Markup:
    """A line of values over labelled steps (months)."""
    left, right, top, bottom = 44, 12, 16, 34
    top_value = _nice_max(max((v for _, v in points), default=0))
    n = max(len(points) - 1, 1)
    xs = [left + i * (width - left - right) / n for i in range(len(points))]
    ys = [top + (height - top - bottom) * (1 - v / top_value) for _, v in points]
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>"]
    for frac in (0, 0.5, 1):
        y = top + (height - top - bottom) * (1 - frac)
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="axis">{int(top_value * frac)}</text>')
    if points:
        path = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(zip(xs, ys, strict=True)))
        parts.append(f'<path d="{path}" fill="none" stroke="{COLOURS[0]}" stroke-width="2.5"/>')
        for (label, value), x, y in zip(points, xs, ys, strict=True):
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{COLOURS[0]}">'
                         f"<title>{escape(label)}: {value}</title></circle>")
            parts.append(f'<text x="{x:.1f}" y="{height - 12}" text-anchor="middle" class="axis">'
                         f"{escape(label[5:] if len(label) == 7 else label)}</text>")
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(groups: Sequence[tuple[str, Sequence[int]]], series: Sequence[str], *, title: str,
              width: int = 640, height: int = 240) -> Markup:
    """Grouped bars: one group per label, one bar per series, with a legend."""
    left, right, top, bottom = 48, 12, 28, 34
    top_value = _nice_max(max((v for _, vs in groups for v in vs), default=0))
    plot_w, plot_h = width - left - right, height - top - bottom
    gw = plot_w / max(len(groups), 1)
    bw = max(gw * 0.8 / max(len(series), 1), 1)
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>"]
    for i, name in enumerate(series):
        parts.append(f'<rect x="{left + i * 110}" y="4" width="12" height="12" fill="{COLOURS[i % 4]}"/>'
                     f'<text x="{left + i * 110 + 16}" y="14" class="axis">{escape(name)}</text>')
    for frac in (0, 0.5, 1):
        y = top + plot_h * (1 - frac)
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="axis">{int(top_value * frac)}</text>')
    for g, (label, values) in enumerate(groups):
        x0 = left + g * gw + gw * 0.1
        for i, v in enumerate(values):
            h = plot_h * v / top_value
            parts.append(f'<rect x="{x0 + i * bw:.1f}" y="{top + plot_h - h:.1f}" width="{bw:.1f}" height="{h:.1f}" '
                         f'fill="{COLOURS[i % 4]}"><title>{escape(label)} {escape(series[i])}: {v}</title></rect>')
        parts.append(f'<text x="{left + g * gw + gw / 2:.1f}" y="{height - 12}" text-anchor="middle" class="axis">'
                     f"{escape(label[5:] if len(label) == 7 else label)}</text>")
    parts.append("</svg>")
    return Markup("".join(parts))
