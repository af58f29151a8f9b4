"""Synthetic probes: parsing, a real HTTP server with injected failures, buckets, and a Dagster run."""

import json
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from slo_pipelines.assets.probes import PROBE_TICK_TAG, probe_results
from slo_pipelines.catalog import CatalogError
from slo_pipelines.catalog.probes import Probe, load_probes, parse_json_path
from slo_pipelines.engine.sli.probe_results import ProbeOutcome, StepOutcome, probe_buckets
from slo_pipelines.resources.probes import ProbeConfigError, ProbeRunnerResource
from slo_pipelines.resources.warehouse import WarehouseResource
from slo_pipelines.sensors.probes_schedule import synthetic_probes
from tests.local_http import LocalServer, Reply, Seen, local_server, refused_url

T0 = 1_793_491_200  # 2026-11-01T00:00:00Z, a multiple of 15 minutes

CHECKOUT = """
name: checkout
slo: checkout-synthetic
steps:
  - name: list
    path: /products
    expect: {status: 200, jsonPath: {"$.items[0].available": true}}
    capture: {sku: "$.items[0].sku"}
    latencyBudgetMs: 2000
  - name: add
    method: POST
    path: /cart
    body: {sku: "{{sku}}", quantity: 1}
    expect: {status: 201, bodyContains: "{{sku}}"}
    capture: {cartId: "$.id"}
    latencyBudgetMs: 2000
  - name: pay
    method: POST
    path: /cart/{{cartId}}/pay
    expect: {status: [200, 202], jsonPath: {"$.status": accepted}}
    latencyBudgetMs: 2000
"""


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def one_probe(tmp_path: Path, text: str) -> Probe:
    [probe] = load_probes(write(tmp_path / "probes", "p.yaml", text))
    return probe


def healthy_shop(server: LocalServer) -> None:
    server.route("GET", "/products", Reply(200, json.dumps({"items": [{"sku": "ABC-1", "available": True}]})))

    def add(seen: Seen) -> Reply:
        sku = json.loads(seen.body)["sku"]
        return Reply(201, json.dumps({"id": "c42", "items": [sku]}), {"Set-Cookie": "session=s1; Path=/"})

    server.route("POST", "/cart", add)

    def pay(seen: Seen) -> Reply:
        ok = seen.headers.get("Cookie") == "session=s1"
        return Reply(202 if ok else 401, json.dumps({"status": "accepted" if ok else "no session"}))

    server.route("POST", "/cart/c42/pay", pay)


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with local_server() as s:
        yield s


# ---- parsing --------------------------------------------------------------------------------------


def test_every_problem_is_reported_with_file_field_path_and_value(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "bad.yaml",
        """
        name: broken
        slo: checkout-synthetic
        interval: 7m
        retries: 3
        steps:
          - name: home
            path: https://shop.example.com/
            expect: {status: 999}
            latencyBudgetMs: -5
          - name: cart
            method: FETCH
            path: /cart/{{cartId}}
            expect: {status: 200, jsonPath: {"items[0]": 1}}
            latencyBudgetMs: 100
        """,
    )
    with pytest.raises(CatalogError) as caught:
        load_probes(path)
    shown = path.as_posix()
    lines = str(caught.value).splitlines()
    assert f'{shown}[0] interval: must be a multiple of 5m, the probe schedule\'s tick (got "7m")' in lines
    assert any(line.startswith(f"{shown}[0] retries: unknown field") for line in lines)
    assert (
        f"{shown}[0] steps[0].path: must be a path starting with / (the base URL comes from configuration) "
        f'(got "https://shop.example.com/")'
    ) in lines
    assert (
        f"{shown}[0] steps[0].expect.status: must be an HTTP status (100-599) or a list of them (got 999)"
        in lines
    )
    assert f"{shown}[0] steps[0].latencyBudgetMs: must be positive (got -5)" in lines
    assert any(
        line.startswith(f"{shown}[0] steps[1].method: must be one of GET") and '(got "FETCH")' in line
        for line in lines
    )
    assert (
        f"{shown}[0] steps[1].path: uses {{{{cartId}}}}, which no earlier step captures (captured: none yet)"
        in lines
    )
    assert any(
        line.startswith(f"{shown}[0] steps[1].expect.jsonPath.items[0]: must start with $") for line in lines
    )
    assert len(lines) == 8


