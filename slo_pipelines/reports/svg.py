"""Burn-down chart of the remaining error budget as an inline SVG string.

Reports must be single self-contained files that an auditor can open years later without a network or
a plotting library, so the chart is built as plain text. Every piece of text that reaches the markup is
escaped here, which is what allows the HTML template to mark the result as safe.
"""

import calendar
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from html import escape

MARGIN_LEFT = 56
MARGIN_RIGHT = 36  # room for half of a centred date label at the right edge
MARGIN_TOP = 14
MARGIN_BOTTOM = 34
LINE_COLOUR = "#2563eb"
ZERO_COLOUR = "#dc2626"
GRID_COLOUR = "#e5e7eb"
AXIS_COLOUR = "#6b7280"
TEXT_COLOUR = "#374151"

_HOUR = 3600
_DAY = 86400
_TIME_STEPS = (
    300, 900, 1800, _HOUR, 2 * _HOUR, 3 * _HOUR, 6 * _HOUR, 12 * _HOUR,
    _DAY, 2 * _DAY, 7 * _DAY, 14 * _DAY,
)  # fmt: skip
_MONTH_STEPS = (1, 2, 3, 6, 12)
_FIRST_MONDAY = 4 * _DAY  # weekly ticks fall on Mondays (1970-01-05), like ISO weeks
_Point = tuple[float, float]
_Scale = Callable[[float], float]


def burn_down_svg(
    t: Sequence[float],
    remaining_ratio: Sequence[float | None],
    width: int = 640,
    height: int = 220,
    title: str = "Remaining error budget",
) -> str:
    """Draw remaining budget (1.0 = untouched, 0 = spent, below 0 = overspent) against UTC time.

    A `None` or non-finite value breaks the line instead of being interpolated: a gap in the data must
    look like a gap, not like a steady budget.
    """
    if len(t) != len(remaining_ratio):
        raise ValueError(
            f"series.t and series.remaining_ratio differ in length ({len(t)} vs {len(remaining_ratio)})"
        )
    if width < MARGIN_LEFT + MARGIN_RIGHT + 40 or height < MARGIN_TOP + MARGIN_BOTTOM + 40:
        raise ValueError(f"chart size too small: width={width}, height={height}")
    times = [_finite(v) for v in t]
    if any(v is None for v in times):
        raise ValueError("series.t: every timestamp must be a finite number of epoch seconds")
    stamps = [float(v) for v in times if v is not None]
    values = [_finite(v) for v in remaining_ratio]

    plot_w = width - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = height - MARGIN_TOP - MARGIN_BOTTOM
    present = [v for v in values if v is not None]
    y_lo, y_hi, y_step = _y_domain(present)
    t_lo, t_hi = _t_domain(stamps)

    def sx(ts: float) -> float:
        return MARGIN_LEFT + (ts - t_lo) / (t_hi - t_lo) * plot_w

    def sy(value: float) -> float:
        return MARGIN_TOP + (y_hi - value) / (y_hi - y_lo) * plot_h

    title_text = escape(title, quote=True)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="burn-down" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" font-family="system-ui, sans-serif" '
        f'font-size="11">',
        f"<title>{title_text}</title>",
        f'<rect class="plot-area" x="{MARGIN_LEFT}" y="{MARGIN_TOP}" width="{plot_w}" height="{plot_h}" '
        f'fill="#ffffff" stroke="{GRID_COLOUR}" data-t-min="{_num(t_lo)}" data-t-max="{_num(t_hi)}" '
        f'data-y-min="{_num(y_lo)}" data-y-max="{_num(y_hi)}"/>',
    ]
    if y_lo < 0:
        parts.append(
            f'<rect class="overspent" x="{MARGIN_LEFT}" y="{_num(sy(0.0))}" width="{plot_w}" '
            f'height="{_num(sy(y_lo) - sy(0.0))}" fill="{ZERO_COLOUR}" fill-opacity="0.06"/>'
        )
    parts.extend(_y_axis(y_lo, y_hi, y_step, sy, width))
    parts.extend(_x_axis(t_lo, t_hi, sx, width, height, with_ticks=bool(stamps)))
    parts.append(
        f'<line class="zero-line" x1="{MARGIN_LEFT}" x2="{width - MARGIN_RIGHT}" y1="{_num(sy(0.0))}" '
        f'y2="{_num(sy(0.0))}" stroke="{ZERO_COLOUR}" stroke-width="1.2" stroke-dasharray="5 3"/>'
    )
    segments = _segments(stamps, values, max_points=4 * plot_w)
    for segment in segments:
        scaled = [(sx(ts), sy(v)) for ts, v in segment]
        parts.append(_segment_markup(scaled, sy(0.0)))
    if not segments:
        parts.append(
            f'<text class="no-data" x="{MARGIN_LEFT + plot_w / 2:.2f}" y="{MARGIN_TOP + plot_h / 2:.2f}" '
            f'text-anchor="middle" fill="{AXIS_COLOUR}" font-size="13">No budget data in this window</text>'
        )
    else:
        last_t, last_v = segments[-1][-1]
        parts.append(_last_value_label(sx(last_t), sy(last_v), last_v))
    parts.append("</svg>")
    return "".join(parts)


