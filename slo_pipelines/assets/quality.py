"""`sli_quality_report`: collection audits (completeness and gaps, staleness, volume drops) per day.

Its checks are blocking and `sli_clean` depends on it, so a day with partial data never flows into
budgets as if it were complete; thresholds are run config, so an operator can accept a known gap.
"""

from collections.abc import Iterator

import dagster as dg
import pandas as pd

from slo_pipelines.assets.groups import PIPELINE_GROUP
from slo_pipelines.assets.partitions import daily_asset, partition_bounds, windows
from slo_pipelines.engine.common.timeutil import format_instant
from slo_pipelines.quality.collection import CollectionThresholds, audit_collection_days, collection_summary
from slo_pipelines.quality.report import audit_rows_for_warehouse, quality_report, stored_series_findings
from slo_pipelines.reports.quality import render_quality_markdown
from slo_pipelines.resources.catalog_resource import CatalogResource
from slo_pipelines.resources.report_store import ReportStoreResource
from slo_pipelines.resources.warehouse import WarehouseResource

DAY = 86400
ROWS_CHECK = "rows_valid"
COLLECTION_RULES = {
    "completeness": "enough of each SLO's expected buckets are present (the gap list names what is missing)",
    "staleness": "each SLO's newest bucket is recent",
    "volume_drop": "no SLO's traffic falls sharply day over day",
}


class CollectionAuditConfig(dg.Config):
    min_completeness: float = 0.99
    max_staleness_seconds: int = 900
    max_volume_drop: float = 0.5


@daily_asset(
    group_name=PIPELINE_GROUP,
    tags={"domain": "sli"},
    deps=["sli_buckets"],
    kinds={"great_expectations", "html"},
    check_specs=[
        dg.AssetCheckSpec(name, asset="sli_quality_report", description=text, blocking=True)
        for name, text in {
            ROWS_CHECK: "every row expectation of sli_buckets held for these days (see its checks)",
            **COLLECTION_RULES,
        }.items()
    ],
)
def sli_quality_report(
    context: dg.AssetExecutionContext,
    config: CollectionAuditConfig,
    catalog: CatalogResource,
    warehouse: WarehouseResource,
    reports: ReportStoreResource,
) -> Iterator[dg.AssetCheckResult | dg.MaterializeResult]:
    """Per-day collection audit of the stored buckets, kept as history and rendered as HTML/JSON."""
    start, end = partition_bounds(context)
    cat = catalog.load()
    thresholds = CollectionThresholds(
        config.min_completeness, config.max_staleness_seconds, config.max_volume_drop
    )
    days = []
    earlier = warehouse.read_buckets(start - DAY, start).groupby("slo")["total"].sum()
    previous = {str(k): float(v) for k, v in earlier.items()}
    now = int(pd.Timestamp.now(tz="UTC").timestamp())
    for window_start, window_end in windows(start, end):
        frame = warehouse.read_buckets(window_start, window_end)  # one window of days in memory
        # once, before this window's writes: a day's stored series verdicts are rewritten only by that
        # day's own write below, so every day still sees what sli_buckets stored for it
        stored = warehouse.read_audit_results(window_start, window_end)
        window_days = list(range(window_start, window_end, DAY))
        summaries = []
        for day in window_days:
            today = frame[(frame["start"] >= day) & (frame["start"] < day + DAY)]
            summary = collection_summary(today, cat.slos_by_data_key(), day, day + DAY, now, previous or None)
            summaries.append(summary)
            previous = {str(s): float(v) for s, v in zip(summary["slo"], summary["volume"], strict=True)}
        rows = []
        # one GX validation for the window's days, each day still judged on its own rows
        for day, summary, audited in zip(
            window_days, summaries, audit_collection_days(summaries, thresholds), strict=True
        ):
            findings = audited + stored_series_findings(stored, day)
            days.append((day, day + DAY, findings, summary))
            rows.append(audit_rows_for_warehouse(day, day + DAY, [], findings))
        warehouse.upsert_audit_results(pd.concat(rows, ignore_index=True))
    verdicts = warehouse.read_audit_results(start, end)
    row_verdicts = verdicts[verdicts["scope"] == "rows"]
    report = quality_report(days, row_verdicts)
    failed_rows = row_verdicts[~row_verdicts["success"]]
    yield dg.AssetCheckResult(
        check_name=ROWS_CHECK,
        passed=failed_rows.empty,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "failing_expectations": sorted(set(failed_rows["check_name"])),
            "unexpected_rows": int(failed_rows["unexpected_count"].sum()),
        },
    )
    paths = reports.write_quality(f"quality-{format_instant(start)[:10]}-{format_instant(end)[:10]}", report)
    for rule in COLLECTION_RULES:
        failing_days = [(d, f) for d, _, fs, _ in days for f in fs if f.name == rule and not f.success]
        yield dg.AssetCheckResult(
            check_name=rule,
            passed=not failing_days,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "failing_days": len(failing_days),
                "failing_slos": sorted({s["slo"] for _, f in failing_days for s in f.failing_slos}),
            },
        )
    yield dg.MaterializeResult(
        metadata={
            "days": len(days),
            "failing_rule_days": len(report["failing"]),
            "html": dg.MetadataValue.path(str(paths["html"])),
            "preview": dg.MetadataValue.md(render_quality_markdown(report)),
        }
    )
