"""`alert_notifications`: hand the replayed burn-rate alerts to PagerDuty or Opsgenie, exactly once.

The delivery log in the warehouse decides what is still owed, so re-runs never page twice, failed
deliveries are retried by the next run, and every suppression (low traffic, a known incident, an
active maintenance window, a burn that ended long ago) is recorded with its reason.
"""

import time
from dataclasses import asdict

import dagster as dg

from slo_pipelines.assets.evaluation import effective_catalog, warehouse_evaluator
from slo_pipelines.assets.groups import PIPELINE_GROUP
from slo_pipelines.assets.partitions import daily_asset, partition_bounds
from slo_pipelines.catalog.incidents import catalog_incidents
from slo_pipelines.engine.alerting.delivery import prepare_notification
from slo_pipelines.engine.alerting.notification_log import DeliveryRecord, owed_notifications
from slo_pipelines.engine.alerting.payloads import AlertEvent, Links
from slo_pipelines.engine.incidents.known import known_incidents
from slo_pipelines.engine.incidents.sources import latest_versions
from slo_pipelines.resources.catalog_resource import CatalogResource
from slo_pipelines.resources.incident_store import IncidentStore
from slo_pipelines.resources.notifiers import Notifier
from slo_pipelines.resources.warehouse import WarehouseResource


class NotificationConfig(dg.Config):
    max_age_hours: float = 6.0  # burns that ended longer ago are recorded as stale, not sent
    min_events: int = 100  # low-traffic guard: fewer events in the long window never page
    runbook_url: str = ""  # `{slo}` is replaced by the SLO name
    dashboard_url: str = ""


@daily_asset(
    group_name=PIPELINE_GROUP, tags={"domain": "alerting"}, deps=["burn_rate_alerts"], kinds={"pagerduty"}
)
def alert_notifications(
    context: dg.AssetExecutionContext,
    config: NotificationConfig,
    catalog: CatalogResource,
    warehouse: WarehouseResource,
    notifier: Notifier,
) -> dg.MaterializeResult:
    """Trigger and resolve notifications for the alert events of the range, with budget context."""
    start, end = partition_bounds(context)
    cat = effective_catalog(catalog, warehouse)
    provider = notifier.provider()
    alerts = warehouse.read_alert_events(start=start, end=end)
    events = [AlertEvent.from_row(row) for _, row in alerts.iterrows()]
    log = [DeliveryRecord(**r) for r in warehouse.read_deliveries(provider)]
    now = int(time.time())
    owed = owed_notifications(events, log, provider, stale_before=now - int(config.max_age_hours * 3600))
    records: list[DeliveryRecord] = []
    if owed:
        evaluator = warehouse_evaluator(cat, warehouse, min(o.at for o in owed), max(o.at for o in owed))
        links = Links(config.runbook_url or None, config.dashboard_url or None)
        incidents = latest_versions([*IncidentStore(warehouse).latest(), *catalog_incidents(cat)])
        known = known_incidents(cat, incidents)
        records = notifier.deliver(
            owed,
            lambda item: prepare_notification(item, cat, evaluator, known, config.min_events, links),
            now,
        )
        warehouse.append_deliveries([asdict(r) for r in records])
    outcomes = [r.outcome for r in records]
    failed = [r for r in records if r.outcome == "failed"]
    if failed:  # stored above, so the next run retries them; the run must not look healthy meanwhile
        raise dg.Failure(
            f"{len(failed)} notification(s) to {provider} failed; "
            f"first: {failed[0].dedup_key}: {failed[0].reason}"
        )
    return dg.MaterializeResult(
        metadata={
            "provider": provider,
            "owed": len(owed),
            "delivered": outcomes.count("delivered"),
            "suppressed": outcomes.count("suppressed"),
            "suppressed_by_rule": {r.rule: sum(x.rule == r.rule for x in records) for r in records if r.rule},
        }
    )
