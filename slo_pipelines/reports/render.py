"""Budget reports as HTML (for people), JSON (for machines and the archive) and Markdown (for the Dagster UI).

The three renderings take one report dict shaped like the `slo evaluate` JSON plus per-SLO series and
exclusions. It is validated once, up front, so a malformed report fails with one line naming the field and
value instead of a template traceback halfway through writing files.
"""

import dataclasses
import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from slo_pipelines.reports.budget_chart import consumption_svg
from slo_pipelines.reports.svg import burn_down_svg

STATUSES = ("breach", "warning", "no_data", "ok")
BURN_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
STATUS_LABELS = {"ok": "OK", "warning": "Warning", "breach": "Breach", "no_data": "No data"}
STATUS_ICONS = {"ok": "🟢", "warning": "🟠", "breach": "🔴", "no_data": "⚪"}
DASH = "—"
CHART_WIDTH = 1000
CHART_HEIGHT = 260
_NUMBER_FIELDS = ("target", "good", "total", "sli", "excluded_seconds", "coverage")
_BUDGET_FIELDS = ("allowed_bad", "consumed_bad", "remaining_ratio")


class ReportError(ValueError):
    """A report dict that cannot be rendered; the message names the field path and the offending value."""


def render_html(report: Any) -> str:
    """One self-contained HTML page: summary table, then a card per SLO with its burn-down chart."""
    data = _prepare(report)
    slos = [_slo_view(index, slo) for index, slo in enumerate(data["slos"])]
    template = _html_env().get_template("budget_report.html.j2")
    return template.render(report=data, slos=slos, counts=_status_counts(data["slos"]))


def render_json(report: Any) -> str:
    """Canonical JSON (sorted keys, NaN as null): identical reports give identical bytes for digests."""
    data = _prepare(report)
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def render_markdown_summary(report: Any, max_rows: int = 20) -> str:
    """A compact table for Dagster metadata, worst SLOs first so truncation hides only healthy ones."""
    if max_rows < 1:
        raise ReportError(f"max_rows: must be at least 1 (got {max_rows!r})")
    data = _prepare(report)
    ranked = sorted(data["slos"], key=_severity_key)
    rows = [_markdown_row(slo) for slo in ranked[:max_rows]]
    template = _markdown_env().get_template("budget_report.md.j2")
    return template.render(
        report=data,
        rows=rows,
        hidden=len(ranked) - len(rows),
        counts=_status_counts(data["slos"]),
        at=format_time(data.get("at")),
    )


def render_budget_files(report: Any) -> dict[str, tuple[str, str]]:
    """kind -> (file name, text) for the budget report; all rendered before anything is written, so an
    invalid report writes nothing."""
    return {
        "html": ("report.html", render_html(report)),
        "json": ("report.json", render_json(report)),
        "md": ("report.md", render_markdown_summary(report)),
    }


# --- formatting (also registered as template filters) -------------------------------------------------


def format_percent(ratio: float | None, decimals: int = 2) -> str:
    if ratio is None:
        return DASH
    return f"{ratio * 100:.{decimals}f} %"


def format_target(target: float | None) -> str:
    """Targets read as people write them: 0.999 -> 99.9 %, 0.99995 -> 99.995 %."""
    if target is None:
        return DASH
    text = f"{target * 100:.4f}".rstrip("0").rstrip(".")
    return f"{text} %"


def format_count(value: float | None) -> str:
    if value is None:
        return DASH
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"


def format_burn(value: float | None) -> str:
    if value is None:
        return DASH
    return f"{value:.2f}×"


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return DASH
    remaining = round(seconds)
    if remaining == 0:
        return "0 s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        amount, remaining = divmod(remaining, size)
        if amount:
            parts.append(f"{amount} {unit}")
    return " ".join(parts[:2])


def format_time(value: Any) -> str:
    """Every instant shown in UTC, so readers in different zones compare the same strings."""
    if value is None or value == "":
        return DASH
    try:
        if isinstance(value, int | float):
            moment = datetime.fromtimestamp(value, tz=UTC)
        else:
            moment = datetime.fromisoformat(str(value))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            moment = moment.astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        return str(value)
    pattern = "%Y-%m-%d %H:%M:%S UTC" if moment.second else "%Y-%m-%d %H:%M UTC"
    return moment.strftime(pattern)


