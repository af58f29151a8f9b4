"""Third-party status adapters: StatusPageAdapter against a real local server serving Statuspage JSON."""

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from slo_pipelines.engine.sli.status_minutes import StatusObservation, observed_minutes, status_buckets
from slo_pipelines.resources.third_party import (
    StatusPageAdapter,
    ThirdPartyStatusAdapter,
    ThirdPartyStatusError,
)
from tests.local_http import LocalServer, Reply, local_server, refused_url

NOW = 0
CHANGED = 0


@pytest.fixture(autouse=True)
def clock_minute() -> None:
    """Pin NOW to the current minute, away from its end so the test cannot straddle two minutes."""
    global NOW, CHANGED
    if time.time() % 60 > 50:
        time.sleep(61 - time.time() % 60)
    NOW = int(time.time()) // 60 * 60
    CHANGED = NOW - 10 * 60 + 25  # the state changed 25 s into the minute ten minutes ago


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat()


def components(status: str, name: str = "API", updated: float | None = None) -> str:
    updated = CHANGED if updated is None else updated
    page = {"id": "p1", "name": "Vendor", "url": "https://status.vendor.test", "updated_at": iso(updated)}
    other = {"id": "c2", "name": "Dashboard", "status": "major_outage", "updated_at": iso(updated)}
    api = {
        "id": "c1",
        "name": name,
        "status": status,
        "created_at": iso(updated - 86400),
        "updated_at": iso(updated),
        "position": 1,
        "description": None,
        "only_show_if_degraded": False,
        "page_id": "p1",
    }
    return json.dumps({"page": page, "components": [api, other]})


def page_status(indicator: str, updated: float | None = None) -> str:
    updated = CHANGED if updated is None else updated
    return json.dumps(
        {
            "page": {"id": "p1", "name": "Vendor", "url": "https://x", "updated_at": iso(updated)},
            "status": {"indicator": indicator, "description": "whatever"},
        }
    )


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with local_server() as s:
        yield s


def adapter(server_url: str, **kwargs: object) -> StatusPageAdapter:
    settings: dict[str, object] = {"slo": "vendor-api", "page_url": server_url, "component": "API"}
    settings.update(kwargs)
    return StatusPageAdapter(**settings)  # type: ignore[arg-type]


def test_observed_minutes_claim_only_whole_minutes_since_the_change() -> None:
    assert list(observed_minutes(0, 600, state_since=125, observed_at=430)) == [180, 240, 300, 360]
    assert list(observed_minutes(200, 300, state_since=0, observed_at=1000)) == [240]
    assert list(observed_minutes(0, 600, state_since=500, observed_at=530)) == []


@pytest.mark.parametrize(
    ("status", "good"),
    [("operational", 1.0), ("degraded_performance", 1.0), ("partial_outage", 0.0), ("major_outage", 0.0)],
)
def test_component_status_maps_to_good_or_bad_minutes(server: LocalServer, status: str, good: float) -> None:
    server.route("GET", "/api/v2/components.json", Reply(200, components(status)))
    buckets = adapter(server.url).buckets(NOW - 3600, NOW + 3600)
    assert buckets["start"].tolist() == list(range(NOW - 9 * 60, NOW, 60))
    assert set(buckets["good"]) == {good} and set(buckets["total"]) == {1.0}
    assert set(buckets["slo"]) == {"vendor-api"}


def test_degraded_counts_as_bad_when_configured_and_maintenance_is_no_data(server: LocalServer) -> None:
    server.route("GET", "/api/v2/components.json", Reply(200, components("degraded_performance")))
    strict = adapter(server.url, bad_statuses=["degraded_performance", "partial_outage", "major_outage"])
    assert set(strict.buckets(NOW - 3600, NOW)["good"]) == {0.0}
    server.route("GET", "/api/v2/components.json", Reply(200, components("under_maintenance")))
    observations = adapter(server.url).observe(NOW - 3600, NOW)
    assert len(observations) == 9 and all(o.up is None for o in observations)
    assert adapter(server.url).buckets(NOW - 3600, NOW).empty


def test_component_by_id_and_the_window_bounds(server: LocalServer) -> None:
    server.route("GET", "/api/v2/components.json", Reply(200, components("major_outage")))
    buckets = adapter(server.url, component="c1").buckets(NOW - 5 * 60, NOW - 2 * 60)
    assert buckets["start"].tolist() == [NOW - 300, NOW - 240, NOW - 180]


def test_page_level_indicator_from_status_json(server: LocalServer) -> None:
    server.route("GET", "/api/v2/status.json", Reply(200, page_status("minor")))
    assert set(adapter(server.url, component="").buckets(NOW - 3600, NOW)["good"]) == {1.0}
    server.route("GET", "/api/v2/status.json", Reply(200, page_status("critical")))
    page = adapter(server.url, component="").buckets(NOW - 3600, NOW)
    assert len(page) == 9 and set(page["good"]) == {0.0}


