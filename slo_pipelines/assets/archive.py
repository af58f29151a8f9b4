"""`compliance_archive`: every closed period's reports and evidence, written once into the
tamper-evident archive (DESIGN.md §10), with the chain head in the audit log and in the reports."""

import dataclasses
import hashlib
import io

import dagster as dg

from slo_pipelines.assets.evaluation import effective_catalog, warehouse_evaluator
from slo_pipelines.assets.groups import PIPELINE_GROUP
from slo_pipelines.catalog.teams import slo_teams
from slo_pipelines.engine.archive.evidence import digests_evidence, exclusions_evidence, to_bytes
from slo_pipelines.engine.archive.periods import closed_months, month_bounds, period_records
from slo_pipelines.engine.budgets.report_model import budget_report as build_report
from slo_pipelines.engine.budgets.snapshots import history_start
from slo_pipelines.engine.common.timeutil import format_instant
from slo_pipelines.engine.exclusions.runtime import catalog_review_periods, fold_events
from slo_pipelines.resources.archive import Archive, ArchiveResource
from slo_pipelines.resources.catalog_resource import CatalogResource
from slo_pipelines.resources.incident_store import IncidentStore, incident_key
from slo_pipelines.resources.report_store import ReportStoreResource
from slo_pipelines.resources.sliding_buckets import SlidingBuckets
from slo_pipelines.resources.warehouse import WarehouseResource

ACTOR = "compliance_archive"


@dg.asset(group_name=PIPELINE_GROUP, tags={"domain": "reports"}, deps=["budget_report"], kinds={"archive"})
def compliance_archive(
    context: dg.AssetExecutionContext,
    catalog: CatalogResource,
    warehouse: WarehouseResource,
    reports: ReportStoreResource,
    archive: ArchiveResource,
) -> dg.MaterializeResult:
    """Archive each closed month not archived yet: its reports, exclusions, incidents and inputs."""
    snapshots = warehouse.read_budget_snapshots()
    if snapshots.empty:
        raise dg.Failure("no budget snapshots yet: materialize error_budgets first")
    warehouse.sync_slo_teams(slo_teams(catalog.load()))  # new SLOs reach their team's viewers
    store = archive.archive()
    done = {e["path"].split("/")[1] for e in store.entries() if e["path"].endswith("/digests.json")}
    archived = []
    sliding = SlidingBuckets(warehouse)  # a period's report and its evidence share one read
    for period in closed_months(int(snapshots["at"].min()), int(snapshots["at"].max())):
        if period in done:
            continue
        written = _archive_period(period, catalog, warehouse, reports, store, sliding)
        archived.append(period)
        context.log.info(f"archived {period}: {written} records, head {store.head()}")
    statements = _archive_statements(warehouse, reports, store)
    latest = _archive_latest_report(int(snapshots["at"].max()), warehouse, reports, store)
    head = store.head()
    return dg.MaterializeResult(
        metadata={
            "archive": dg.MetadataValue.path(str(store.root)),
            "periods_archived": ", ".join(archived) or "none new",
            "daily_report_archived": latest or "already archived",
            "sla_statements_archived": statements,
            "records": len(store.entries()),
            "chain_head": head,
        }
    )


def _archive_statements(warehouse: WarehouseResource, reports: ReportStoreResource, store: Archive) -> int:
    """Every SLA statement and compliance report the report store holds (`sla-<period>/`), archived
    once under `records/<period>/reports/sla/` as `sla_statement` records, whenever it appears (the
    contract-period job runs on its own schedule)."""
    known = {e["path"] for e in store.entries()}
    written = 0
    for name in reports.report_names("sla-"):
        period = name.removeprefix("sla-")
        new = {
            f"{period}/reports/sla/{relative}": data
            for relative, data in reports.report_files(name).items()
            if f"records/{period}/reports/sla/{relative}" not in known
        }
        for path, data in sorted(new.items()):
            store.write(path, data, "sla_statement")
        if new:
            written += len(new)
            warehouse.append_audit(
                ACTOR,
                "archive.write",
                f"statements {period}",
                "contract period statements",
                {"records": len(new), "head": store.head()},
            )
    return written