def test_duplicate_probe_names_across_files_name_both_places(tmp_path: Path) -> None:
    body = "slo: s\nsteps: [{name: a, path: /, expect: {status: 200}, latencyBudgetMs: 10}]\n"
    write(tmp_path, "a.yaml", "name: home\n" + body)
    write(tmp_path, "b.yaml", "name: home\n" + body)
    with pytest.raises(CatalogError) as caught:
        load_probes(tmp_path)
    assert str(caught.value) == (
        f"{(tmp_path / 'b.yaml').as_posix()}[0] name: duplicate probe name "
        f'(also in {(tmp_path / "a.yaml").as_posix()}[0]) (got "home")'
    )


def test_example_probes_load_and_follow_their_intervals() -> None:
    probes = {p.name: p for p in load_probes("examples/probes")}
    assert set(probes) == {"checkout-purchase", "checkout-health"}
    assert [s.name for s in probes["checkout-purchase"].steps] == ["list products", "add to cart", "pay"]
    health = probes["checkout-health"]
    assert health.interval_seconds == 900
    assert [health.is_due(T0 + k * 300) for k in range(4)] == [True, False, False, True]
    assert all(probes["checkout-purchase"].is_due(T0 + k * 300) for k in range(4))


def test_json_path_subset() -> None:
    assert parse_json_path('$.items[2]["odd key"].id') == ("items", 2, "odd key", "id")
    assert parse_json_path("$") == ()


# ---- running against a real server -----------------------------------------------------------------


def test_multi_step_transaction_carries_captures_and_cookies(server: LocalServer, tmp_path: Path) -> None:
    healthy_shop(server)
    outcome = ProbeRunnerResource(base_url=server.url).run(one_probe(tmp_path, CHECKOUT))
    assert outcome.passed, outcome.summary()
    assert [s.status for s in outcome.steps] == [200, 201, 202]
    assert json.loads(server.seen[1].body) == {"sku": "ABC-1", "quantity": 1}
    assert server.seen[2].path == "/cart/c42/pay"
    assert outcome.latency_ms == pytest.approx(sum(s.latency_ms or 0 for s in outcome.steps))


def test_server_error_fails_the_step_and_stops_the_transaction(server: LocalServer, tmp_path: Path) -> None:
    healthy_shop(server)
    server.route("POST", "/cart", Reply(500, "upstream exploded"))
    outcome = ProbeRunnerResource(base_url=server.url).run(one_probe(tmp_path, CHECKOUT))
    assert not outcome.passed
    assert outcome.summary()["failing_step"] == "add"
    assert outcome.summary()["reason"] == "status 500, expected 201 (body: upstream exploded)"
    assert [s.path for s in server.seen] == ["/products", "/cart"]  # pay never ran


def test_wrong_body_and_wrong_json_value_are_reported(server: LocalServer, tmp_path: Path) -> None:
    healthy_shop(server)
    server.route("POST", "/cart", Reply(201, json.dumps({"id": "c42", "items": []})))
    outcome = ProbeRunnerResource(base_url=server.url).run(one_probe(tmp_path, CHECKOUT))
    assert outcome.summary()["reason"] == 'body does not contain "ABC-1" (body: {"id": "c42", "items": []})'

    server.route(
        "GET", "/products", Reply(200, json.dumps({"items": [{"sku": "ABC-1", "available": False}]}))
    )
    outcome = ProbeRunnerResource(base_url=server.url).run(one_probe(tmp_path, CHECKOUT))
    assert outcome.summary()["failing_step"] == "list"
    assert outcome.summary()["reason"] == "$.items[0].available is false, expected true"

    server.route("GET", "/products", Reply(200, "<html>maintenance</html>"))
    outcome = ProbeRunnerResource(base_url=server.url).run(one_probe(tmp_path, CHECKOUT))
    assert outcome.summary()["reason"] == (
        "body is not JSON, so its values cannot be checked (body: <html>maintenance</html>)"
    )


