"""Shape row and collection audit outcomes into one data-quality report (and warehouse rows)."""

import json
from typing import Any

import pandas as pd

from slo_pipelines.engine.timeutil import format_instant
from slo_pipelines.quality.bucket_audit import AuditResult
from slo_pipelines.quality.collection import CollectionFinding


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def audit_rows_for_warehouse(
    start: int, end: int, rows: AuditResult | None, collection: list[CollectionFinding]
) -> pd.DataFrame:
    records = []
    for o in rows.expectations if rows else []:
        records.append(
            {
                "scope": "rows",
                "check_name": o.name,
                "success": o.success,
                "unexpected_count": o.unexpected_count,
                "details": _plain({"description": o.description, "examples": o.examples}),
            }
        )
    for f in collection:
        records.append(
            {
                "scope": "collection",
                "check_name": f.name,
                "success": f.success,
                "unexpected_count": f.unexpected_count,
                "details": _plain({"description": f.description, "failing_slos": f.failing_slos}),
            }
        )
    frame = pd.DataFrame(records)
    frame.insert(0, "partition_end", end)
    frame.insert(0, "partition_start", start)
    return frame


def quality_report(days: list[tuple[int, int, list[CollectionFinding], pd.DataFrame]]) -> dict[str, Any]:
    """JSON-ready report: per day, every collection rule with its verdict and the per-SLO summary."""
    out = []
    for start, end, findings, summary in days:
        out.append(
            {
                "start": format_instant(start),
                "end": format_instant(end),
                "success": all(f.success for f in findings),
                "findings": [_plain(vars(f)) for f in findings],
                "slos": _plain(summary.to_dict(orient="records")),
            }
        )
    failing = [(d["start"], f["name"]) for d in out for f in d["findings"] if not f["success"]]
    return {"success": not failing, "failing": failing, "days": out}
