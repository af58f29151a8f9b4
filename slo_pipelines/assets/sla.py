"""`sla_periods` and `compliance_reports`: contract-period statements and their reports.

Partitions are contract periods by label: one per calendar month (`2026-10`), UTC-independent names
that each contract reads in its own zone. A month that closes a quarter (`2026-12`) also closes that
quarter (`2026-Q4`) for the quarterly contracts. A run reports the contracts whose period has ended
(in their zone) by the time it runs, so the schedule of an early zone never reports a later zone's
open month; the later zone's schedule recomputes the label with every contract (closed periods are
deterministic, so earlier statements come out identical).
"""

import os
import time
from typing import Any

import dagster as dg

from slo_pipelines.assets.evaluation import effective_catalog
from slo_pipelines.assets.groups import PIPELINE_GROUP
from slo_pipelines.assets.partitions import PARTITIONS_START
from slo_pipelines.engine.common.timeutil import format_instant
from slo_pipelines.engine.sla.periods import parse_period
from slo_pipelines.engine.sla.report_model import closing_labels, history_span, period_report
from slo_pipelines.reports.sla import render_compliance_markdown
from slo_pipelines.resources.catalog_resource import CatalogResource
from slo_pipelines.resources.report_store import ReportStoreResource
from slo_pipelines.resources.warehouse import WarehouseResource

contract_months = dg.MonthlyPartitionsDefinition(
    start_date=os.environ.get("SLO_CONTRACT_PERIODS_START", PARTITIONS_START[:7]),
    fmt="%Y-%m",
    timezone="UTC",
    end_offset=1,  # a zone east of UTC closes its month before UTC does
)


@dg.asset(
    partitions_def=contract_months,
    backfill_policy=dg.BackfillPolicy.multi_run(1),
    group_name=PIPELINE_GROUP,
    tags={"domain": "sla"},
    deps=["error_budgets", "incident_impact"],
    kinds={"pandas"},
)
def sla_periods(
    context: dg.AssetExecutionContext, catalog: CatalogResource, warehouse: WarehouseResource
) -> dg.Output[dict[str, Any]]:
    """Each contract's statement for the periods this month closes: eligible, excluded and down minutes,
    attainment, credit tier and amount, the exclusions applied, and the trend over earlier periods."""
    month = parse_period(context.partition_key)
    now = int(time.time())
    cat = effective_catalog(catalog, warehouse)
    reports: dict[str, Any] = {}
    for label in closing_labels(month):
        span = history_span(cat, [label], closed_by=now)
        if span is None:
            continue
        frame = warehouse.read_buckets(span[0], span[1])
        reports[str(label)] = period_report(
            cat, frame, label, f"SLA compliance {label}", format_instant(now), closed_by=now
        )
    statements = [c for r in reports.values() for c in r["contracts"]]
    return dg.Output(
        reports,
        metadata={
            "periods": ", ".join(reports) or "none closed",
            "contracts": len(statements),
            "met": sum(1 for c in statements if c["met"]),
            "missed": sum(1 for c in statements if not c["met"]),
            "preview": dg.MetadataValue.md(
                "\n\n".join(render_compliance_markdown(r) for r in reports.values()) or "no closed period"
            ),
        },
    )


@dg.asset(
    partitions_def=contract_months,
    backfill_policy=dg.BackfillPolicy.multi_run(1),
    group_name=PIPELINE_GROUP,
    tags={"domain": "sla"},
    kinds={"html"},
)
def compliance_reports(
    context: dg.AssetExecutionContext, sla_periods: dict[str, Any], reports: ReportStoreResource
) -> dg.MaterializeResult:
    """Per period: an HTML statement, JSON and CSV per contract, and the executive summary."""
    written = {
        label: reports.write_compliance(f"sla-{label}", report) for label, report in sla_periods.items()
    }
    for label, paths in written.items():
        context.log.info(f"{label}: {paths['html']}")
    owed = [o for r in sla_periods.values() for o in r["summary"]["credits_owed"]]
    return dg.MaterializeResult(
        metadata={
            "periods": ", ".join(written) or "none closed",
            "files": sum(len(paths) for paths in written.values()),
            "credits_owed": ", ".join(f"{o['amount']} {o['currency'] or ''}".strip() for o in owed) or "none",
            **{f"summary {label}": dg.MetadataValue.path(str(p["html"])) for label, p in written.items()},
        }
    )