def _archive_latest_report(
    at: int, warehouse: WarehouseResource, reports: ReportStoreResource, store: Archive
) -> str | None:
    """The budget report at the last evaluated day end, archived once under `records/daily/`, so even
    a history shorter than a month leaves its report in the archive."""
    name = "budget-" + format_instant(at).replace(":", "")
    files = reports.report_files(name)
    known = {e["path"] for e in store.entries()}
    if not files or all(f"records/daily/{name}/{f}" in known for f in files):
        return None
    for relative, data in sorted(files.items()):
        store.write(f"daily/{name}/{relative}", data, "budget_report")
    warehouse.append_audit(
        ACTOR,
        "archive.write",
        f"daily {name}",
        "latest budget report",
        {"records": len(files), "head": store.head()},
    )
    return name


def _incidents(warehouse: WarehouseResource, start: int, end: int, period: str) -> dict[str, object]:
    """The latest version of every incident that overlapped the period, with its stored impact."""
    store = IncidentStore(warehouse)
    applied = [i for i in store.latest() if i.start < end and (i.end is None or i.end > start)]
    versions = {incident_key(i) for i in applied}
    impact = [r for r in store.read_impact() if (r["system"], r["incident_id"], r["updated_at"]) in versions]
    return {
        "period": period,
        "incidents": [dataclasses.asdict(i) for i in applied],
        "impact": impact,
    }


def _archive_period(
    period: str,
    catalog: CatalogResource,
    warehouse: WarehouseResource,
    reports: ReportStoreResource,
    store: Archive,
    sliding: SlidingBuckets,
) -> int:
    start, end = month_bounds(period)
    cat = effective_catalog(catalog, warehouse)
    events, reviews = warehouse.read_exclusion_events(), warehouse.read_exclusion_reviews()
    evaluator = warehouse_evaluator(cat, warehouse, end, end, sliding=sliding)
    report = build_report(evaluator, end, f"Compliance period {period}")
    report["archive_head"] = store.head()
    runtime = [
        r.to_json() for r in fold_events(events, reviews=reviews, period_for=catalog_review_periods(cat))
    ]
    report["exclusion_register"] = runtime
    reports.write_period(period, "budget-report", report)
    warehouse.append_audit(
        ACTOR, "report.generate", f"period {period}", "closed period", {"head": report["archive_head"]}
    )

    buckets = sliding.read(history_start(cat, end), end)
    parquet = io.BytesIO()
    buckets.to_parquet(parquet, index=False)
    inputs = {
        "inputs/buckets.parquet": parquet.getvalue(),
        "inputs/exclusion-log.json": to_bytes({"events": events, "reviews": reviews}),
    }
    inputs["inputs/first-buckets.json"] = to_bytes(warehouse.first_bucket_starts())  # measured since
    inputs.update({f"inputs/catalog/{name}": data for name, data in catalog.files().items()})
    digests = {name: hashlib.sha256(data).hexdigest() for name, data in inputs.items()}
    evidence = {
        **inputs,
        "exclusions.json": to_bytes(exclusions_evidence(period, runtime, report)),
        "incidents.json": to_bytes(_incidents(warehouse, start, end, period)),
        "digests.json": to_bytes(
            digests_evidence(period, format_instant(start), format_instant(end), report, digests)
        ),
    }
    records = period_records(period, reports.period_files(period), evidence)
    for path, data, record_class in records:
        store.write(path, data, record_class)
    warehouse.append_audit(
        ACTOR,
        "archive.write",
        f"period {period}",
        "closed period archived",
        {"records": len(records), "head": store.head()},
    )
    return len(records)
