"""Markdown for Dagster metadata, escaped like the reports': the UI renders raw HTML inside Markdown,
so every value that came from an input file (SLO names in a samples file, reasons, probe names...) is
entity-escaped and its pipes quoted before it reaches a table or a list."""

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from slo_pipelines.reports.render import markdown_cell


def markdown_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """A GitHub-style table of `rows` (dicts) with every header and cell escaped; "" when empty."""
    if not rows:
        return ""
    cols = list(columns or rows[0])
    lines = ["| " + " | ".join(markdown_cell(c) for c in cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(markdown_cell(r.get(c, "")) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def markdown_frame(frame: pd.DataFrame, index: bool = False, floatfmt: str = "g") -> str:
    """`DataFrame.to_markdown` with every text cell, header and index label escaped."""
    escaped = frame.copy()
    for column in escaped.columns:
        if escaped[column].dtype == object or isinstance(escaped[column].dtype, pd.StringDtype):
            escaped[column] = escaped[column].map(markdown_cell)
    escaped.columns = [markdown_cell(c) for c in escaped.columns]
    if index:
        escaped.index = [markdown_cell(i) for i in escaped.index]
        escaped.index.name = markdown_cell(frame.index.name) if frame.index.name is not None else None
    return str(escaped.to_markdown(index=index, floatfmt=floatfmt))


def markdown_text(value: Any) -> str:
    """One escaped inline value (for list items and sentences)."""
    return markdown_cell(value)
