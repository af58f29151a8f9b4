"""Inline SVG charts of SLA statements: down and excluded minutes per day, attainment over periods.

Self-contained text (no script, no external resource), scaled by `viewBox` to the page width so
nothing is cut off; every label is escaped here, which lets the templates mark the result as safe.
"""

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

DOWN = "#b91c1c"
EXCLUDED = "#9ca3af"
LINE = "#2563eb"
TARGET = "#15803d"
GRID = "#e5e7eb"
TEXT = "#374151"
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 24, 40


def _nice_max(value: float) -> float:
    """The smallest 1, 2 or 5 × 10^k at or above `value` (at least 1)."""
    if value <= 1:
        return 1.0
    step = 1.0
    while True:
        for m in (1, 2, 5):
            if m * step >= value:
                return m * step
        step *= 10


def _text(x: float, y: float, text: str, anchor: str = "middle", size: int = 11) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" fill="{TEXT}">'
        f"{escape(text)}</text>"
    )


def daily_minutes_svg(days: Sequence[Mapping[str, Any]], width: int = 1000, height: int = 240) -> str:
    """Stacked bars per local day: down minutes (red) on excluded minutes (grey)."""
    n = max(1, len(days))
    top = max((d["minutes_down"] + d["minutes_excluded"] for d in days), default=0)
    y_max = _nice_max(top)
    plot_w, plot_h = width - LEFT - RIGHT, height - TOP - BOTTOM
    slot = plot_w / n
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" aria-label="Down and excluded minutes per day">',
        f"<title>Down and excluded minutes per day (scale 0 to {y_max:g} minutes)</title>",
    ]
    for i in range(5):
        value = y_max * i / 4
        y = TOP + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{LEFT}" x2="{width - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(_text(LEFT - 8, y + 4, f"{value:g}", "end"))
    middle = TOP + plot_h / 2
    parts.append(
        f'<text x="14" y="{middle:.1f}" text-anchor="middle" font-size="11" fill="{TEXT}" '
        f'transform="rotate(-90 14 {middle:.1f})">minutes</text>'
    )
    every = max(1, round(n / 16))
    for i, d in enumerate(days):
        x = LEFT + i * slot + slot * 0.15
        w = slot * 0.7
        excluded_h = plot_h * d["minutes_excluded"] / y_max
        down_h = plot_h * d["minutes_down"] / y_max
        base = TOP + plot_h
        label = f"{d['date']}: {d['minutes_down']} down, {d['minutes_excluded']} excluded of {d['minutes']}"
        if excluded_h > 0:
            parts.append(
                f'<rect x="{x:.1f}" y="{base - excluded_h:.1f}" width="{w:.1f}" height="{excluded_h:.1f}" '
                f'fill="{EXCLUDED}"><title>{escape(label)}</title></rect>'
            )
        if down_h > 0:
            parts.append(
                f'<rect x="{x:.1f}" y="{base - excluded_h - down_h:.1f}" width="{w:.1f}" '
                f'height="{down_h:.1f}" fill="{DOWN}"><title>{escape(label)}</title></rect>'
            )
        if i % every == 0:
            parts.append(_text(LEFT + i * slot + slot / 2, TOP + plot_h + 16, str(d["date"])[5:]))
    parts.append(
        f'<line x1="{LEFT}" x2="{width - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" stroke="{TEXT}"/>'
    )
    parts.append(_text(LEFT + plot_w / 2, height - 6, "local day (month-day)"))
    parts.append("</svg>")
    return "".join(parts)


def trend_svg(
    points: Sequence[Mapping[str, Any]], target: float, width: int = 1000, height: int = 220
) -> str:
    """Attainment (percent) per period, oldest first, with the target as a dashed line."""
    values = [p["attainment_percent"] for p in points if p["attainment_percent"] is not None]
    low = min([*values, target])
    spread = max(100 - low, 0.01)
    y_min = max(0.0, low - spread * 0.25)
    plot_w, plot_h = width - LEFT - RIGHT, height - TOP - BOTTOM
    n = max(1, len(points))
    slot = plot_w / n

    def y(v: float) -> float:
        return TOP + plot_h * (100 - v) / (100 - y_min)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" aria-label="Attainment per period against the target">',
        "<title>Attainment per period against the target</title>",
    ]
    for i in range(5):
        v = y_min + (100 - y_min) * i / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{width - RIGHT}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="{GRID}"/>'
        )
        parts.append(_text(LEFT - 8, y(v) + 4, f"{v:.3f}%", "end", 10))
    parts.append(
        f'<line x1="{LEFT}" x2="{width - RIGHT}" y1="{y(target):.1f}" y2="{y(target):.1f}" '
        f'stroke="{TARGET}" stroke-dasharray="6 4" stroke-width="1.5"/>'
    )
    parts.append(_text(width - RIGHT - 4, y(target) - 5, f"target {target:g}%", "end", 10))
    placed = []
    for i, p in enumerate(points):
        cx = LEFT + i * slot + slot / 2
        parts.append(_text(cx, TOP + plot_h + 16, str(p["label"])))
        if p["attainment_percent"] is not None:
            placed.append((cx, y(p["attainment_percent"]), p))
    if len(placed) > 1:
        line = " ".join(f"{cx:.1f},{cy:.1f}" for cx, cy, _ in placed)
        parts.append(f'<polyline points="{line}" fill="none" stroke="{LINE}" stroke-width="2"/>')
    for cx, cy, p in placed:
        colour = TARGET if p["met"] else DOWN
        text = f"{p['label']}: {p['attainment_percent']:.4f}% ({'met' if p['met'] else 'missed'})"
        parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="5" fill="{colour}">')
        parts.append(f"<title>{escape(text)}</title></circle>")
    parts.append(_text(LEFT + plot_w / 2, height - 6, "contract period"))
    parts.append("</svg>")
    return "".join(parts)