def test_unknown_component_lists_the_available_ones(server: LocalServer) -> None:
    server.route("GET", "/api/v2/components.json", Reply(200, components("operational")))
    with pytest.raises(ThirdPartyStatusError) as caught:
        adapter(server.url, component="Billing").observe(NOW - 60, NOW)
    assert str(caught.value) == (
        f"{server.url}/api/v2/components.json: no component named 'Billing' (components: API, Dashboard)"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("<html>Oops</html>", "/api/v2/components.json: response is not JSON (body: <html>Oops</html>)"),
        ('{"page": {}}', "/api/v2/components.json: field 'components' must be a list (got nothing)"),
        ('["a", "b"]', "/api/v2/components.json: expected a JSON object (got list)"),
        (
            components("on_fire"),
            ": unknown status 'on_fire' (known: operational, degraded_performance, partial_outage, "
            "major_outage, under_maintenance)",
        ),
        (
            components("operational", updated=0).replace("1970-01-01T00:00:00+00:00", "yesterday"),
            "/api/v2/components.json component 'API': updated_at is not an ISO 8601 time (got 'yesterday')",
        ),
    ],
)
def test_garbage_responses_give_a_clear_error(server: LocalServer, body: str, message: str) -> None:
    server.route("GET", "/api/v2/components.json", Reply(200, body))
    with pytest.raises(ThirdPartyStatusError) as caught:
        adapter(server.url).observe(NOW - 60, NOW)
    assert str(caught.value) == server.url + message


def test_503_is_retried_then_succeeds(server: LocalServer) -> None:
    answers = iter([Reply(503, "busy"), Reply(503, "busy"), Reply(200, components("major_outage"))])
    server.route("GET", "/api/v2/components.json", lambda _seen: next(answers))
    buckets = adapter(server.url, attempts=3, backoff_seconds=0.01).buckets(NOW - 3600, NOW)
    assert len(buckets) == 9
    assert len(server.seen) == 3


def test_persistent_503_gives_up_with_a_clear_error(server: LocalServer) -> None:
    server.route("GET", "/api/v2/components.json", Reply(503, "busy"))
    with pytest.raises(ThirdPartyStatusError) as caught:
        adapter(server.url, attempts=3, backoff_seconds=0.01).observe(NOW - 60, NOW)
    assert str(caught.value) == f"{server.url}/api/v2/components.json: HTTP 503 after 3 attempts"
    assert len(server.seen) == 3


def test_client_errors_are_not_retried(server: LocalServer) -> None:
    server.route("GET", "/api/v2/components.json", Reply(403, "forbidden"))
    with pytest.raises(ThirdPartyStatusError, match=r"HTTP 403 \(body: forbidden\)"):
        adapter(server.url, backoff_seconds=0.01).observe(NOW - 60, NOW)
    assert len(server.seen) == 1


def test_unreachable_page_gives_up_with_a_clear_error() -> None:
    url = refused_url()
    with pytest.raises(ThirdPartyStatusError) as caught:
        adapter(url, attempts=2, backoff_seconds=0.01).observe(NOW - 60, NOW)
    assert (
        str(caught.value)
        == f"{url}/api/v2/components.json: cannot connect (ConnectionError) after 2 attempts"
    )


def test_misconfigured_mapping_is_named() -> None:
    with pytest.raises(ThirdPartyStatusError, match=r"StatusPageAdapter.page_url: must be an http\(s\) URL"):
        adapter("status.vendor.test").observe(0, 60)


def test_another_adapter_only_implements_observe() -> None:
    class Always(ThirdPartyStatusAdapter):
        up: bool

        def observe(self, since: int, until: int) -> list[StatusObservation]:
            return [StatusObservation(m, self.up, "fixed") for m in range(since, until, 60)]

    assert Always(slo="s", up=False).buckets(0, 180).to_dict("records") == [
        {"slo": "s", "start": s, "good": 0.0, "total": 1.0} for s in (0, 60, 120)
    ]
    with pytest.raises(TypeError):
        ThirdPartyStatusAdapter(slo="s")  # type: ignore[abstract]


def test_status_buckets_last_observation_of_a_minute_wins() -> None:
    frame = status_buckets(
        [StatusObservation(0, True, "a"), StatusObservation(0, False, "b"), StatusObservation(60, None, "m")],
        "s",
    )
    assert frame.to_dict("records") == [{"slo": "s", "start": 0, "good": 0.0, "total": 1.0}]
    with pytest.raises(ValueError, match="not aligned"):
        status_buckets([StatusObservation(30, True, "a")], "s")