def format_alert(alert: Mapping[str, Any]) -> str:
    threshold = alert.get("threshold")
    limit = DASH if threshold is None else f"{threshold:g}"
    windows = f"{alert.get('long_window', '?')}/{alert.get('short_window', '?')}"
    return f"{alert.get('severity', '?')} {windows} > {limit}"


# --- validation and view models ---------------------------------------------------------------------------


def _prepare(report: Any) -> dict[str, Any]:
    data = _plain(report, "report")
    if not isinstance(data, dict):
        raise ReportError(f"report: expected a mapping (got {type(report).__name__})")
    slos = data.get("slos")
    if not isinstance(slos, list):
        raise ReportError(f"report.slos: expected a list of SLO results (got {slos!r:.80})")
    for index, slo in enumerate(slos):
        _check_slo(slo, f"report.slos[{index}]")
    return data


_JSON_SCALARS = frozenset({str, int, bool, type(None)})


def _plain(value: Any, path: str) -> Any:
    """Dataclasses, numpy scalars and non-finite floats become plain JSON values."""
    kind = type(value)
    if kind is float:
        return value if math.isfinite(value) else None
    if kind in _JSON_SCALARS:
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, Mapping):
        return {str(key): _plain(item, f"{path}.{key}") for key, item in value.items()}
    if isinstance(value, list | tuple):
        # a chart's series holds thousands of plain numbers: only other items pay for a path
        return [
            (item if math.isfinite(item) else None)
            if type(item) is float
            else item
            if type(item) in _JSON_SCALARS
            else _plain(item, f"{path}[{i}]")
            for i, item in enumerate(value)
        ]
    if hasattr(value, "tolist") and not isinstance(value, str | bytes):
        return _plain(value.tolist(), path)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str | int | bool):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise ReportError(f"{path}: cannot be written as JSON (got {type(value).__name__} {value!r:.80})")


def _check_slo(slo: Any, path: str) -> None:
    if not isinstance(slo, dict):
        raise ReportError(f"{path}: expected a mapping (got {slo!r:.80})")
    name = slo.get("name")
    if not isinstance(name, str) or not name:
        raise ReportError(f"{path}.name: expected a non-empty string (got {name!r:.80})")
    for key in _NUMBER_FIELDS:
        _check_number(slo.get(key), f"{path}.{key}")
    for group, keys in (("error_budget", _BUDGET_FIELDS), ("burn_rates", BURN_WINDOWS)):
        values = slo.get(group, {})
        if not isinstance(values, dict):
            raise ReportError(f"{path}.{group}: expected a mapping (got {values!r:.80})")
        for key in keys:
            _check_number(values.get(key), f"{path}.{group}.{key}")
    for key in ("alerts", "exclusions"):
        items = slo.get(key, [])
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise ReportError(f"{path}.{key}: expected a list of mappings (got {items!r:.80})")
    series = slo.get("series", {})
    if not isinstance(series, dict):
        raise ReportError(f"{path}.series: expected a mapping (got {series!r:.80})")
    lengths = {key: len(series.get(key) or []) for key in ("t", "remaining_ratio")}
    if lengths["t"] != lengths["remaining_ratio"]:
        raise ReportError(
            f"{path}.series: t and remaining_ratio differ in length ({lengths['t']} vs "
            f"{lengths['remaining_ratio']})"
        )
    for i, stamp in enumerate(series.get("t") or []):
        if not isinstance(stamp, int | float) or isinstance(stamp, bool) or not math.isfinite(stamp):
            raise ReportError(f"{path}.series.t[{i}]: expected epoch seconds (got {stamp!r:.80})")
    for i, value in enumerate(series.get("remaining_ratio") or []):
        _check_number(value, f"{path}.series.remaining_ratio[{i}]")


def _check_number(value: Any, path: str) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise ReportError(f"{path}: expected a number or null (got {value!r:.80})")


def _status_class(status: Any) -> str:
    """Only known statuses become CSS classes; anything else is shown as text with a neutral colour."""
    return status if status in STATUSES else "unknown"


def _severity_key(slo: Mapping[str, Any]) -> tuple[int, float, str]:
    status = slo.get("status")
    rank = STATUSES.index(status) if status in STATUSES else len(STATUSES)
    remaining = slo.get("error_budget", {}).get("remaining_ratio")
    return rank, math.inf if remaining is None else remaining, str(slo.get("name"))


