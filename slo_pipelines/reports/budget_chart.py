"""Bad events consumed against the allowance over an SLO's window, as an inline SVG string.

What an SRE reads off a budget: how many bad events (or bad slices) the window has consumed and how
many it may consume. The remaining-budget ratio misleads on calendar windows, where the allowance
itself grows with month-to-date traffic; so both counts are drawn on one axis, with, for calendar
windows, the allowance projected to the whole period at the traffic seen so far. Exclusions are shaded
bands, incidents outlined bands; alerts and policy decisions are marked on the time axis. Text is
escaped here.
"""

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from slo_pipelines.reports.svg import (
    AXIS_COLOUR,
    GRID_COLOUR,
    MARGIN_BOTTOM,
    MARGIN_LEFT,
    MARGIN_RIGHT,
    MARGIN_TOP,
    TEXT_COLOUR,
    _finite,
    _nice_step,
    _num,
    _segments,
    _t_domain,
    _x_axis,
)

CONSUMED = "#b91c1c"
ALLOWED = "#2563eb"
EXCLUDED = "#9ca3af"
ALERT = {"page": "#dc2626", "ticket": "#d97706"}
DECISION = "#7c3aed"
INCIDENT = "#0f766e"
LEFT = MARGIN_LEFT  # y labels stay short ("9,999", "12.5k", "1.25M")
LEGEND_HEIGHT = 22


def _count(value: float) -> str:
    if abs(value) >= 1_000_000:
        return f"{value / 1_000_000:.3g}M"
    if abs(value) >= 10_000:
        return f"{value / 1000:.3g}k"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"


