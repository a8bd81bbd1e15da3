"""Inline SVG charts for the dashboard and statistics pages (no JavaScript, no library):
horizontal bars for categories and vertical bars for a monthly series. Text is escaped."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup


def hbar_chart(rows: Sequence[tuple[str, int]], *, title: str, colour: str = "#8a4b2b") -> Markup:
    """One bar per (label, value), values written at the bar's end."""
    bar_h, gap, label_w, width = 24, 8, 110, 400
    height = len(rows) * (bar_h + gap) + 30
    peak = max((v for _l, v in rows), default=0) or 1
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for i, (label, value) in enumerate(rows):
        y = 10 + i * (bar_h + gap)
        w = int((width - label_w - 50) * value / peak)
        parts.append(f'<text x="{label_w - 8}" y="{y + bar_h - 6}" text-anchor="end" font-size="16">{escape(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{max(w, 1)}" height="{bar_h}" fill="{colour}" rx="3"/>')
        parts.append(f'<text x="{label_w + w + 6}" y="{y + bar_h - 6}" font-size="16">{value}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def column_chart(series: Sequence[tuple[str, int]], *, title: str, colour: str = "#2b5f8a") -> Markup:
    """Monthly columns with the month (MM) under each column and the value above it."""
    width, height, base, top = 420, 220, 185, 24
    n = max(len(series), 1)
    slot = (width - 40) / n
    peak = max((v for _m, v in series), default=0) or 1
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
             f'<line x1="20" y1="{base}" x2="{width - 20}" y2="{base}" stroke="#999"/>']
    for i, (month, value) in enumerate(series):
        x = 20 + i * slot + slot * 0.15
        h = (base - top) * value / peak
        parts.append(f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{slot * 0.7:.1f}" height="{max(h, 0):.1f}" '
                     f'fill="{colour}" rx="2"><title>{escape(month)}: {value}</title></rect>')
        if value:
            parts.append(f'<text x="{x + slot * 0.35:.1f}" y="{base - h - 4:.1f}" text-anchor="middle" '
                         f'font-size="14">{value}</text>')
        parts.append(f'<text x="{x + slot * 0.35:.1f}" y="{base + 16}" text-anchor="middle" font-size="14">'
                     f'{escape(month[5:])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