def test_slow_answer_breaks_the_latency_budget_and_a_hang_times_out(
    server: LocalServer, tmp_path: Path
) -> None:
    probe = one_probe(
        tmp_path,
        """
        name: slow
        slo: s
        steps: [{name: home, path: /, expect: {status: 200}, latencyBudgetMs: 100}]
        """,
    )
    server.route("GET", "/", Reply(200, "ok", delay_seconds=0.3))
    outcome = ProbeRunnerResource(base_url=server.url).run(probe)
    [step] = outcome.steps
    assert not step.passed and step.status == 200
    assert step.latency_ms is not None and step.latency_ms >= 300
    assert step.reason == f"took {step.latency_ms:.0f} ms, over the 100 ms budget"

    server.route("GET", "/", Reply(200, "ok", delay_seconds=2.0))
    outcome = ProbeRunnerResource(base_url=server.url, read_timeout_seconds=0.3).run(probe)
    assert outcome.summary()["reason"] == "read timeout: no response within 0.3 s"
    assert outcome.steps[0].status is None


def test_refused_connection_is_a_bad_result_not_a_crash(tmp_path: Path) -> None:
    outcome = ProbeRunnerResource(base_url=refused_url()).run(one_probe(tmp_path, CHECKOUT))
    assert not outcome.passed
    assert outcome.summary()["failing_step"] == "list"
    assert outcome.summary()["reason"] == "connection failed: Connection refused"


