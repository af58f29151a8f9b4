"""`incident_impact`: impact of every incident touching the partition range, stored per incident version.

Incidents come from the warehouse's `incident_versions` (polling and webhooks; the latest version of
each) and from the catalog's Incident documents, which are recorded there first. Incidents that
overlap one another are computed together so their attribution is complete.
"""

import time

import dagster as dg
import pandas as pd

from slo_pipelines.assets.evaluation import effective_catalog
from slo_pipelines.assets.groups import PIPELINE_GROUP
from slo_pipelines.assets.partitions import daily_asset, partition_bounds
from slo_pipelines.catalog.incidents import catalog_incidents, severity_tiers
from slo_pipelines.engine.alerting.rules import MAX_LOOKBACK_SECONDS
from slo_pipelines.engine.incidents.impact import incident_impacts
from slo_pipelines.engine.incidents.overlap import overlapping_closure, reading_span
from slo_pipelines.engine.incidents.postmortem import postmortem_evidence
from slo_pipelines.engine.incidents.sources import latest_versions
from slo_pipelines.reports.postmortem import render_postmortem
from slo_pipelines.resources.catalog_resource import CatalogResource
from slo_pipelines.resources.incident_store import IncidentStore, impact_rows
from slo_pipelines.resources.report_store import ReportStoreResource
from slo_pipelines.resources.warehouse import WarehouseResource


@daily_asset(
    group_name=PIPELINE_GROUP,
    tags={"domain": "incidents"},
    deps=["error_budgets", "burn_rate_alerts"],
    kinds={"sql"},
)
def incident_impact(
    context: dg.AssetExecutionContext,
    catalog: CatalogResource,
    warehouse: WarehouseResource,
    reports: ReportStoreResource,
) -> dg.MaterializeResult:
    """Per incident version and affected SLO objective: bad/total, budget consumed, peak burn, attribution;
    plus each incident's postmortem evidence (HTML and Markdown) under the report directory."""
    start, end = partition_bounds(context)
    now = int(time.time())
    cat = effective_catalog(catalog, warehouse)
    store = IncidentStore(warehouse)
    store.record_versions(catalog_incidents(cat))
    incidents = overlapping_closure(latest_versions(store.latest()), start, end, until=now)
    if not incidents:
        return dg.MaterializeResult(metadata={"incidents": 0, "rows": 0})
    at = min(now, max(i.end if i.end is not None else now for i in incidents))
    first, last = reading_span(cat, incidents, at, MAX_LOOKBACK_SECONDS)
    buckets = warehouse.read_buckets(first, last)
    impacts = incident_impacts(cat, buckets, incidents, at, severity_tiers(cat))
    rows = impact_rows(impacts)
    store.upsert_impact(rows)
    for impact in impacts:
        rendered = render_postmortem(postmortem_evidence(cat, buckets, impacts, impact.incident.name))
        reports.write_files(
            f"incident-{impact.incident.name}",
            {kind: (f"postmortem.{kind}", text) for kind, text in rendered.items()},
        )
    table = pd.DataFrame(
        [
            {
                "incident": i.incident.name,
                "severity": i.incident.severity,
                "expected": i.expected_severity,
                "max_budget_consumed": i.budget_consumed_max,
            }
            for i in impacts
        ]
    )
    return dg.MaterializeResult(
        metadata={
            "incidents": len(impacts),
            "rows": len(rows),
            "severity_mismatches": sum(1 for i in impacts if i.severity_mismatch),
            "preview": dg.MetadataValue.md(table.to_markdown(index=False, floatfmt=".4f")),
        }
    )
