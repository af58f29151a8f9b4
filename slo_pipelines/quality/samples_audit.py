"""The `slo audit` findings for a samples file: the same row rules and collection audits as the pipeline."""

from typing import Any

import numpy as np
import pandas as pd

from slo_pipelines.catalog import Catalog
from slo_pipelines.engine.sli.samples import ValidatedSamples
from slo_pipelines.quality.bucket_audit import audit_buckets
from slo_pipelines.quality.collection import CollectionThresholds, audit_collection, collection_summary
from slo_pipelines.quality.report import quality_report

DAY = 86400
MAX_REJECTED_SHOWN = 20


def audit_samples(
    catalog: Catalog,
    staged: pd.DataFrame,
    now: int,
    checked: ValidatedSamples,
    thresholds: CollectionThresholds | None = None,
) -> dict[str, Any]:
    """Row verdicts over every staged row, then collection verdicts per UTC day the valid rows cover.

    `checked` is the same file through `validate_samples`, the one definition of a valid row, so the
    audit rejects exactly the rows `slo evaluate` refuses (plus any a GX rule fails, which it never
    should on its own). Rows are matched by `row_number`.
    """
    unknown = (staged["slo"].notna() & ~staged["slo"].isin(list(catalog.slos_by_data_key()))).to_numpy(
        dtype=bool
    )
    rows = audit_buckets(staged[~unknown])
    invalid = staged["row_number"].isin(checked.rejected["row_number"]).to_numpy(dtype=bool)
    by_rule = staged.loc[invalid & ~unknown].drop(index=rows.failing_rows.index, errors="ignore")
    reasons = checked.rejected.set_index("row_number")
    by_rule_reasons = [
        f"{reasons.at[r, 'field']!s}: {reasons.at[r, 'reason']!s}" for r in by_rule["row_number"]
    ]
    parts: list[pd.DataFrame] = [
        staged[unknown].assign(reason="unknown SLO (not in the catalog)"),
        rows.failing_rows,
        by_rule.assign(reason=by_rule_reasons),
    ]
    rejected = pd.concat(parts).sort_index()
    valid = staged.drop(index=rejected.index)
    days = []
    if not valid.empty:
        starts = valid["start"].astype("int64")
        first, last = int(starts.min()) // DAY * DAY, int(starts.max()) // DAY * DAY
        previous: dict[str, float] | None = None
        for day in range(first, last + DAY, DAY):
            today = valid[(starts >= day) & (starts < day + DAY)]
            summary = collection_summary(today, catalog.slos_by_data_key(), day, day + DAY, now, previous)
            days.append(
                (day, day + DAY, audit_collection(summary, thresholds or CollectionThresholds()), summary)
            )
            previous = {str(s): float(v) for s, v in zip(summary["slo"], summary["volume"], strict=True)}
    collection = quality_report(days)
    shown = rejected.head(MAX_REJECTED_SHOWN).replace({np.nan: None})
    return {
        "success": rows.success and not unknown.any() and not invalid.any() and collection["success"],
        "rows": {
            "total": len(staged),
            "rejected": len(rejected),
            "expectations": [
                {
                    "name": o.name,
                    "description": o.description,
                    "success": o.success,
                    "unexpected_count": o.unexpected_count,
                    "examples": o.examples,
                }
                for o in rows.expectations
            ]
            + [
                {
                    "name": "slo_in_catalog",
                    "description": "every row names an SLO of the catalog",
                    "success": not unknown.any(),
                    "unexpected_count": int(unknown.sum()),
                    "examples": [],
                },
                {
                    "name": "valid_sample_row",
                    "description": "every row passes the rules slo evaluate applies (validate_samples)",
                    "success": not invalid.any(),
                    "unexpected_count": int(invalid.sum()),
                    "examples": [],
                },
            ],
            "rejected_examples": [
                {str(k): (v.item() if hasattr(v, "item") else v) for k, v in r.items()}
                for r in shown.to_dict(orient="records")
            ],
        },
        "collection": collection,
    }
