"""The incident and exclusions sensors with `build_sensor_context` on a real instance, restarted
mid-stream, and a real recompute run whose stored impact matches the engine."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from slo_pipelines.assets import ALL_ASSETS
from slo_pipelines.assets.partitions import daily_partitions
from slo_pipelines.catalog import load_catalog
from slo_pipelines.definitions import recompute_job, slo_pipeline_job
from slo_pipelines.engine.common.timeutil import format_instant
from slo_pipelines.engine.incidents.impact import incident_impacts
from slo_pipelines.resources.incident_sources import IncidentPollingResource
from slo_pipelines.resources.incident_store import IncidentStore
from slo_pipelines.sensors.incidents import build_exclusions_sensor, build_incident_sensor
from tests.local_http import LocalServer, Reply, local_server
from tests.pipeline_helpers import D0, DAY, FLEET, drop, fleet_samples, resources, run_range
from tests.test_incident_sources import FakePagerDuty, pd_incident


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as inst:
        yield inst


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with local_server() as s:
        yield s


def definitions(tmp: Path, pd_url: str) -> dg.Definitions:
    return dg.Definitions(
        assets=ALL_ASSETS,
        jobs=[slo_pipeline_job, recompute_job],
        sensors=[build_incident_sensor(recompute_job.name), build_exclusions_sensor(recompute_job.name)],
        resources={
            **resources(tmp),
            "incident_sources": IncidentPollingResource(
                pagerduty_url=pd_url,
                pagerduty_api_token="pd-token",
                attempts=2,
                backoff_seconds=0.01,
                lookback_seconds=60 * DAY,
            ),
        },
    )


def tick(
    defs: dg.Definitions, instance: dg.DagsterInstance, name: str, cursor: str | None
) -> dg.SensorResult:
    ctx = dg.build_sensor_context(instance=instance, cursor=cursor, resources=defs.resources)
    result = defs.resolve_sensor_def(name)(ctx)  # type: ignore[call-overload]
    assert isinstance(result, dg.SensorResult)
    return result


def spans(result: dg.SensorResult) -> list[tuple[str, str, str]]:
    return [
        (
            r.run_key or "",
            r.tags["dagster/asset_partition_range_start"],
            r.tags["dagster/asset_partition_range_end"],
        )
        for r in result.run_requests or []
    ]


def gateway(n: int, created: int, resolved: int, updated: int) -> dict[str, Any]:
    return pd_incident(
        n,
        created,
        resolved_at=format_instant(resolved),
        updated_at=format_instant(updated),
        service={"id": "PGW", "summary": "payment-gateway"},
    )


def webhook(event_id: str, status: str, occurred: int, created: int) -> dict[str, Any]:
    return {
        "event": {
            "id": event_id,
            "event_type": f"incident.{status}",
            "occurred_at": format_instant(occurred),
            "data": {
                "id": "Q00042",
                "type": "incident",
                "number": 42,
                "status": status,
                "created_at": format_instant(created),
                "title": "Payments API 5xx",
                "service": {"id": "PAPI", "summary": "payments-api"},
                "priority": {"summary": "P1"},
            },
        }
    }


def test_incident_sensor_requests_each_version_once_across_restarts_and_runs_recompute(
    tmp_path: Path, instance: dg.DagsterInstance, server: LocalServer
) -> None:
    slos = ["payments-availability", "payment-gateway-availability"]
    drop(tmp_path, "history.parquet", fleet_samples(D0 - 2 * DAY, D0 + 2 * DAY))
    fake = FakePagerDuty([gateway(1, D0 + 3600, D0 + 7200, D0 + 7300)], 10_000)
    server.route("GET", "/incidents", fake)
    defs = definitions(tmp_path, server.url)
    assert run_range(defs, instance, "2026-10-31", "2026-11-02").success
    store = IncidentStore(defs.resources["warehouse"])  # type: ignore[arg-type]

    first = tick(defs, instance, "incident_sensor", None)
    # the polled incident, and the fleet catalog's own three incidents (recorded by the setup run)
    assert sorted(spans(first)) == sorted(
        [
            (f"pagerduty:Q00001:{D0 + 7300}", "2026-11-01", "2026-11-01"),
            ("catalog:INC-2047:1795513200", "2026-11-24", "2026-11-24"),
            ("pagerduty:Q1X2API42:1795017900", "2026-11-18", "2026-11-18"),
            ("pagerduty:Q1X2GW41:1795015500", "2026-11-18", "2026-11-18"),
        ]
    )

    # a webhook arrives (an incident across midnight) and the source reports #1 again, unchanged
    store.append_inbox(
        "pagerduty",
        "E1",
        "incident.triggered",
        None,
        webhook("E1", "triggered", D0 + DAY - 1800, D0 + DAY - 1800),
    )
    crashed = tick(defs, instance, "incident_sensor", first.cursor)
    # the process dies before the tick is committed: the next tick starts from the same cursor
    retried = tick(defs, instance, "incident_sensor", first.cursor)
    # still open: it spans every day up to the last partition that exists
    last = daily_partitions.get_last_partition_key()
    assert spans(crashed) == spans(retried) == [(f"pagerduty:Q00042:{D0 + DAY - 1800}", "2026-11-01", last)]

    store.append_inbox(
        "pagerduty",
        "E2",
        "incident.resolved",
        None,
        webhook("E2", "resolved", D0 + DAY + 1800, D0 + DAY - 1800),
    )
    store.append_inbox(
        "pagerduty",
        "E2b",
        "incident.resolved",
        None,
        webhook("E2b", "resolved", D0 + DAY + 1800, D0 + DAY - 1800),
    )
    third = tick(defs, instance, "incident_sensor", retried.cursor)
    assert spans(third) == [(f"pagerduty:Q00042:{D0 + DAY + 1800}", "2026-11-01", "2026-11-02")]
    assert spans(tick(defs, instance, "incident_sensor", third.cursor)) == []
    assert [i.end for i in store.history("pagerduty", "Q00042")] == [None, D0 + DAY + 1800]

    # a failed poll keeps the polled range, so it is read again on the next tick
    server.route("GET", "/incidents", Reply(503, "down"))
    failed = tick(defs, instance, "incident_sensor", third.cursor)
    assert json.loads(failed.cursor or "")["polled_until"] == json.loads(third.cursor or "")["polled_until"]

    # a real run of the requested recompute: stored impact equals the engine on the warehouse's buckets
    [request] = third.run_requests or []
    result = defs.resolve_job_def(recompute_job.name).execute_in_process(
        instance=instance,
        tags={**request.tags, "dagster/run_key": request.run_key or ""},
        raise_on_error=False,
    )
    assert result.success
    rows = {r["slo"]: r for r in store.read_impact("pagerduty", "Q00042")}
    assert set(rows) == {"payments-availability"}  # payments-api has no dependents
    incidents = [v for v in store.latest() if v.name in ("PD-1", "PD-42")]
    catalog = load_catalog(FLEET)
    buckets = defs.resources["warehouse"].read_buckets(D0 - 40 * DAY, D0 + 3 * DAY)  # type: ignore[attr-defined]
    direct = {i.incident.name: i for i in incident_impacts(catalog, buckets, incidents)}
    [expected] = direct["PD-42"].slos
    assert rows["payments-availability"]["bad"] == pytest.approx(expected.bad, rel=1e-12)
    assert rows["payments-availability"]["budget_consumed_ratio"] == pytest.approx(
        expected.budget_consumed_ratio, rel=1e-9
    )
    assert rows["payments-availability"]["updated_at"] == D0 + DAY + 1800
    # PD-1 hit the gateway, which payments-api depends on: impact flowed to both SLOs
    assert {s.name for s in direct["PD-1"].slos} == set(slos)


def test_exclusions_sensor_requests_the_days_an_exclusion_changes(
    tmp_path: Path, instance: dg.DagsterInstance, server: LocalServer
) -> None:
    defs = definitions(tmp_path, server.url)
    warehouse = defs.resources["warehouse"]
    assert tick(defs, instance, "exclusions_sensor", None).run_requests == []
    payload = {
        "scope": {"slo": "payments-availability"},
        "start": format_instant(D0 + 3600),
        "end": format_instant(D0 + 7200),
        "category": "dependency_outage",
        "reason": "PSP outage",
        "requester": "alice",
        "approver": "bob",
    }
    warehouse.append_exclusion_event("psp-1", "add", payload, recorded_by="bob")  # type: ignore[attr-defined]
    first = tick(defs, instance, "exclusions_sensor", None)
    [(key, lo, hi)] = spans(first)
    # payments-availability has a 30 d window: budgets from 2026-11-01 to 30 days after the end change,
    # up to the last partition that exists today
    last = daily_partitions.get_last_partition_key()
    assert last is not None
    assert key.startswith("exclusion:psp-1:add:") and lo == "2026-11-01" and hi == min("2026-12-01", last)
    assert tick(defs, instance, "exclusions_sensor", first.cursor).run_requests == []
    # the second approval of a flagged exclusion changes budgets too
    warehouse.append_exclusion_review("psp-1", "approve", "dana", "vendor confirmed", payload["scope"])  # type: ignore[attr-defined]
    reviewed = tick(defs, instance, "exclusions_sensor", first.cursor)
    assert [k.split(":")[2] for k, _, _ in spans(reviewed)] == ["review"]
    assert tick(defs, instance, "exclusions_sensor", reviewed.cursor).run_requests == []
    first = reviewed
    warehouse.append_exclusion_event("psp-1", "revoke", {"reason": "not ours"}, recorded_by="carol")  # type: ignore[attr-defined]
    revoked = tick(defs, instance, "exclusions_sensor", first.cursor)
    assert [k.split(":")[2] for k, _, _ in spans(revoked)] == ["revoke"]
