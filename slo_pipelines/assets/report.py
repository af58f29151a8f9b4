"""`budget_report`: the fleet's budgets at the last evaluated day end, as HTML, JSON and Markdown."""

import dagster as dg

from slo_pipelines.assets.evaluation import effective_catalog, warehouse_evaluator
from slo_pipelines.assets.groups import PIPELINE_GROUP
from slo_pipelines.catalog.teams import slo_teams, team_names
from slo_pipelines.engine.archive.chain import ArchiveError
from slo_pipelines.engine.budgets.report_model import budget_report as build_report
from slo_pipelines.engine.budgets.report_model import report_for_slos, window_events
from slo_pipelines.engine.common.timeutil import format_instant
from slo_pipelines.engine.exclusions.runtime import catalog_review_periods, fold_events
from slo_pipelines.reports import render_markdown_summary
from slo_pipelines.resources.archive import ArchiveResource
from slo_pipelines.resources.catalog_resource import CatalogResource
from slo_pipelines.resources.incident_store import IncidentStore
from slo_pipelines.resources.report_store import ReportStoreResource
from slo_pipelines.resources.warehouse import WarehouseResource


@dg.asset(
    group_name=PIPELINE_GROUP,
    tags={"domain": "reports"},
    deps=["error_budgets", "burn_rate_alerts", "policy_decisions", "incident_impact"],
    kinds={"html"},
)
def budget_report(
    context: dg.AssetExecutionContext,
    catalog: CatalogResource,
    warehouse: WarehouseResource,
    reports: ReportStoreResource,
    archive: ArchiveResource,
) -> dg.MaterializeResult:
    """Latest budgets with charts of consumed bad events against the allowance, marking exclusions,
    incidents, alerts and policy decisions, and the exclusions that applied."""
    snapshots = warehouse.read_budget_snapshots()
    if snapshots.empty:
        raise dg.Failure("no budget snapshots yet: materialize error_budgets for at least one day first")
    at = int(snapshots["at"].max())
    cat = effective_catalog(catalog, warehouse)
    events = window_events(
        warehouse.read_alert_events(end=at),
        warehouse.read_policy_decisions(end=at),
        IncidentStore(warehouse).latest_impact(),
    )
    report = build_report(
        warehouse_evaluator(cat, warehouse, at, at), at, f"Error budgets at {format_instant(at)}", events
    )
    report["exclusion_register"] = [
        r.to_json()
        for r in fold_events(
            warehouse.read_exclusion_events(),
            reviews=warehouse.read_exclusion_reviews(),
            period_for=catalog_review_periods(cat),
        )
    ]
    try:
        report["archive_head"] = archive.archive().head()
    except ArchiveError as exc:  # a damaged archive must not stop the daily report; verify says why
        context.log.warning(f"archive head unavailable: {exc}")
    name = "budget-" + format_instant(at).replace(":", "")
    paths = reports.write(name, report)
    teams = slo_teams(cat)
    for team in team_names(cat):  # a team's bundle holds its own SLOs only, for its viewers
        reports.write(
            f"{name}/teams/{team}", report_for_slos(report, {s for s, (_, t) in teams.items() if t == team})
        )
    warehouse.append_audit(
        "budget_report",
        "report.generate",
        name,
        "latest day end",
        {"files": sorted(str(p) for p in paths.values())},
    )
    statuses = [s["status"] for s in report["slos"]]
    context.log.info(f"report written to {paths['html']}")
    return dg.MaterializeResult(
        metadata={
            "at": format_instant(at),
            "html": dg.MetadataValue.path(str(paths["html"])),
            "json": dg.MetadataValue.path(str(paths["json"])),
            "objectives": len(statuses),
            "breaching": statuses.count("breach"),
            "warning": statuses.count("warning"),
            "preview": dg.MetadataValue.md(render_markdown_summary(report)),
        }
    )
