"""The SLI data-quality report: every failing rule per day, with counts, gaps and the SLOs involved."""

import json
from pathlib import Path
from typing import Any

from slo_pipelines.reports.render import _fsync_directory, _html_env, _write_atomically


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
    lines += [f"| {d} | {n} | {c} | {e} |" for d, n, c, e in failing[:max_rows]]
    if len(failing) > max_rows:
        lines.append(f"\n{len(failing) - max_rows} more failing rule-days in report.json")
    return "\n".join(lines)


def write_quality_report(report: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    rendered = {
        "html": ("quality.html", render_quality_html(report)),
        "json": ("quality.json", json.dumps(report, indent=2, sort_keys=True, default=str)),
        "md": ("quality.md", render_quality_markdown(report)),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {kind: _write_atomically(out_dir / name, text) for kind, (name, text) in rendered.items()}
    _fsync_directory(out_dir)
    return written
