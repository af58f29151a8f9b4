"""Plain-text rows of evaluation results, shared by `slo evaluate --format table|csv` and the demo summary."""

import csv
import io
from collections.abc import Sequence
from typing import Any

RESULT_HEADERS = [
    "SLO",
    "OBJECTIVE",
    "METHOD",
    "TARGET",
    "SLI",
    "BUDGET LEFT",
    "COVERAGE",
    "STATUS",
    "ALERTS",
]


def percent(x: float | None, digits: int = 4) -> str:
    """A ratio as a percentage rounded for display only (the JSON keeps the exact float)."""
    return "—" if x is None else f"{x * 100:.{digits}f}%"


def _alert_text(a: dict[str, Any]) -> str:
    """`page:1h/5m` for a default pair; `high:30m(fast-burn)` for an AlertPolicy condition."""
    if a.get("condition") is not None:
        return f"{a['severity']}:{a['lookback']}({a['condition']})"
    return f"{a['severity']}:{a['long_window']}/{a['short_window']}"


def result_rows(slos: list[dict[str, Any]]) -> list[list[str]]:
    """One row per SLO objective of `slo evaluate`'s JSON entries, in RESULT_HEADERS order."""
    rows = []
    for r in slos:
        alerts = ",".join(_alert_text(a) for a in r["alerts"]) or "-"
        rows.append(
            [
                r["name"],
                r["objective"],
                r["budgeting_method"],
                percent(r["target"], 3),
                percent(r["sli"]),
                percent(r["error_budget"]["remaining_ratio"], 1),
                percent(r["coverage"], 1),
                r["status"],
                alerts,
            ]
        )
    return rows


def render_table(rows: Sequence[Sequence[Any]], headers: Sequence[str], fmt: str = "table") -> str:
    """Rows as an aligned text table (`table`) or as CSV with a header line (`csv`)."""
    cells = [["" if c is None else str(c) for c in r] for r in rows]
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(headers)
        writer.writerows(cells)
        return buffer.getvalue().rstrip("\n")
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(out)