def _finite(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _num(value: float) -> str:
    """Compact, deterministic coordinates so identical inputs give byte-identical reports."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _nice_step(span: float, target_ticks: int = 4) -> float:
    raw = span / target_ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1.0, 2.0, 2.5, 5.0, 10.0):
        if factor * magnitude >= raw:
            return factor * magnitude
    return 10 * magnitude


def _y_domain(present: Sequence[float]) -> tuple[float, float, float]:
    """Always show 0 % and 100 % so charts of different SLOs read the same way; grow for overspend."""
    low = min([0.0, *present])
    high = max([1.0, *present])
    step = _nice_step(high - low)
    return math.floor(low / step + 1e-9) * step, math.ceil(high / step - 1e-9) * step, step


def _t_domain(stamps: Sequence[float]) -> tuple[float, float]:
    if not stamps:
        return 0.0, float(_DAY)
    low, high = min(stamps), max(stamps)
    if high - low < 1:
        return low - _HOUR, high + _HOUR
    return low, high


def _y_axis(y_lo: float, y_hi: float, step: float, sy: _Scale, width: int) -> list[str]:
    parts = []
    count = round((y_hi - y_lo) / step)
    decimals = 0 if abs(step * 100 - round(step * 100)) < 1e-9 else 1
    for i in range(count + 1):
        value = y_lo + i * step
        y = _num(sy(value))
        parts.append(
            f'<line class="grid" x1="{MARGIN_LEFT}" x2="{width - MARGIN_RIGHT}" y1="{y}" y2="{y}" '
            f'stroke="{GRID_COLOUR}" stroke-width="1"/>'
        )
        label = f"{value * 100:.{decimals}f} %"
        if label.startswith("-0 ") or label.startswith("-0.0 "):
            label = label[1:]
        parts.append(
            f'<text class="y-label" x="{MARGIN_LEFT - 6}" y="{y}" dy="0.32em" text-anchor="end" '
            f'fill="{TEXT_COLOUR}">{escape(label)}</text>'
        )
    return parts


def _x_axis(t_lo: float, t_hi: float, sx: _Scale, width: int, height: int, with_ticks: bool) -> list[str]:
    """Time axis; without data there is no meaningful instant to label, so only the line is drawn."""
    axis_y = height - MARGIN_BOTTOM
    plot_w = width - MARGIN_LEFT - MARGIN_RIGHT
    parts = [
        f'<line class="x-axis" x1="{MARGIN_LEFT}" x2="{MARGIN_LEFT + plot_w}" y1="{axis_y}" y2="{axis_y}" '
        f'stroke="{AXIS_COLOUR}" stroke-width="1"/>'
    ]
    max_ticks = max(2, plot_w // 90)
    span = t_hi - t_lo
    fmt = "%Y-%m-%d" if span >= 2 * _DAY else "%m-%d %H:%M"
    for tick in _time_ticks(t_lo, t_hi, max_ticks) if with_ticks else []:
        x = _num(sx(tick))
        label = datetime.fromtimestamp(tick, tz=UTC).strftime(fmt)
        parts.append(
            f'<line class="x-tick" x1="{x}" x2="{x}" y1="{axis_y}" y2="{axis_y + 4}" '
            f'stroke="{AXIS_COLOUR}" stroke-width="1"/>'
            f'<text class="x-label" x="{x}" y="{axis_y + 16}" text-anchor="middle" '
            f'fill="{TEXT_COLOUR}">{escape(label)}</text>'
        )
    parts.append(
        f'<text class="x-unit" x="{MARGIN_LEFT + plot_w}" y="{axis_y + 30}" text-anchor="end" '
        f'fill="{AXIS_COLOUR}" font-size="10">time (UTC)</text>'
    )
    return parts


def _time_ticks(t_lo: float, t_hi: float, max_ticks: int) -> list[float]:
    """Ticks on round UTC instants (whole hours, midnights, first days of months)."""
    span = t_hi - t_lo
    for step in _TIME_STEPS:
        if span / step <= max_ticks:
            anchor = _FIRST_MONDAY if step >= 7 * _DAY else 0
            first = math.ceil((t_lo - anchor) / step) * step + anchor
            return [float(v) for v in range(int(first), int(t_hi) + 1, step)]
    start = datetime.fromtimestamp(t_lo, tz=UTC)
    months_span = span / (30 * _DAY)
    months = next((m for m in _MONTH_STEPS if months_span / m <= max_ticks), 12 * math.ceil(months_span / 12))
    year, month = start.year, start.month
    ticks: list[float] = []
    while True:
        stamp = calendar.timegm((year, month, 1, 0, 0, 0))
        if stamp > t_hi:
            return ticks
        if stamp >= t_lo and (year * 12 + month - 1) % months == 0:
            ticks.append(float(stamp))
        month += 1
        if month > 12:
            year, month = year + 1, 1


def _segments(stamps: Sequence[float], values: Sequence[float | None], max_points: int) -> list[list[_Point]]:
    """Split the series at missing values; thin very long runs while keeping each pixel's extremes."""
    runs: list[list[_Point]] = []
    current: list[_Point] = []
    for ts, value in sorted(zip(stamps, values, strict=True), key=lambda pair: pair[0]):
        if value is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append((ts, value))
    if current:
        runs.append(current)
    total = sum(len(run) for run in runs)
    if total <= max_points:
        return runs
    return [_thin(run, max(2, max_points * len(run) // total)) for run in runs]


def _thin(run: list[_Point], budget: int) -> list[_Point]:
    if len(run) <= budget:
        return run
    columns = max(1, budget // 2)
    size = math.ceil(len(run) / columns)
    thinned: list[_Point] = []
    for start in range(0, len(run), size):
        chunk = run[start : start + size]
        low = min(chunk, key=lambda point: point[1])
        high = max(chunk, key=lambda point: point[1])
        thinned.extend(sorted({low, high}, key=lambda point: point[0]))
    return thinned


def _segment_markup(points: list[_Point], zero_y: float) -> str:
    if len(points) == 1:
        x, y = points[0]
        return f'<circle class="budget-point" cx="{_num(x)}" cy="{_num(y)}" r="2.5" fill="{LINE_COLOUR}"/>'
    coords = " ".join(f"{_num(x)},{_num(y)}" for x, y in points)
    area = f"{_num(points[0][0])},{_num(zero_y)} {coords} {_num(points[-1][0])},{_num(zero_y)}"
    return (
        f'<polygon class="budget-area" points="{area}" fill="{LINE_COLOUR}" fill-opacity="0.08"/>'
        f'<polyline class="budget-line" points="{coords}" fill="none" stroke="{LINE_COLOUR}" '
        f'stroke-width="1.8" stroke-linejoin="round" stroke-linecap="round"/>'
    )


def _last_value_label(x: float, y: float, value: float) -> str:
    label = escape(f"{value * 100:.1f} %")
    text_y = y - 8 if y > MARGIN_TOP + 16 else y + 16
    return (
        f'<circle class="last-point" cx="{_num(x)}" cy="{_num(y)}" r="3.5" fill="{LINE_COLOUR}"/>'
        f'<text class="last-label" x="{_num(x - 4)}" y="{_num(text_y)}" text-anchor="end" '
        f'fill="{LINE_COLOUR}" font-weight="600" stroke="#ffffff" stroke-width="3" paint-order="stroke">'
        f"{label}</text>"
    )
