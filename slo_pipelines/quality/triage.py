"""Split a day range's staged rows into the clean buckets to store and the rows to quarantine.

One place decides every row's fate in the pipeline: rows no day can own (unreadable files and
timestamps), rows naming an SLO the catalog does not know, and rows failing an expectation of the
bucket audit. The verdicts are returned in the warehouse's `audit_results` shape as well.
"""

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import pandas as pd

from slo_pipelines.quality.bucket_audit import ExpectationOutcome, audit_buckets
from slo_pipelines.quality.report import audit_rows_for_warehouse

KNOWN_SLO_CHECK = "slo_in_catalog"
KNOWN_SLO_DESCRIPTION = "every row names an SLO of the catalog"


@dataclass(frozen=True)
class Triage:
    clean: pd.DataFrame
    rejected: pd.DataFrame  # with a `reason` column
    outcomes: list[ExpectationOutcome]  # the bucket audit's expectations plus `slo_in_catalog`
    verdicts: pd.DataFrame  # audit_results rows (scope "rows")


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {str(k): v for k, v in r.items()}
        for r in frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    ]


def triage_rows(
    raw: pd.DataFrame, unplaced: pd.DataFrame, known_slos: Collection[str], start: int, end: int
) -> Triage:
    unknown = (raw["slo"].notna() & ~raw["slo"].isin(list(known_slos))).to_numpy(dtype=bool)
    strangers = raw[unknown].assign(
        reason="unknown SLO (not in the catalog): " + raw["slo"][unknown].astype(str)
    )
    audit = audit_buckets(raw[~unknown])
    parts = [p for p in (unplaced, strangers, audit.failing_rows) if not p.empty]
    rejected = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["source", "reason"])
    known = ExpectationOutcome(
        name=KNOWN_SLO_CHECK,
        description=KNOWN_SLO_DESCRIPTION,
        success=not unknown.any(),
        unexpected_count=int(unknown.sum()),
        examples=_records(raw[unknown].head(5)),
    )
    outcomes = [*audit.expectations, known]
    verdicts = audit_rows_for_warehouse(start, end, outcomes, [])
    return Triage(raw[~unknown].drop(index=audit.failing_rows.index), rejected, outcomes, verdicts)