def _status_counts(slos: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    counts = [(s, STATUS_LABELS[s], sum(1 for slo in slos if slo.get("status") == s)) for s in STATUSES]
    return [entry for entry in counts if entry[2]]


def _epoch(text: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _chart(slo: dict[str, Any]) -> tuple[str, str]:
    """(heading, svg): bad events consumed against the allowance when the series carries them, else
    the remaining-budget burn-down (reports written before those series existed)."""
    series = slo.get("series") or {}
    name = f"{slo['name']} ({slo.get('objective') or DASH})"
    if series.get("consumed_bad") is not None and series.get("allowed_bad") is not None:
        bands = [
            {"start": start, "end": end, "name": e.get("name")}
            for e in slo.get("exclusions") or []
            if (start := _epoch(e.get("start"))) is not None and (end := _epoch(e.get("end"))) is not None
        ]
        title = f"Bad events consumed against the allowance of {name}, UTC"
        svg = consumption_svg(series, bands, slo.get("events") or [], CHART_WIDTH, CHART_HEIGHT + 40, title)
        return "Bad events consumed against the allowance", svg
    title = f"Remaining error budget of {name}, UTC"
    svg = burn_down_svg(
        series.get("t") or [], series.get("remaining_ratio") or [], CHART_WIDTH, CHART_HEIGHT, title=title
    )
    return "Error budget burn-down", svg


def _slo_view(index: int, slo: dict[str, Any]) -> dict[str, Any]:
    chart_title, svg = _chart(slo)
    alerts = slo.get("alerts") or []
    alert_windows = {alert.get(key) for alert in alerts for key in ("long_window", "short_window")}
    burns = slo.get("burn_rates") or {}
    budget = slo.get("error_budget") or {}
    remaining = budget.get("remaining_ratio")
    return {
        "slo": slo,
        "anchor": f"slo-{index + 1}",
        "status_class": _status_class(slo.get("status")),
        "status_label": STATUS_LABELS.get(str(slo.get("status")), str(slo.get("status") or DASH)),
        "budget": budget,
        "bar_width": 0.0 if remaining is None else max(0.0, min(1.0, remaining)) * 100,
        "burns": [
            {
                "window": window,
                "value": burns.get(window),
                "hot": burns.get(window) is not None and burns[window] > 1,
                "alerting": window in alert_windows,
            }
            for window in BURN_WINDOWS
        ],
        "alerts": alerts,
        "exclusions": slo.get("exclusions") or [],
        "digest": slo.get("digest") or {},
        "window": slo.get("window") or {},
        "svg": Markup(svg),  # built in svg.py / budget_chart.py from escaped parts only
        "chart_title": chart_title,
        "events": slo.get("events"),
    }


def _markdown_row(slo: dict[str, Any]) -> dict[str, str]:
    status = str(slo.get("status") or DASH)
    alerts = slo.get("alerts") or []
    return {
        "name": slo["name"],
        "objective": f"{slo.get('objective') or DASH} ≥ {format_target(slo.get('target'))}",
        "sli": _bare_percent(slo.get("sli"), 4),
        "remaining": _bare_percent((slo.get("error_budget") or {}).get("remaining_ratio"), 2),
        "status": f"{STATUS_ICONS.get(status, '')} {status}".strip(),
        "alerts": ", ".join(format_alert(alert) for alert in alerts) or DASH,
    }


def _bare_percent(ratio: float | None, decimals: int) -> str:
    """Percent without the sign, for table columns whose header already says %."""
    return DASH if ratio is None else f"{ratio * 100:.{decimals}f}"


# --- environments and file writing ------------------------------------------------------------------------

_FILTERS = {
    "pct": format_percent,
    "target": format_target,
    "count": format_count,
    "burn": format_burn,
    "duration": format_duration,
    "utc": format_time,
    "alert": format_alert,
}


@cache
def _html_env() -> Environment:
    env = Environment(
        loader=PackageLoader("slo_pipelines.reports", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(_FILTERS)
    return env


def markdown_cell(value: Any) -> str:
    """Markdown renderers pass raw HTML through, so cell text is entity-escaped and pipes are quoted."""
    text = "" if value is None else str(value)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("|", "\\|").replace("\r", " ").replace("\n", " ")


@cache
def _markdown_env() -> Environment:
    env = Environment(
        loader=PackageLoader("slo_pipelines.reports", "templates"),
        autoescape=False,
        finalize=markdown_cell,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(_FILTERS)
    return env
