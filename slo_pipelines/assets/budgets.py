"""`error_budgets` and `burn_rate_alerts`: the engine over the warehouse, one evaluation per day end
(budgets) and one per minute (alerts), for the whole partition range in one pass."""

import json

import dagster as dg
import numpy as np
import pandas as pd

from slo_pipelines.assets.evaluation import effective_catalog, warehouse_evaluator
from slo_pipelines.assets.groups import PIPELINE_GROUP
from slo_pipelines.assets.partitions import daily_asset, partition_bounds, windows
from slo_pipelines.engine.alerting.events import alert_events, join_stored_alerts
from slo_pipelines.engine.alerting.rules import LOOKBACKS, MAX_LOOKBACK_SECONDS
from slo_pipelines.engine.budgets.snapshots import snapshot_digests, snapshot_rows
from slo_pipelines.reports.markdown import markdown_frame
from slo_pipelines.resources.catalog_resource import CatalogResource
from slo_pipelines.resources.sliding_buckets import SlidingBuckets
from slo_pipelines.resources.warehouse import WarehouseResource

DAY = 86400


@daily_asset(
    group_name=PIPELINE_GROUP,
    tags={"domain": "budgets"},
    deps=["sli_clean"],
    kinds={"pandas"},
)
def error_budgets(
    context: dg.AssetExecutionContext, catalog: CatalogResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Every SLO objective evaluated at the end of each day in the range (budget snapshots)."""
    start, end = partition_bounds(context)
    cat = effective_catalog(catalog, warehouse)
    written = 0
    sliding = SlidingBuckets(warehouse)  # the windows' shared lookback is read once
    for window_start, window_end in windows(start, end):
        evaluator = warehouse_evaluator(cat, warehouse, window_start + DAY, window_end, DAY, sliding)
        snapshots = pd.concat(
            [
                snapshot_rows(slo, objective, series, snapshot_digests(evaluator, slo, series, objective))
                for slo, objective, series in evaluator.series(window_start + DAY, window_end, DAY)
            ],
            ignore_index=True,
        )
        written += warehouse.upsert_budget_snapshots(snapshots)
    latest = snapshots[snapshots["at"] == snapshots["at"].max()]
    preview = latest[["slo", "objective", "sli", "remaining_ratio", "status"]].copy()
    return dg.MaterializeResult(
        metadata={
            "snapshots": written,
            "slos": int(latest["slo"].nunique()),
            "breaching": int((latest["status"] == "breach").sum()),
            "min_remaining_ratio": float(np.nanmin(latest["remaining_ratio"].to_numpy(dtype=float)))
            if latest["remaining_ratio"].notna().any()
            else None,
            "preview": dg.MetadataValue.md(markdown_frame(preview, floatfmt=".5f")),
        }
    )


@daily_asset(
    group_name=PIPELINE_GROUP,
    tags={"domain": "budgets"},
    deps=["sli_clean"],
    kinds={"pandas"},
)
def burn_rate_alerts(
    context: dg.AssetExecutionContext, catalog: CatalogResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Multi-window multi-burn-rate alerts replayed at every minute of the range, stored as events."""
    start, end = partition_bounds(context)
    cat = effective_catalog(catalog, warehouse)
    frames = []
    sliding = SlidingBuckets(warehouse)  # the windows' shared lookback is read once
    for window_start, window_end in windows(start, end):
        evaluator = warehouse_evaluator(cat, warehouse, window_start, window_end, sliding=sliding)
        events = [
            alert_events(
                slo.name,
                objective.name,
                slo.time_window.duration.nominal_seconds(),
                series,
                slo.policy_alerts,
            )
            for slo, objective, series in evaluator.series(window_start, window_end)
        ]
        # windows run oldest first, so an alert firing across a window edge is joined to its stored start
        stored = warehouse.read_alert_events(start=window_start - 1, end=window_end + 1)
        window = join_stored_alerts(pd.concat(events, ignore_index=True), stored, window_start, window_end)
        warehouse.replace_alert_events(window, sorted(cat.slos), window_start, window_end)
        frames.append(window)
    frame = pd.concat(frames, ignore_index=True).drop_duplicates(
        subset=["slo", "objective", "severity", "long_window", "started_at"], keep="last"
    )
    counts = frame.groupby(["slo", "severity"]).size().rename("events").reset_index() if len(frame) else frame
    return dg.MaterializeResult(
        metadata={
            "alert_events": len(frame),
            "pages": int((frame["severity"] == "page").sum()) if len(frame) else 0,
            "tickets": int((frame["severity"] == "ticket").sum()) if len(frame) else 0,
            "by_slo": dg.MetadataValue.md(markdown_frame(counts) if len(counts) else "no alerts"),
            "lookbacks": json.dumps(list(LOOKBACKS)),
            "max_lookback_seconds": MAX_LOOKBACK_SECONDS,
        }
    )
