"""`sli_clean`: apply exclusions to stored buckets and refresh hourly and daily rollups."""

import dagster as dg
import numpy as np

from slo_pipelines.assets.evaluation import effective_catalog
from slo_pipelines.assets.groups import PIPELINE_GROUP
from slo_pipelines.assets.partitions import daily_asset, partition_bounds, windows
from slo_pipelines.engine.budgets.rollups import excluded_mask, rollup
from slo_pipelines.resources.catalog_resource import CatalogResource
from slo_pipelines.resources.warehouse import WarehouseResource


@daily_asset(
    group_name=PIPELINE_GROUP,
    tags={"domain": "sli"},
    deps=["sli_buckets", "sli_quality_report", "probe_results"],  # probe buckets land in the same table
    kinds={"sql"},
)
def sli_clean(
    context: dg.AssetExecutionContext, catalog: CatalogResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Buckets with maintenance windows and approved exclusions applied, rolled up by hour and day."""
    start, end = partition_bounds(context)
    cat = effective_catalog(catalog, warehouse)
    counts = {"buckets": 0, "excluded_buckets": 0, "hourly_rollups": 0, "daily_rollups": 0}
    for window_start, window_end in windows(start, end):
        frame = warehouse.read_buckets(window_start, window_end)
        excluded = excluded_mask(cat, frame)
        hourly = rollup(frame, excluded, "hour")
        daily = rollup(frame, excluded, "day")
        warehouse.upsert_rollups("hour", hourly)
        warehouse.upsert_rollups("day", daily)
        counts["buckets"] += len(frame)
        counts["excluded_buckets"] += int(np.count_nonzero(excluded))
        counts["hourly_rollups"] += len(hourly)
        counts["daily_rollups"] += len(daily)
    return dg.MaterializeResult(metadata=dict(counts))
