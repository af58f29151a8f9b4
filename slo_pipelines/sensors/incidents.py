"""Sensors that recompute: incidents (polling + webhook inbox) and runtime exclusions.

Incident sensor, per tick: poll the configured sources (PagerDuty, Opsgenie) and record new versions;
turn new inbox deliveries into versions; then request one run per version recorded since the cursor,
for exactly the daily partitions the incident spans (the recompute job holds budgets, alerts, impact
and the report), with `run_key = "{system}:{id}:{updated_at}"`. Versions are written to the warehouse
before any run is requested and the cursor (last version seq, last inbox id, polled-until) only moves
with the requests of the same tick, so a restart mid-stream neither misses nor doubles a run; a failed
poll leaves `polled_until` where it was, so the range is read again next tick.

Exclusions sensor: one run per `add` (add or approve) or `revoke` event of the runtime exclusion log,
for the days from the exclusion's start to its end plus the longest window it touches.
"""

import json
import time

import dagster as dg

from slo_pipelines.assets.partitions import daily_partitions
from slo_pipelines.engine.common.partition_ranges import DAY, day_index, day_key
from slo_pipelines.engine.exclusions.recompute import exclusion_recompute_span
from slo_pipelines.engine.exclusions.runtime import ExclusionLogError, fold_events
from slo_pipelines.engine.incidents.sources import (
    ServiceMap,
    SourceRecordError,
    pagerduty_webhook_incident,
    spanned_days,
)
from slo_pipelines.resources.catalog_resource import CatalogResource
from slo_pipelines.resources.incident_sources import IncidentPollingResource, IncidentSourceError
from slo_pipelines.resources.incident_store import IncidentStore, run_key
from slo_pipelines.resources.warehouse import WarehouseResource

MAX_VERSIONS_PER_TICK = 200
MAX_INBOX_PER_TICK = 500


def _partition_range(first: int, last: int) -> tuple[str, str] | None:
    """Inclusive partition keys for epoch days `[first, last]`, clipped to the partitions that exist."""
    first_key, last_key = (
        daily_partitions.get_first_partition_key(),
        daily_partitions.get_last_partition_key(),
    )
    if first_key is None or last_key is None:
        return None
    lo, hi = max(first // DAY, day_index(first_key)), min(last // DAY, day_index(last_key))
    return (day_key(lo), day_key(hi)) if lo <= hi else None


def _request(key: str, span: tuple[str, str], tags: dict[str, str]) -> dg.RunRequest:
    return dg.RunRequest(
        run_key=key,
        tags={
            "dagster/asset_partition_range_start": span[0],
            "dagster/asset_partition_range_end": span[1],
            **tags,
        },
    )


def build_incident_sensor(job_name: str, minimum_interval_seconds: int = 30) -> dg.SensorDefinition:
    @dg.sensor(
        job_name=job_name,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus.STOPPED,
    )
    def incident_sensor(
        context: dg.SensorEvaluationContext,
        catalog: CatalogResource,
        warehouse: WarehouseResource,
        incident_sources: IncidentPollingResource,
    ) -> dg.SensorResult:
        """Incident opened, updated or resolved → recompute the days it spans, once per version."""
        cursor = json.loads(context.cursor) if context.cursor else {}
        seq, inbox_id = int(cursor.get("seq", 0)), int(cursor.get("inbox", 0))
        polled_until = cursor.get("polled_until")
        now = int(time.time())
        store = IncidentStore(warehouse)
        services = ServiceMap.from_catalog(catalog.load())
        since = (polled_until if polled_until is not None else now) - incident_sources.lookback_seconds
        polled_ok = True
        for source in incident_sources.sources():
            try:
                polled = source.poll(since, now, services)
            except IncidentSourceError as exc:
                polled_ok = False
                context.log.warning(f"poll failed, will read the same range again: {exc}")
                continue
            for record, reason in polled.rejected:
                context.log.warning(f"unreadable incident record refused: {reason}")
                store.record_rejection(
                    type(source).__name__,
                    reason,
                    "",
                    str(record.get("id")) if isinstance(record, dict) else None,
                    None,
                )
            store.record_versions(polled.incidents, polled.priorities)
        for system, name in sorted(services.unmapped):
            context.log.warning(f"{system} service {name!r} maps to no Service: annotate a Service document")
        deliveries = store.inbox_after(inbox_id, MAX_INBOX_PER_TICK)
        for delivery in deliveries:
            try:
                incident = pagerduty_webhook_incident(delivery["payload"], services)
            except SourceRecordError as exc:
                context.log.warning(f"inbox delivery {delivery['delivery_id']} refused: {exc}")
                store.record_rejection("pagerduty", str(exc), "", delivery["delivery_id"], None)
                continue
            if incident is not None:
                store.record_versions([incident])
        if deliveries:
            inbox_id = int(deliveries[-1]["id"])
        requests = []
        versions = store.versions_after(seq, MAX_VERSIONS_PER_TICK)
        for version in versions:
            days = spanned_days(version.incident, until=now)
            span = _partition_range(days[0], days[-1])
            if span is None:
                context.log.info(f"{run_key(version.incident)}: no partition exists for its days yet")
                continue
            requests.append(
                _request(run_key(version.incident), span, {"slo-pipelines/incident": version.incident.name})
            )
        if versions:
            seq = versions[-1].seq
        new_cursor = {"seq": seq, "inbox": inbox_id, "polled_until": now if polled_ok else polled_until}
        return dg.SensorResult(run_requests=requests, cursor=json.dumps(new_cursor, sort_keys=True))

    return incident_sensor


def build_exclusions_sensor(job_name: str, minimum_interval_seconds: int = 30) -> dg.SensorDefinition:
    @dg.sensor(
        job_name=job_name,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus.STOPPED,
    )
    def exclusions_sensor(
        context: dg.SensorEvaluationContext, catalog: CatalogResource, warehouse: WarehouseResource
    ) -> dg.SensorResult:
        """Runtime exclusion added, approved, reviewed or revoked → recompute the days whose budgets it
        changes. The cursor is `last event id:last review id` (a bare event id from before reviews)."""
        last, _, last_review_text = (context.cursor or "0").partition(":")
        last_event, last_review = int(last), int(last_review_text or 0)
        events = warehouse.read_exclusion_events()
        reviews = warehouse.read_exclusion_reviews()
        fresh = [(e, str(e["action"])) for e in events if int(e["id"]) > last_event]
        fresh += [(r, "review") for r in reviews if int(r["id"]) > last_review]
        cursor = f"{max([last_event, *(int(e['id']) for e in events)])}:" + str(
            max([last_review, *(int(r["id"]) for r in reviews)])
        )
        if not fresh:
            return dg.SensorResult(run_requests=[], cursor=cursor)
        try:
            folded = {r.id: r for r in fold_events(events, reviews=reviews)}
        except ExclusionLogError as exc:
            raise dg.Failure(f"the exclusion log cannot be read: {exc}") from None
        cat = catalog.load()
        now = int(time.time())
        requests = []
        for event, action in fresh:
            exclusion = folded.get(str(event["exclusion_id"]))
            if exclusion is None:
                continue
            span = exclusion_recompute_span(exclusion.rule, cat, now)
            days = _partition_range(span[0], span[1] - 1) if span else None
            if days is None:
                continue
            requests.append(
                _request(
                    f"exclusion:{event['exclusion_id']}:{action}:{event['id']}",
                    days,
                    {"slo-pipelines/exclusion": str(event["exclusion_id"])},
                )
            )
        return dg.SensorResult(run_requests=requests, cursor=cursor)

    return exclusions_sensor
