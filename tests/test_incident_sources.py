"""PagerDuty and Opsgenie polling against real HTTP servers on 127.0.0.1, the priority mapping, the
service mapping, and the warehouse's incident versions (every version kept, keyed by system and id)."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from slo_pipelines.catalog import load_catalog
from slo_pipelines.engine.common.timeutil import format_instant
from slo_pipelines.engine.incidents.sources import (
    ServiceMap,
    SourceRecordError,
    from_pagerduty,
    opsgenie_severity,
    pagerduty_severity,
    pagerduty_webhook_incident,
    spanned_days,
)
from slo_pipelines.resources.incident_sources import (
    IncidentSourceError,
    OpsgenieIncidentSource,
    PagerDutyIncidentSource,
)
from slo_pipelines.resources.incident_store import IncidentStore, run_key
from slo_pipelines.resources.warehouse import WarehouseResource
from tests.local_http import LocalServer, Reply, Seen, local_server
from tests.test_incidents import D0, write_catalog


def pd_incident(n: int, created: int, status: str = "resolved", **extra: Any) -> dict[str, Any]:
    item = {
        "id": f"Q{n:05d}",
        "incident_number": n,
        "title": f"incident {n}",
        "created_at": format_instant(created),
        "updated_at": format_instant(created + 600),
        "status": status,
        "urgency": "high",
        "priority": {"summary": "P2"},
        "service": {"id": "PSVC1", "summary": "Checkout API"},
        "html_url": f"https://example.pagerduty.com/incidents/Q{n:05d}",
    }
    if status == "resolved":
        item["resolved_at"] = format_instant(created + 600)
    item.update(extra)
    return item


class FakePagerDuty:
    """`GET /incidents` as PagerDuty answers it, refusing offset + limit beyond `max_offset`."""

    def __init__(self, incidents: list[dict[str, Any]], max_offset: int) -> None:
        self.incidents = incidents
        self.max_offset = max_offset
        self.queries: list[dict[str, list[str]]] = []

    def __call__(self, seen: Seen) -> Reply:
        q = parse_qs(urlsplit(seen.path).query)
        self.queries.append(q)
        if seen.headers.get("Authorization") != "Token token=pd-token":
            return Reply(401, json.dumps({"error": {"message": "Unauthorized"}}))
        offset, limit = int(q["offset"][0]), int(q["limit"][0])
        if limit > 100 or offset + limit > self.max_offset:
            return Reply(400, json.dumps({"error": {"message": "Offset must be less than 10000"}}))
        lo, hi = q["since"][0], q["until"][0]
        chosen = [i for i in self.incidents if lo <= i["created_at"] < hi and i["status"] in q["statuses[]"]]
        page = chosen[offset : offset + limit]
        body = {"incidents": page, "limit": limit, "offset": offset, "more": offset + limit < len(chosen)}
        body["total"] = len(chosen)
        return Reply(200, json.dumps(body))


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with local_server() as s:
        yield s


def pagerduty(url: str, **kw: Any) -> PagerDutyIncidentSource:
    return PagerDutyIncidentSource(base_url=url, api_token="pd-token", backoff_seconds=0.01, **kw)


def test_priority_and_urgency_map_to_severities() -> None:
    assert [pagerduty_severity(p, None) for p in ("P1", "P2", "P3", "P4", "P5")] == [
        "SEV1",
        "SEV2",
        "SEV3",
        "SEV4",
        "SEV4",
    ]
    assert pagerduty_severity(None, "high") == "SEV2" and pagerduty_severity(None, "low") == "SEV4"
    assert pagerduty_severity("P1", "low") == "SEV1" and pagerduty_severity(None, None) == "SEV3"
    assert [opsgenie_severity(p) for p in ("P1", "P2", "P3", "P4", "P5", None)] == [
        "SEV1",
        "SEV2",
        "SEV3",
        "SEV4",
        "SEV4",
        "SEV3",
    ]


def test_pages_narrow_the_range_past_the_offset_cap_and_miss_nothing(server: LocalServer) -> None:
    # 450 incidents in one day; the (scaled-down) cap of 200 forces the range to be cut.
    items = [pd_incident(n, D0 + n * 180) for n in range(450)]
    fake = FakePagerDuty(items, max_offset=200)
    server.route("GET", "/incidents", fake)
    raw, made = pagerduty(server.url, max_offset=200, page_limit=50).fetch(D0, D0 + 86400)
    assert sorted(i["id"] for i in raw) == sorted(i["id"] for i in items)
    assert made == len(fake.queries)
    assert all(int(q["offset"][0]) + int(q["limit"][0]) <= 200 for q in fake.queries)
    assert {tuple(q["statuses[]"]) for q in fake.queries} == {("triggered", "acknowledged", "resolved")}
    assert any(q["since"][0] != format_instant(D0) for q in fake.queries)  # the range was narrowed


def test_429_is_retried_after_retry_after_and_5xx_with_backoff(server: LocalServer) -> None:
    fake = FakePagerDuty([pd_incident(1, D0)], max_offset=10_000)
    answers = [Reply(429, "slow down", {"Retry-After": "0.2"}), Reply(503, "busy")]

    def route(seen: Seen) -> Reply:
        return answers.pop(0) if answers else fake(seen)

    server.route("GET", "/incidents", route)
    raw, made = pagerduty(server.url).fetch(D0 - 60, D0 + 60)
    assert [i["id"] for i in raw] == ["Q00001"] and made == 3


def test_garbage_or_4xx_fails_the_whole_fetch(server: LocalServer) -> None:
    server.route("GET", "/incidents", Reply(200, "<html>maintenance</html>"))
    with pytest.raises(IncidentSourceError, match=r"not JSON.*gave up after 3 attempts"):
        pagerduty(server.url, attempts=3).fetch(D0, D0 + 60)
    server.route("GET", "/incidents", Reply(200, json.dumps({"incidents": "nope"})))
    with pytest.raises(IncidentSourceError, match="unexpected answer"):
        pagerduty(server.url, attempts=2).fetch(D0, D0 + 60)
    fake = FakePagerDuty([], 10_000)
    server.route("GET", "/incidents", fake)
    with pytest.raises(IncidentSourceError, match=r"HTTP 401.*not retried"):
        PagerDutyIncidentSource(base_url=server.url, api_token="wrong").fetch(D0, D0 + 60)
    assert len(fake.queries) == 1
    with pytest.raises(IncidentSourceError, match="api_token: not set"):
        PagerDutyIncidentSource(base_url=server.url).fetch(D0, D0 + 60)


def test_poll_maps_services_and_keeps_unreadable_records_as_rejections(
    server: LocalServer, tmp_path: Path
) -> None:
    catalog_dir = write_catalog(tmp_path / "catalog")
    fleet = catalog_dir / "fleet.yaml"
    fleet.write_text(
        fleet.read_text().replace(
            "metadata: {name: a}\n",
            "metadata: {name: a, annotations: {slo-pipelines.io/pagerduty-services: 'PSVC1, PSVC9'}}\n",
            1,
        )
    )
    services = ServiceMap.from_catalog(load_catalog(catalog_dir))
    items = [
        pd_incident(1, D0),
        pd_incident(2, D0 + 60, status="triggered", service={"id": "PX", "summary": "B"}, priority=None),
        pd_incident(3, D0 + 120, resolved_at="later"),
        pd_incident(4, D0 + 180, service={"id": "PZ", "summary": "Vendor DNS"}),
    ]
    server.route("GET", "/incidents", FakePagerDuty(items, 10_000))
    polled = pagerduty(server.url).poll(D0 - 3600, D0 + 3600, services)
    by = {i.name: i for i in polled.incidents}
    assert by["PD-1"].services == ("a",) and by["PD-1"].severity == "SEV2" and by["PD-1"].end == D0 + 600
    assert by["PD-2"].services == ("b",) and by["PD-2"].end is None  # matched by name, open
    assert by["PD-4"].services == ("Vendor DNS",) and ("pagerduty", "Vendor DNS") in services.unmapped
    [(record, reason)] = polled.rejected
    assert record["id"] == "Q00003" and "Q00003.resolved_at" in reason


def test_opsgenie_pages_until_no_next(server: LocalServer, tmp_path: Path) -> None:
    services = ServiceMap.from_catalog(load_catalog(write_catalog(tmp_path / "catalog")))
    items = [
        {
            "id": f"og-{n}",
            "tinyId": str(n),
            "message": f"incident {n}",
            "status": "closed" if n % 2 else "open",
            "priority": "P1",
            "createdAt": format_instant(D0 + n * 60),
            "updatedAt": format_instant(D0 + n * 60 + 300),
            "impactedServices": ["c"],
        }
        for n in range(7)
    ]
    seen: list[dict[str, list[str]]] = []

    def route(request: Seen) -> Reply:
        q = parse_qs(urlsplit(request.path).query)
        seen.append(q)
        if request.headers.get("Authorization") != "GenieKey og-key":
            return Reply(403, "{}")
        offset, limit = int(q["offset"][0]), int(q["limit"][0])
        page = items[offset : offset + limit]
        paging = (
            {"next": "https://api.opsgenie.com/v1/incidents?offset=x"} if offset + limit < len(items) else {}
        )
        return Reply(200, json.dumps({"data": page, "paging": paging, "totalCount": len(items)}))

    server.route("GET", "/v1/incidents", route)
    source = OpsgenieIncidentSource(base_url=server.url, api_key="og-key", page_limit=3, backoff_seconds=0.01)
    polled = source.poll(D0, D0 + 3600, services)
    assert [i.name for i in polled.incidents] == [f"OG-{n}" for n in range(7)]
    assert [q["offset"][0] for q in seen] == ["0", "3", "6"]
    assert polled.incidents[1].end == D0 + 60 + 300 and polled.incidents[0].end is None
    assert polled.incidents[0].severity == "SEV1" and polled.incidents[0].services == ("c",)


def test_webhook_events_and_bad_records() -> None:
    services = ServiceMap(names={"a": "a"})
    event = {
        "event": {
            "id": "01ABC",
            "event_type": "incident.resolved",
            "occurred_at": "2026-10-05T01:00:00Z",
            "data": {
                "id": "Q1",
                "type": "incident",
                "number": 7,
                "status": "resolved",
                "created_at": "2026-10-05T00:10:00Z",
                "title": "x",
                "service": {"id": "S", "summary": "a"},
                "urgency": "low",
                "priority": None,
            },
        }
    }
    incident = pagerduty_webhook_incident(event, services)
    assert incident is not None and incident.end == D0 + 3600 and incident.updated_at == D0 + 3600
    assert incident.severity == "SEV4" and incident.name == "PD-7"
    assert pagerduty_webhook_incident({"event": {"event_type": "service.updated"}}, services) is None
    with pytest.raises(SourceRecordError, match="status"):
        from_pagerduty({"id": "Q2", "created_at": "2026-10-05T00:00:00Z", "status": "weird"}, services)
    assert spanned_days(incident, 0) == [D0]


def test_store_keeps_every_version_and_answers_the_latest(tmp_path: Path) -> None:
    store = IncidentStore(WarehouseResource(url=f"sqlite:///{tmp_path / 'wh.db'}"))
    services = ServiceMap(names={"a": "a"})
    opened = from_pagerduty(pd_incident(1, D0, status="triggered", updated_at=format_instant(D0)), services)
    resolved = from_pagerduty(pd_incident(1, D0), services)
    assert [v.seq for v in store.record_versions([resolved])] == [1]
    # the older version arrives late: kept, but the latest stays the resolved one
    assert [v.seq for v in store.record_versions([opened, resolved])] == [2]
    assert [i.end for i in store.history("pagerduty", "Q00001")] == [None, D0 + 600]
    [latest] = store.latest()
    assert latest.end == D0 + 600 and run_key(latest) == f"pagerduty:Q00001:{D0 + 600}"
    assert [v.incident.updated_at for v in store.versions_after(1)] == [D0]
