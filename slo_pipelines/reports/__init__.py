"""Budget reports: HTML for people, JSON for machines and the archive, Markdown for the Dagster UI."""

from slo_pipelines.reports.render import (
    ReportError,
    render_budget_files,
    render_html,
    render_json,
    render_markdown_summary,
)
from slo_pipelines.reports.svg import burn_down_svg

__all__ = [
    "ReportError",
    "burn_down_svg",
    "render_budget_files",
    "render_html",
    "render_json",
    "render_markdown_summary",
]