def consumption_svg(
    series: Mapping[str, Sequence[Any]],
    exclusions: Sequence[Mapping[str, Any]] = (),
    events: Sequence[Mapping[str, Any]] = (),
    width: int = 1000,
    height: int = 280,
    title: str = "Bad events consumed against the allowance",
) -> str:
    """`series`: t (epoch seconds), consumed_bad, allowed_bad, optional projected_allowed_bad;
    `exclusions`: start/end epoch seconds, name; `events`: t, end (None while open), kind
    (alert|decision|incident), severity, label. An incident is drawn as a band over its window."""
    stamps = [float(v) for v in series.get("t", [])]
    lines = {
        key: [_finite(v) for v in series.get(key) or []]
        for key in ("consumed_bad", "allowed_bad", "projected_allowed_bad")
        if series.get(key)
    }
    for key, values in lines.items():
        if len(values) != len(stamps):
            raise ValueError(f"series.t and series.{key} differ in length ({len(stamps)} vs {len(values)})")
    plot_bottom = height - MARGIN_BOTTOM - LEGEND_HEIGHT
    plot_w, plot_h = width - LEFT - MARGIN_RIGHT, plot_bottom - MARGIN_TOP
    present = [v for values in lines.values() for v in values if v is not None]
    top = max([1.0, *present])
    step = _nice_step(top)
    y_hi = step * -(-top // step)
    t_lo, t_hi = _t_domain(stamps)

    def sx(ts: float) -> float:
        return LEFT + (min(max(ts, t_lo), t_hi) - t_lo) / (t_hi - t_lo) * plot_w

    def sy(value: float) -> float:
        return MARGIN_TOP + (y_hi - value) / y_hi * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="budget-consumption" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" font-family="system-ui, sans-serif" '
        'font-size="11">',
        f"<title>{escape(title)}</title>",
        f'<rect x="{LEFT}" y="{MARGIN_TOP}" width="{plot_w}" height="{plot_h}" fill="#ffffff" '
        f'stroke="{GRID_COLOUR}"/>',
    ]
    for band in exclusions:
        lo, hi = sx(float(band["start"])), sx(float(band["end"]))
        if hi > lo:
            parts.append(
                f'<rect class="exclusion" x="{_num(lo)}" y="{MARGIN_TOP}" width="{_num(max(hi - lo, 1))}" '
                f'height="{plot_h}" fill="{EXCLUDED}" fill-opacity="0.25"><title>'
                f"{escape('excluded: ' + str(band.get('name', '')))}</title></rect>"
            )
    for i in range(round(y_hi / step) + 1):
        y = _num(sy(i * step))
        parts.append(
            f'<line x1="{LEFT}" x2="{width - MARGIN_RIGHT}" y1="{y}" y2="{y}" stroke="{GRID_COLOUR}"/>'
            f'<text x="{LEFT - 6}" y="{y}" dy="0.32em" text-anchor="end" fill="{TEXT_COLOUR}">'
            f"{escape(_count(i * step))}</text>"
        )
    # the shared time axis sits MARGIN_BOTTOM above the bottom it is given: the legend goes below it
    parts.extend(_x_axis(t_lo, t_hi, sx, width, height - LEGEND_HEIGHT, with_ticks=bool(stamps)))
    styles = {
        "allowed_bad": (ALLOWED, "", "allowance"),
        "projected_allowed_bad": (ALLOWED, ' stroke-dasharray="6 4"', "allowance projected to the period"),
        "consumed_bad": (CONSUMED, "", "consumed (bad)"),
    }
    for key in ("projected_allowed_bad", "allowed_bad", "consumed_bad"):
        if key not in lines:
            continue
        colour, dash, _ = styles[key]
        for segment in _segments(stamps, lines[key], max_points=4 * plot_w):
            coords = " ".join(f"{_num(sx(t))},{_num(sy(v))}" for t, v in segment)
            parts.append(
                f'<polyline class="{key}" points="{coords}" fill="none" stroke="{colour}" '
                f'stroke-width="1.8"{dash} stroke-linejoin="round"/>'
            )
    for event in (e for e in events if e["kind"] == "incident"):
        lo = sx(float(event["t"]))
        hi = sx(float(t_hi if event.get("end") is None else event["end"]))
        parts.append(
            f'<rect class="event incident" x="{_num(lo)}" y="{MARGIN_TOP}" width="{_num(max(hi - lo, 1))}" '
            f'height="{plot_h}" fill="{INCIDENT}" fill-opacity="0.12" stroke="{INCIDENT}" '
            f'stroke-dasharray="4 2"><title>{escape(str(event["label"]))}</title></rect>'
        )
    for event in (e for e in events if e["kind"] != "incident"):
        x = _num(sx(float(event["t"])))
        severity = str(event.get("severity"))
        colour = DECISION if event["kind"] == "decision" else ALERT.get(severity, ALERT["ticket"])
        parts.append(
            f'<g class="event {escape(str(event["kind"]))}"><line x1="{x}" x2="{x}" y1="{MARGIN_TOP}" '
            f'y2="{plot_bottom}" stroke="{colour}" stroke-width="1" stroke-dasharray="2 3"/>'
            f'<path d="M{x} {plot_bottom} l-4 6 h8 z" fill="{colour}"/>'
            f"<title>{escape(str(event['label']))}</title></g>"
        )
    keys = ("consumed_bad", "allowed_bad", "projected_allowed_bad")
    legend = [styles[k] for k in keys if k in lines]
    legend += [(EXCLUDED, "", "excluded"), (INCIDENT, "", "incident")]
    legend += [(ALERT["page"], "", "alert"), (DECISION, "", "policy decision")]
    left, base = float(LEFT), height - 8
    for colour, dash, label in legend:
        parts.append(
            f'<line x1="{_num(left)}" x2="{_num(left + 18)}" y1="{base - 4}" y2="{base - 4}" '
            f'stroke="{colour}" stroke-width="3"{dash}/>'
            f'<text x="{_num(left + 22)}" y="{base}" fill="{AXIS_COLOUR}">{escape(label)}</text>'
        )
        left += 30 + 6.5 * len(label)
    if not present:
        parts.append(
            f'<text x="{LEFT + plot_w / 2:.2f}" y="{MARGIN_TOP + plot_h / 2:.2f}" text-anchor="middle" '
            f'fill="{AXIS_COLOUR}" font-size="13">No budget data in this window</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
