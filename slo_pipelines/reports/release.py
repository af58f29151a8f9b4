"""Markdown for the change advisory board: the `slo cab assess` JSON rendered as one page."""

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

LABELS = {"approve": "approve", "approve_with_conditions": "approve with conditions", "defer": "defer"}


def _cell(value: Any) -> str:
    """Markdown passes raw HTML through: cell text is entity-escaped, pipes quoted, one line."""
    text = "" if value is None else str(value)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("|", "\\|").replace("\r", " ").replace("\n", " ")


@cache
def _env() -> Environment:
    return Environment(
        loader=PackageLoader("slo_pipelines.reports", "templates"),
        autoescape=False,  # Markdown, not HTML: `_cell` escapes every value instead
        finalize=_cell,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _pct(x: float | None) -> str:
    return "no data" if x is None else f"{x:.1%}"


def _burn(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}"


def render_cab_markdown(assessment: dict[str, Any]) -> str:
    """`assessment`: the JSON of `slo cab assess` (`Assessment.to_json`)."""
    slos = [
        {
            **o,
            "remaining": _pct(o["remaining_ratio"]),
            "burn_1h": _burn(o["burn_rates"].get("1h")),
            "burn_1d": _burn(o["burn_rates"].get("1d")),
            "in_force": ", ".join(o["actions_in_force"] + [f"page: {a}" for a in o["page_alerts"]]) or "—",
        }
        for o in assessment["slos"]
    ]
    gates = [
        {
            "service": g["service"],
            "decision": g["decision"],
            "rows": g["reasons"] + [{**r, "rule": f"{r['rule']} (waived)"} for r in g["waived"]],
        }
        for g in assessment["gates"]
    ]
    return (
        _env()
        .get_template("cab_assessment.md.j2")
        .render(
            change=assessment["change"],
            at=assessment["at"],
            recommendation_label=LABELS.get(assessment["recommendation"], assessment["recommendation"]),
            conditions=assessment["conditions"],
            slos=slos,
            gates=gates,
            maintenance=assessment["maintenance_windows"],
            past_incidents=assessment["past_incidents"],
        )
    )
