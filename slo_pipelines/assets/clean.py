"""`sli_clean`: apply exclusions to stored buckets and refresh hourly and daily rollups."""

import dagster as dg
import numpy as np

from slo_pipelines.assets.evaluation import effective_catalog
from slo_pipelines.assets.groups import PIPELINE_GROUP
from slo_pipelines.assets.partitions import daily_asset, partition_bounds
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
    frame = warehouse.read_buckets(start, end)
    excluded = excluded_mask(cat, frame)
    hourly = rollup(frame, excluded, "hour")
    daily = rollup(frame, excluded, "day")
    warehouse.upsert_rollups("hour", hourly)
    warehouse.upsert_rollups("day", daily)
    return dg.MaterializeResult(
        metadata={
            "buckets": len(frame),
            "excluded_buckets": int(np.count_nonzero(excluded)),
            "hourly_rollups": len(hourly),
            "daily_rollups": len(daily),
        }
    )
