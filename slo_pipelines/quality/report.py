"""Shape row and collection audit outcomes into one data-quality report (and warehouse rows)."""

import json
from collections.abc import Sequence
from typing import Any

import pandas as pd

from slo_pipelines.engine.common.timeutil import format_instant
from slo_pipelines.quality.bucket_audit import ExpectationOutcome
from slo_pipelines.quality.collection import CollectionFinding


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def audit_rows_for_warehouse(
    start: int, end: int, rows: Sequence[ExpectationOutcome], collection: Sequence[CollectionFinding]
) -> pd.DataFrame:
    records = []
    for o in rows:
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


def quality_report(
    days: list[tuple[int, int, list[CollectionFinding], pd.DataFrame]], rows: pd.DataFrame | None = None
) -> dict[str, Any]:
    """JSON-ready report: the row expectations that failed (counts, example rows), then per day every
    collection rule with its verdict and the per-SLO summary."""
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
    row_findings = []
    for r in (rows if rows is not None else pd.DataFrame()).to_dict(orient="records"):
        details = r.get("details") or {}
        row_findings.append(
            {
                "start": format_instant(int(r["partition_start"])),
                "end": format_instant(int(r["partition_end"])),
                "name": r["check_name"],
                "description": details.get("description", ""),
                "success": bool(r["success"]),
                "unexpected_count": int(r["unexpected_count"]),
                "examples": _plain(details.get("examples", [])),
            }
        )
    failing += [(f["start"], f["name"]) for f in row_findings if not f["success"]]
    return {"success": not failing, "failing": failing, "rows": row_findings, "days": out}


def stored_series_findings(verdicts: pd.DataFrame, day: int) -> list[CollectionFinding]:
    """Series-consistency verdicts that `sli_buckets` stored for `day`, back in finding form."""
    from slo_pipelines.quality.series_consistency import RULE_NAMES

    rows = verdicts[verdicts["check_name"].isin(RULE_NAMES) & (verdicts["partition_start"] == day)]
    out = []
    for r in rows.to_dict(orient="records"):
        details = r.get("details") or {}
        out.append(
            CollectionFinding(
                str(r["check_name"]),
                str(details.get("description", "")),
                bool(r["success"]),
                int(r["unexpected_count"]),
                list(details.get("failing_slos", [])),
            )
        )
    return out
