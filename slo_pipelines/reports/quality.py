"""The SLI data-quality report: every failing rule per day, with counts, gaps and the SLOs involved."""

import json
from typing import Any

from slo_pipelines.reports.render import _html_env, markdown_cell


def render_quality_html(report: dict[str, Any]) -> str:
    return _html_env().get_template("quality_report.html.j2").render(report=report)


def render_quality_markdown(report: dict[str, Any], max_rows: int = 20) -> str:
    failing = [
        (
            day["start"][:10],
            f["name"],
            f["unexpected_count"],
            ", ".join(s["slo"] for s in f["failing_slos"][:5]),
        )
        for day in report["days"]
        for f in day["findings"]
        if not f["success"]
    ]
    if not failing:
        return f"All collection audits passed for {len(report['days'])} day(s)."
    lines = ["| day | rule | SLOs failing | examples |", "|---|---|---:|---|"]
    lines += [f"| {d} | {markdown_cell(n)} | {c} | {markdown_cell(e)} |" for d, n, c, e in failing[:max_rows]]
    if len(failing) > max_rows:
        lines.append(f"\n{len(failing) - max_rows} more failing rule-days in report.json")
    return "\n".join(lines)


def render_quality_files(report: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {
        "html": ("quality.html", render_quality_html(report)),
        "json": ("quality.json", json.dumps(report, indent=2, sort_keys=True, default=str)),
        "md": ("quality.md", render_quality_markdown(report)),
    }
