"""Small inline SVG charts for the organiser pages (no JavaScript, readable on a phone: they
scale with ``viewBox`` and every figure is also shown in a table next to the chart)."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from markupsafe import Markup, escape

from reading_points.campaigns.stats import Dashboard

COLOURS = ("#2f6f8f", "#c0812f", "#6a9a4a", "#b4483c", "#7a5c99")


def _svg(width: int, height: int, body: list[str], label: str) -> Markup:
    return Markup(
        f'<svg class="chart campaign-chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}" '
        f'xmlns="http://www.w3.org/2000/svg" font-size="15">' + "".join(body) + "</svg>"
    )


def bars(items: list[tuple[str, float]], *, label: str, width: int = 440, bar_h: int = 26) -> Markup:
    """Horizontal bars with their values."""
    left, right = 170, 50
    height = max(len(items), 1) * (bar_h + 8) + 8
    top = max((v for _, v in items), default=0) or 1
    body = []
    for i, (name, value) in enumerate(items):
        y = 8 + i * (bar_h + 8)
        w = (width - left - right) * value / top
        body.append(f'<text x="{left - 8}" y="{y + bar_h * 0.68:.1f}" text-anchor="end">{escape(name)}</text>')
        body.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" rx="3" '
                    f'fill="{COLOURS[i % len(COLOURS)]}"/>')
        body.append(f'<text x="{left + w + 6:.1f}" y="{y + bar_h * 0.68:.1f}">{value:g}</text>')
    return _svg(width, height, body, label)


def funnel(d: Dashboard) -> Markup:
    return bars([(_("报名人数"), d.registrations), (_("候补人数"), d.waitlisted), (_("签到人数"), d.attended),
                 (_("未到人数"), d.no_shows)], label=_("报名与签到"))


def event_bars(d: Dashboard) -> Markup:
    items = [(str(row["event"].title)[:12], row["registered"]) for row in d.per_event[:12]]
    return bars(items, label=_("各活动报名人数"))


def loans_lines(d: Dashboard, width: int = 440, height: int = 240) -> Markup:
    """Loans per day during the campaign (solid) against the same dates last year (dashed)."""
    days = d.loans_by_day
    left, bottom, top_pad, right = 40, 30, 14, 12
    top = max([max(a, b) for _, a, b in days] or [0]) or 1
    n = max(len(days) - 1, 1)

    def point(i: int, v: int) -> str:
        x = left + (width - left - right) * i / n
        y = height - bottom - (height - bottom - top_pad) * v / top
        return f"{x:.1f},{y:.1f}"

    body = [f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" stroke="#999"/>',
            f'<text x="{left - 6}" y="{top_pad + 4}" text-anchor="end">{top}</text>',
            f'<text x="{left - 6}" y="{height - bottom}" text-anchor="end">0</text>']
    if days:
        this_year = " ".join(point(i, a) for i, (_, a, _b) in enumerate(days))
        last_year = " ".join(point(i, b) for i, (_, _a, b) in enumerate(days))
        body.append(f'<polyline points="{last_year}" fill="none" stroke="{COLOURS[1]}" stroke-width="2" '
                    f'stroke-dasharray="6 4"/>')
        body.append(f'<polyline points="{this_year}" fill="none" stroke="{COLOURS[0]}" stroke-width="2.5"/>')
        body.append(f'<text x="{left}" y="{height - 8}">{days[0][0].isoformat()}</text>')
        body.append(f'<text x="{width - right}" y="{height - 8}" text-anchor="end">{days[-1][0].isoformat()}</text>')
    this_label, last_label = _("今年"), _("去年同期")
    legend_x = left + 10
    body.append(f'<line x1="{legend_x}" y1="{top_pad}" x2="{legend_x + 24}" y2="{top_pad}" stroke="{COLOURS[0]}" '
                f'stroke-width="2.5"/><text x="{legend_x + 30}" y="{top_pad + 4}">{escape(this_label)}</text>')
    body.append(f'<line x1="{legend_x + 100}" y1="{top_pad}" x2="{legend_x + 124}" y2="{top_pad}" '
                f'stroke="{COLOURS[1]}" stroke-width="2" stroke-dasharray="6 4"/>'
                f'<text x="{legend_x + 130}" y="{top_pad + 4}">{escape(last_label)}</text>')
    return _svg(width, height, body, _("活动期间每日借阅量与去年同期对比"))


def township_rates(stats: dict[str, Any]) -> Markup:
    items = [(str(r["township"].name), round(r["rate"] or 0, 2)) for r in stats["townships"]]
    return bars(items, label=_("每万人活动场次（按乡镇）"))
