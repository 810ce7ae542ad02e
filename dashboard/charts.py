"""Small server-side SVG bar charts: readable at a glance, no JavaScript, no libraries."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape

if TYPE_CHECKING:
    from dashboard.trends import Trends

WIDTH, HEIGHT = 440, 210
LEFT, RIGHT, TOP, BOTTOM = 52, 8, 18, 30


def _nice_step(span: float) -> float:
    raw = span / 4 or 1
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _fmt(value: float, unit: str) -> str:
    text = f"{value:.0f}" if abs(value) >= 10 or value == int(value) else f"{value:.1f}"
    return f"{text}{unit}"


def bar_chart(
    title: str,
    points: Sequence[tuple[str, float | None]],
    *,
    unit: str = "",
    lo: float | None = None,
    hi: float | None = None,
) -> Markup:
    """An SVG bar chart; ``None`` values are gaps (no data), negatives hang below zero."""
    values = [v for _, v in points if v is not None]
    if not values:
        return Markup('<p class="nodata">No data in this period.</p>')
    low = min([0.0, *values]) if lo is None else min(lo, *values)
    high = max([0.0, *values]) if hi is None else max(hi, *values)
    if high == low:
        high = low + 1
    step = _nice_step(high - low)
    low = math.floor(low / step) * step
    high = math.ceil(high / step) * step
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def y(v: float) -> float:
        return TOP + plot_h * (high - v) / (high - low)

    parts: list[str] = [
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    tick = low
    while tick <= high + step / 2:
        ty = y(tick)
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{ty:.1f}" y2="{ty:.1f}"/>'
        )
        tick_label = escape(_fmt(tick, unit))
        parts.append(f'<text x="{LEFT - 5}" y="{ty + 4:.1f}" text-anchor="end">{tick_label}</text>')
        tick += step
    zero = y(0.0)
    parts.append(
        f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{zero:.1f}" y2="{zero:.1f}"/>'
    )
    n = len(points)
    slot = plot_w / n
    bar_w = max(2.0, slot * 0.7)
    label_every = max(1, math.ceil(n / 7))
    show_values = n <= 10
    for i, (label, value) in enumerate(points):
        x = LEFT + i * slot + (slot - bar_w) / 2
        if value is not None:
            top, bottom = sorted((y(value), zero))
            cls = "bar neg" if value < 0 else "bar"
            parts.append(
                f'<rect class="{cls}" x="{x:.1f}" y="{top:.1f}" width="{bar_w:.1f}" '
                f'height="{max(bottom - top, 1):.1f}" rx="2"><title>{escape(label)}: '
                f"{escape(_fmt(value, unit))}</title></rect>"
            )
            if show_values:
                vy = top - 3 if value >= 0 else bottom + 11
                parts.append(
                    f'<text class="val" x="{x + bar_w / 2:.1f}" y="{vy:.1f}" '
                    f'text-anchor="middle">{escape(_fmt(value, unit))}</text>'
                )
        if i % label_every == 0:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{HEIGHT - BOTTOM + 16}" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - labels and values are escaped above


CHARTS = (
    # (title, attribute, unit, fixed low, fixed high)
    ("NPS", "nps_score", "", -100.0, 100.0),
    ("CSAT average (1-5)", "csat_average", "", 0.0, 5.0),
    ("Response rate", "response_rate", "%", 0.0, 100.0),
    ("Completion rate", "completion_rate", "%", 0.0, 100.0),
    ("Flagged rate", "flagged_rate", "%", 0.0, 100.0),
    ("Calls", "calls", "", 0.0, None),
    # Side by side on the page: how fast we called back, and whether it put things right.
    ("Callbacks within SLA", "sla_rate", "%", 0.0, 100.0),
    ("Recovered after a callback (follow-up 4-5)", "recovery_rate", "%", 0.0, 100.0),
    ("Median minutes to first callback attempt", "median_first_attempt", "", 0.0, None),
)


def trend_charts(result: Trends) -> list[dict[str, Any]]:
    """One bar chart per figure, over the periods of ``result``."""
    out = []
    for title, attr, unit, lo, hi in CHARTS:
        points = [(b.label, getattr(b, attr)) for b in result.series]
        out.append(
            {
                "title": title,
                "attr": attr,
                "unit": unit,
                "overall": getattr(result.total, attr),
                "svg": bar_chart(title, points, unit=unit, lo=lo, hi=hi),
            }
        )
    return out