def test_base_url_comes_from_configuration(
    server: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.route("GET", "/", Reply(200, "ok"))
    probe = one_probe(
        tmp_path,
        """
        name: env
        slo: s
        baseUrlEnv: SHOP_STAGING_URL
        steps: [{name: home, path: /, expect: {status: 200}, latencyBudgetMs: 1000}]
        """,
    )
    monkeypatch.delenv("SHOP_STAGING_URL", raising=False)
    with pytest.raises(
        ProbeConfigError, match="probe env: no base URL: environment variable SHOP_STAGING_URL"
    ):
        ProbeRunnerResource(base_url=server.url).run(probe)
    monkeypatch.setenv("SHOP_STAGING_URL", server.url + "/")
    assert ProbeRunnerResource().run(probe).passed
    with pytest.raises(ProbeConfigError, match="no base URL"):
        ProbeRunnerResource().run(one_probe(tmp_path, CHECKOUT))
    with pytest.raises(ProbeConfigError, match="must be an http"):
        ProbeRunnerResource(base_url="staging.example.com").run(one_probe(tmp_path, CHECKOUT))


# ---- outcomes to buckets ---------------------------------------------------------------------------


def outcome(slo: str, at: float, passed: bool) -> ProbeOutcome:
    return ProbeOutcome("p", slo, at, (StepOutcome("s", passed),), 1.0)


def test_outcomes_become_minute_buckets_summed_per_slo() -> None:
    buckets = probe_buckets(
        [
            outcome("a", T0 + 5.5, True),
            outcome("a", T0 + 59.9, False),
            outcome("a", T0 + 60, True),
            outcome("b", T0 + 1, True),
        ]
    )
    assert buckets.to_dict("records") == [
        {"slo": "a", "start": T0, "good": 1.0, "total": 2.0},
        {"slo": "a", "start": T0 + 60, "good": 1.0, "total": 1.0},
        {"slo": "b", "start": T0, "good": 1.0, "total": 1.0},
    ]
    assert probe_buckets([]).columns.tolist() == ["slo", "start", "good", "total"]
    assert not ProbeOutcome("p", "a", T0, (), 0.0).passed  # a transaction with no steps proves nothing


def test_runner_stamps_the_run_time_into_the_bucket(server: LocalServer, tmp_path: Path) -> None:
    server.route("GET", "/products", Reply(503, "busy"))
    result = ProbeRunnerResource(base_url=server.url).run(
        one_probe(tmp_path, CHECKOUT), clock=lambda: T0 + 61.0
    )
    assert probe_buckets([result]).to_dict("records") == [
        {"slo": "checkout-synthetic", "start": T0 + 60, "good": 0.0, "total": 1.0}
    ]


# ---- Dagster -------------------------------------------------------------------------------------


def test_materialize_probe_results_writes_buckets_and_metadata(server: LocalServer, tmp_path: Path) -> None:
    healthy_shop(server)
    probes_dir = tmp_path / "probes"
    write(probes_dir, "checkout.yaml", CHECKOUT)
    write(
        probes_dir,
        "broken.yaml",
        """
        name: search
        slo: search-synthetic
        interval: 15m
        steps: [{name: query, path: /search?q=x, expect: {status: 200}, latencyBudgetMs: 1000}]
        """,
    )
    warehouse = WarehouseResource(url=f"sqlite:///{tmp_path}/w.db")
    resources = {
        "probe_runner": ProbeRunnerResource(base_url=server.url, probes_dir=str(probes_dir)),
        "warehouse": warehouse,
    }

    before = datetime.now(UTC).timestamp()
    result = dg.materialize([probe_results], resources=resources)
    assert result.success
    meta = result.asset_materializations_for_node("probe_results")[0].metadata
    assert meta["probes_run"].value == 2 and meta["probes_passed"].value == 1
    search: Any = meta["probe/search"].value
    assert search == {
        "probe": "search",
        "slo": "search-synthetic",
        "passed": False,
        "latency_ms": search["latency_ms"],
        "failing_step": "query",
        "reason": "status 404, expected 200 (body: not found)",
    }
    checkout: Any = meta["probe/checkout"].value
    assert checkout["passed"] is True
    stored = warehouse.read_buckets(int(before) - 120, int(before) + 3600)
    assert stored[["slo", "good", "total"]].to_dict("records") == [
        {"slo": "checkout-synthetic", "good": 1.0, "total": 1.0},
        {"slo": "search-synthetic", "good": 0.0, "total": 1.0},
    ]
    assert all(int(s) % 60 == 0 and int(s) >= int(before) - 60 for s in stored["start"])

    # a scheduled tick at :05 runs only the 5-minute probe
    seen_before = len(server.seen)
    tick = datetime.fromtimestamp(T0 + 300, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    ticked = dg.materialize([probe_results], resources=resources, tags={PROBE_TICK_TAG: tick})
    assert ticked.success
    assert ticked.asset_materializations_for_node("probe_results")[0].metadata["probes_run"].value == 1
    assert all(not s.path.startswith("/search") for s in server.seen[seen_before:])
    warehouse.dispose()


def test_invalid_probe_files_fail_the_run_with_the_issue(tmp_path: Path) -> None:
    bad = write(tmp_path / "probes", "bad.yaml", "name: x\nslo: s\nsteps: []\n")
    result = dg.materialize(
        [probe_results],
        resources={
            "probe_runner": ProbeRunnerResource(
                base_url="http://127.0.0.1:9", probes_dir=str(tmp_path / "probes")
            ),
            "warehouse": WarehouseResource(url=f"sqlite:///{tmp_path}/w.db"),
        },
        raise_on_error=False,
    )
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    description: Any = failure.step_failure_data.user_failure_data.description  # type: ignore[union-attr]
    assert f"{bad.as_posix()}[0] steps: must not be empty" in description


def test_schedule_runs_every_five_minutes_in_utc_and_tags_the_tick() -> None:
    assert synthetic_probes.name == "synthetic_probes"
    assert synthetic_probes.cron_schedule == "*/5 * * * *"
    assert synthetic_probes.execution_timezone == "UTC"
    context = dg.build_schedule_context(scheduled_execution_time=datetime(2026, 11, 1, 0, 5, tzinfo=UTC))
    request = synthetic_probes.evaluate_tick(context).run_requests[0]  # type: ignore[index]
    assert request.tags[PROBE_TICK_TAG] == "2026-11-01T00:05:00Z"
    assert request.run_key == "probes:2026-11-01T00:05:00Z"
