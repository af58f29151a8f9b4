"""`dependency_outage_proposals`: exclusions proposed when an upstream breaches while we burn.

Nothing is excluded automatically: each proposal, with its per-minute evidence, waits for a person to
run `slo exclusions approve ID --approver NAME`, which appends an ordinary `add` to the exclusion log.
"""

import dagster as dg

from slo_pipelines.assets.evaluation import effective_catalog
from slo_pipelines.assets.groups import PIPELINE_GROUP
from slo_pipelines.assets.partitions import daily_asset, partition_bounds, windows
from slo_pipelines.engine.budgets.buckets import group_buckets
from slo_pipelines.engine.exclusions.dependency_outages import outage_slos, propose_outages
from slo_pipelines.reports.markdown import markdown_text
from slo_pipelines.resources.catalog_resource import CatalogResource
from slo_pipelines.resources.warehouse import WarehouseResource


@daily_asset(group_name=PIPELINE_GROUP, tags={"domain": "budgets"}, deps=["sli_clean"], kinds={"pandas"})
def dependency_outage_proposals(
    context: dg.AssetExecutionContext, catalog: CatalogResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Proposed `dependency_outage` exclusions with the upstream's breaching minutes as evidence."""
    start, end = partition_bounds(context)
    cat = effective_catalog(catalog, warehouse)
    proposals, new = [], 0
    involved = sorted(outage_slos(cat))  # without Dependency documents there is nothing to read
    for window_start, window_end in windows(start, end) if involved else []:
        buckets = group_buckets(warehouse.read_buckets(window_start, window_end, involved), cat.slos)
        found = [p.to_json() for p in propose_outages(cat, buckets, window_start, window_end)]
        new += warehouse.add_outage_proposals(found)
        proposals += found
    lines = [
        f"- {markdown_text(p['id'])} {p['start']} → {p['end']}: {markdown_text(p['reason'])}"
        for p in proposals[:20]
    ]
    return dg.MaterializeResult(
        metadata={
            "proposals": len(proposals),
            "new": new,
            "awaiting_approval": dg.MetadataValue.md("\n".join(lines) or "none"),
        }
    )
