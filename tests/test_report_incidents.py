"""Incidents on the budget report: listed with the window's events and drawn as bands on the chart."""

import dataclasses
from pathlib import Path

import pandas as pd

from slo_pipelines.catalog import load_catalog
from slo_pipelines.catalog.incidents import catalog_incidents
from slo_pipelines.engine.budgets.report_model import window_events
from slo_pipelines.engine.common.timeutil import parse_instant
from slo_pipelines.reports.budget_chart import consumption_svg
from slo_pipelines.resources.incident_store import IncidentStore, incident_key
from slo_pipelines.resources.warehouse import WarehouseResource
from tests.pipeline_helpers import FLEET

NO_ALERTS = pd.DataFrame(
    columns=[
        "slo",
        "objective",
        "severity",
        "started_at",
        "ended_at",
        "long_window",
        "short_window",
        "threshold",
    ]
)
NO_DECISIONS = pd.DataFrame(columns=["slo", "objective", "at", "action", "state", "policy", "reason"])


def _impact_row(incident, slo: str, consumed: float | None) -> dict:  # type: ignore[no-untyped-def]
    system, source_id, version = incident_key(incident)
    return {
        "system": system,
        "incident_id": source_id,
        "updated_at": version,
        "slo": slo,
        "objective": "availability",
        "name": incident.name,
        "measured_until": incident.end or incident.start + 120,
        "bad": 10.0,
        "total": 1000.0,
        "allowed_bad": 50.0,
        "budget_consumed_ratio": consumed,
        "attributed_bad": 5.0,
        "peak_burn_rate_1h": 3.0,
        "severity": incident.severity,
        "expected_severity": "SEV1",
        "computed_at": pd.Timestamp.now(tz="UTC").to_pydatetime(),
    }


def test_latest_incident_versions_reach_the_report_events_and_chart(tmp_path: Path) -> None:
    incidents = {i.name: i for i in catalog_incidents(load_catalog(FLEET))}
    first = incidents["INC-2041"]
    store = IncidentStore(WarehouseResource(url=f"sqlite:///{tmp_path / 'wh.db'}"))
    store.warehouse.ensure_schema()
    # an earlier version (still open) and the latest (closed): only the latest counts
    opened = dataclasses.replace(first, end=None, updated_at=first.start + 60)
    store.record_versions([opened, first])
    store.upsert_impact([_impact_row(opened, "payment-gateway-availability", 0.01)])
    store.upsert_impact([_impact_row(first, "payment-gateway-availability", 0.2)])
    rows = store.latest_impact()
    assert [(r["name"], r["end"], r["budget_consumed_ratio"]) for r in rows] == [("INC-2041", first.end, 0.2)]

    events = window_events(NO_ALERTS, NO_DECISIONS, rows)
    [event] = events[("payment-gateway-availability", "availability")]
    assert event["kind"] == "incident" and event["t"] == parse_instant("2026-11-18T14:10:00Z")
    assert event["end"] == parse_instant("2026-11-18T15:25:00Z") and event["severity"] == "SEV2"
    assert "INC-2041 (SEV2)" in event["label"] and "spent 20.0 % of a period's budget" in event["label"]

    t0 = parse_instant("2026-11-18T00:00:00Z")
    series = {
        "t": [t0 + h * 3600 for h in range(25)],
        "consumed_bad": [float(h) for h in range(25)],
        "allowed_bad": [50.0] * 25,
    }
    svg = consumption_svg(series, (), [event])
    assert svg.count('class="event incident"') == 1 and "INC-2041 (SEV2)" in svg and ">incident</text>" in svg
    # an open incident runs to the end of the chart
    open_event = dict(event, end=None)
    band = consumption_svg(series, (), [open_event]).split('class="event incident"')[1]
    closed = svg.split('class="event incident"')[1]
    width = lambda s: float(s.split('width="')[1].split('"')[0])  # noqa: E731
    assert width(band) > width(closed) > 0
