"""Burn-rate notifications: payloads, gates, the delivery log, and real HTTP delivery to local servers
that play PagerDuty Events v2 and Opsgenie Alert v2 (including their failures)."""

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from urllib.parse import quote

import numpy as np
import pandas as pd
import pytest

from slo_pipelines.catalog.models import ExclusionRule, Scope
from slo_pipelines.engine.alerting.notification_log import DeliveryRecord, Owed, owed_notifications
from slo_pipelines.engine.alerting.payloads import (
    AlertEvent,
    AlertPayloadError,
    BudgetContext,
    Decision,
    KnownIncident,
    Links,
    Notification,
    build_notification,
    dedup_key,
    events_between,
    gate,
    links_from_annotations,
    low_traffic_decision,
    suppression_decision,
    top_burning_hour,
)
from slo_pipelines.engine.exclusions.intervals import ExclusionInterval
from slo_pipelines.resources.notifiers import OpsgenieNotifier, PagerDutyNotifier, flatten_details
from tests.local_http import LocalServer, Reply, Route, Seen, local_server, refused_url

T0 = 1_772_000_000 // 3600 * 3600
PD_OK = Reply(202, json.dumps({"status": "success", "message": "Event processed", "dedup_key": "k"}))
OG_OK = Reply(202, json.dumps({"result": "Request will be processed", "took": 0.1, "requestId": "req-1"}))
BURNS = {"5m": 20.0, "30m": 16.0, "1h": 15.2, "2h": 9.0, "6h": 4.0, "1d": 1.5, "3d": float("nan")}


def event(severity: str = "page", ended: int | None = None, slo: str = "checkout-availability") -> AlertEvent:
    long, short, thr = ("1h", "5m", 14.4) if severity == "page" else ("1d", "2h", 3.0)
    return AlertEvent(slo, "ok-99.9", severity, long, short, thr, T0, ended)


def context(events: float = 5000.0, service: str = "checkout") -> BudgetContext:
    return BudgetContext(
        service=service,
        target=0.999,
        remaining_ratio=0.42,
        burn_rates=BURNS,
        window_start=T0 - 30 * 86400,
        window_end=T0,
        long_window_events=events,
        top_burning_hour=T0 - 3600,
        top_burning_hour_bad=37.0,
        links=Links("https://runbooks.example/{slo}", "https://grafana.example/d/slo?var-slo={slo}"),
    )


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with local_server() as s:
        yield s


def pagerduty(url: str, **kwargs: object) -> PagerDutyNotifier:
    settings: dict[str, object] = {"base_url": url, "routing_key": "R" * 32, "backoff_seconds": 0.01}
    settings.update(kwargs)
    return PagerDutyNotifier(**settings)  # type: ignore[arg-type]


def opsgenie(url: str, **kwargs: object) -> OpsgenieNotifier:
    settings: dict[str, object] = {"base_url": url, "api_key": "genie-123", "backoff_seconds": 0.01}
    settings.update(kwargs)
    return OpsgenieNotifier(**settings)  # type: ignore[arg-type]


def scripted(replies: list[Reply], times: list[float]) -> Route:
    """A route answering `replies` in turn (the last one forever) and noting when each request came."""

    def route(_seen: Seen) -> Reply:
        times.append(time.monotonic())
        return replies.pop(0) if len(replies) > 1 else replies[0]

    return route


# ---- payloads ------------------------------------------------------------------------------------


def test_dedup_key_names_the_rule_and_is_stable_across_processes() -> None:
    key = dedup_key(event())
    assert key == "slo-pipelines/checkout-availability/ok-99.9/page/1h-5m"
    code = (
        "from slo_pipelines.engine.alerting.payloads import AlertEvent, dedup_key;"
        f"print(dedup_key(AlertEvent('checkout-availability','ok-99.9','page','1h','5m',14.4,{T0 + 999})))"
    )
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert other.stdout.strip() == key  # another run, another start: same key, so resolve finds trigger
    assert dedup_key(event("ticket")) != key
    with pytest.raises(AlertPayloadError, match="255"):
        dedup_key(event(slo="s" * 300))


def test_notification_carries_budget_context_links_and_mapped_severity() -> None:
    n = build_notification(event(), context(), "trigger")
    assert n.severity == "critical" and n.alert_severity == "page"
    assert n.summary.startswith("[PAGE] checkout-availability/ok-99.9 (checkout) burning error budget")
    assert "15.2x over 1h" in n.summary and "42.0% budget left" in n.summary
    d = n.details
    assert d["remaining_budget_ratio"] == 0.42
    assert d["burn_rates"]["1h"] == 15.2 and d["burn_rates"]["3d"] is None  # NaN travels as null
    assert set(d["burn_rates"]) == {"5m", "30m", "1h", "2h", "6h", "1d", "3d"}
    assert d["window"] == {"start": "2026-01-26T06:00:00Z", "end": "2026-02-25T06:00:00Z"}
    assert d["top_burning_hour"] == {"start": "2026-02-25T05:00:00Z", "bad_events": 37.0}
    assert d["runbook_url"] == "https://runbooks.example/checkout-availability"
    assert n.links.dashboard_url == "https://grafana.example/d/slo?var-slo=checkout-availability"
    assert build_notification(event("ticket"), context(), "trigger").severity == "warning"
    long = build_notification(
        event(slo="x" * 120), BudgetContext(**{**context().__dict__, "service": "y" * 1500}), "trigger"
    )
    assert len(long.summary) == 1024
    with pytest.raises(AlertPayloadError, match="still firing"):
        build_notification(event(), context(), "resolve")


def test_links_come_from_annotations_before_the_fallback() -> None:
    fallback = Links("https://rb/{slo}", "https://dash/{slo}")
    links = links_from_annotations({"runbook_url": "https://wiki/checkout"}, fallback)
    assert links == Links("https://wiki/checkout", "https://dash/{slo}")
    assert links_from_annotations({}, Links()) == Links()


def test_bad_alert_rows_give_one_line_errors() -> None:
    row = {
        "slo": "a",
        "objective": "o",
        "severity": "pager",
        "long_window": "1h",
        "short_window": "5m",
        "threshold": 14.4,
        "started_at": T0,
        "ended_at": None,
    }
    with pytest.raises(
        AlertPayloadError,
        match=r"alert event a/o: severity must be one of page, critical, .* \(got 'pager'\)",
    ):
        AlertEvent.from_row(row)
    with pytest.raises(AlertPayloadError, match="long_window must be a window such as 5m"):
        AlertEvent.from_row({**row, "severity": "page", "long_window": "2 weeks"})
    # an AlertPolicy condition's lookback is any window, its severity one of the mapped words
    policy = AlertEvent.from_row({**row, "severity": "high", "long_window": "15m", "short_window": "15m"})
    assert build_notification(policy, context(), "trigger").severity == "error"
    assert AlertEvent.from_row({**row, "severity": "page", "ended_at": float("nan")}).ended_at is None
    stored = pd.DataFrame([{**row, "severity": "page"}]).astype(
        {"ended_at": "Int64"}
    )  # as the warehouse reads it
    assert AlertEvent.from_row(stored.iloc[0]).ended_at is None
    assert AlertEvent.from_row({**row, "severity": "page", "ended_at": T0 + 60.0}).ended_at == T0 + 60


def test_top_burning_hour_and_traffic_match_a_direct_sum() -> None:
    rng = np.random.default_rng(7)
    starts = np.arange(T0 - 6 * 3600, T0, 60)
    total = rng.integers(0, 50, starts.size).astype(float)
    good = total - rng.integers(0, 3, starts.size).clip(max=total)
    found = top_burning_hour(starts, good, total, T0 - 5 * 3600, T0)
    per_hour = {
        h: float((total - good)[(starts >= h) & (starts < h + 3600)].sum())
        for h in range(T0 - 5 * 3600, T0, 3600)
    }
    best = max(per_hour.values())
    assert found == (min(h for h, v in per_hour.items() if v == best), best)
    assert events_between(starts, total, T0 - 3600, T0) == float(total[-60:].sum())
    assert top_burning_hour(starts, total, total, T0 - 3600, T0) is None  # nothing bad, no hour to blame


# ---- gates ---------------------------------------------------------------------------------------


def test_low_traffic_guard_holds_pages_only_and_says_why() -> None:
    held = low_traffic_decision(event(), context(events=42), min_events=100)
    assert held == Decision(
        False, "low_traffic", "1h window had 42 events, fewer than the 100 needed to page"
    )
    assert low_traffic_decision(event(), context(events=100), min_events=100).send
    assert low_traffic_decision(event("ticket"), context(events=3)).send
    assert not low_traffic_decision(event(), context(events=999), min_events=1000).send


def maintenance(scope: Scope, start: int, end: int) -> ExclusionInterval:
    rule = ExclusionRule(
        "db-upgrade", "MaintenanceWindow", "maintenance", scope, "upgrade", "cab", start, end
    )
    return ExclusionInterval(rule, start, end)


def test_suppression_by_known_incident_or_active_maintenance_is_recorded_with_reason() -> None:
    incident = KnownIncident("PD-42", "checkout", T0 - 600, None, "checkout 5xx")
    d = suppression_decision(event(), "checkout", T0, [incident])
    assert d == Decision(False, "incident", "incident PD-42 (checkout 5xx) already covers service checkout")
    assert suppression_decision(event(), "search", T0, [incident]).send
    assert suppression_decision(
        event(), "checkout", T0, [KnownIncident("PD-1", "checkout", T0 - 600, T0)]
    ).send
    window = maintenance(Scope(service="checkout"), T0 - 60, T0 + 3600)
    d = suppression_decision(event(), "checkout", T0, maintenance=[window])
    assert not d.send and d.rule == "maintenance"
    assert "MaintenanceWindow db-upgrade (maintenance) active 2026-02-25T05:59:00Z" in d.reason
    assert suppression_decision(event(), "checkout", T0 + 3600, maintenance=[window]).send  # end is exclusive
    assert suppression_decision(
        event(), "checkout", T0, maintenance=[maintenance(Scope(slo="other"), 0, T0 + 1)]
    ).send
    # suppression wins over the low-traffic guard: it is the more useful explanation
    assert gate(event(), context(events=1), T0, [incident]).rule == "incident"
    assert gate(event(), context(events=1), T0).rule == "low_traffic"
    assert gate(event(), context(), T0).send


# ---- delivery log --------------------------------------------------------------------------------


def record(e: AlertEvent, action: str, outcome: str) -> DeliveryRecord:
    return DeliveryRecord("pagerduty", dedup_key(e), e.started_at, action, outcome, T0)  # type: ignore[arg-type]


def test_trigger_once_per_run_resolve_when_it_ends_failed_ones_stay_owed() -> None:
    firing, ended = event(), AlertEvent("a", "o", "ticket", "1d", "2h", 3.0, T0 - 7200, T0 - 60)
    owed = owed_notifications([firing, ended], [], "pagerduty")
    assert [(o.event.slo, o.action) for o in owed] == [
        ("a", "trigger"),
        ("a", "resolve"),
        (firing.slo, "trigger"),
    ]
    assert owed[1].needs_trigger
    log = [record(firing, "trigger", "delivered"), record(ended, "trigger", "failed")]
    owed = owed_notifications([firing, ended], log, "pagerduty")
    assert [(o.event.slo, o.action) for o in owed] == [("a", "trigger"), ("a", "resolve")]
    log += [record(ended, "trigger", "delivered"), record(ended, "resolve", "delivered")]
    assert owed_notifications([firing, ended], log, "pagerduty") == []
    assert len(owed_notifications([firing, ended], log, "opsgenie")) == 3  # each provider has its own log
    # the same rule firing again later is a new run: a new trigger under the same dedup key
    again = AlertEvent("a", "o", "ticket", "1d", "2h", 3.0, T0 + 600)
    assert [o.action for o in owed_notifications([ended, again], log, "pagerduty")] == ["trigger"]


def test_suppressed_trigger_means_suppressed_resolve_and_stale_runs_are_not_paged() -> None:
    ended = AlertEvent("a", "o", "page", "1h", "5m", 14.4, T0 - 7200, T0 - 60)
    owed = owed_notifications([ended], [record(ended, "trigger", "suppressed")], "pagerduty")
    assert [(o.action, o.send, o.rule) for o in owed] == [("resolve", False, "trigger_not_delivered")]
    owed = owed_notifications([ended], [], "pagerduty", stale_before=T0)
    assert [(o.action, o.send, o.rule) for o in owed] == [
        ("trigger", False, "stale"),
        ("resolve", False, "trigger_not_delivered"),
    ]
    assert all(o.send for o in owed_notifications([ended], [], "pagerduty", stale_before=T0 - 3600))


# ---- PagerDuty over HTTP -------------------------------------------------------------------------


def test_pagerduty_trigger_and_resolve_payloads(server: LocalServer) -> None:
    server.route("POST", "/v2/enqueue", PD_OK)
    notifier = pagerduty(server.url)
    delivered = notifier.send(build_notification(event(), context(), "trigger"), now=T0 + 5)
    assert (delivered.outcome, delivered.attempts, delivered.status_code) == ("delivered", 1, 202)
    assert (delivered.provider, delivered.action, delivered.attempted_at) == ("pagerduty", "trigger", T0 + 5)
    body = json.loads(server.seen[0].body)
    assert server.seen[0].headers["Content-Type"] == "application/json"
    assert body["routing_key"] == "R" * 32
    assert body["event_action"] == "trigger"
    assert body["dedup_key"] == "slo-pipelines/checkout-availability/ok-99.9/page/1h-5m"
    p = body["payload"]
    assert p["severity"] == "critical" and p["source"] == "slo-pipelines"
    assert p["summary"].startswith("[PAGE] checkout-availability") and len(p["summary"]) <= 1024
    assert p["timestamp"] == "2026-02-25T06:00:00Z"
    assert (p["component"], p["group"]) == ("checkout-availability", "checkout")
    assert p["custom_details"]["burn_rates"]["1h"] == 15.2
    assert p["custom_details"]["remaining_budget_ratio"] == 0.42
    assert p["custom_details"]["top_burning_hour"]["start"] == "2026-02-25T05:00:00Z"
    assert body["links"] == [
        {"href": "https://runbooks.example/checkout-availability", "text": "Runbook"},
        {"href": "https://grafana.example/d/slo?var-slo=checkout-availability", "text": "Dashboard"},
    ]
    ticket = notifier.send(build_notification(event("ticket"), context(), "trigger"))
    assert (
        ticket.outcome == "delivered" and json.loads(server.seen[1].body)["payload"]["severity"] == "warning"
    )
    resolved = notifier.send(build_notification(event(ended=T0 + 900), context(), "resolve"))
    assert resolved.outcome == "delivered"
    assert json.loads(server.seen[2].body) == {
        "routing_key": "R" * 32,
        "event_action": "resolve",
        "dedup_key": body["dedup_key"],
    }


def test_routing_key_from_environment(server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    server.route("POST", "/v2/enqueue", PD_OK)
    monkeypatch.setenv("MY_PD_KEY", "E" * 32)
    notifier = pagerduty(server.url, routing_key="", routing_key_env="MY_PD_KEY")
    assert notifier.send(build_notification(event(), context(), "trigger")).outcome == "delivered"
    assert json.loads(server.seen[0].body)["routing_key"] == "E" * 32
    monkeypatch.delenv("MY_PD_KEY")
    failed = notifier.send(build_notification(event(), context(), "trigger"))
    assert failed.outcome == "failed" and failed.attempts == 0 and len(server.seen) == 1
    assert "PagerDutyNotifier.routing_key: empty" in failed.reason and "MY_PD_KEY" in failed.reason


def test_retries_429_503_and_garbage_with_growing_backoff_then_delivers(server: LocalServer) -> None:
    times: list[float] = []
    replies = [Reply(429, "slow down"), Reply(503, "unavailable"), Reply(200, "<html>proxy</html>"), PD_OK]
    server.route("POST", "/v2/enqueue", scripted(replies, times))
    notifier = pagerduty(server.url, backoff_seconds=0.05, attempts=5)
    result = notifier.send(build_notification(event(), context(), "trigger"))
    assert (result.outcome, result.attempts, result.status_code) == ("delivered", 4, 202)
    assert len(server.seen) == 4
    assert len({s.body for s in server.seen}) == 1  # every retry is the same idempotent event
    gaps = np.diff(times)
    assert gaps[0] >= 0.05 and gaps[1] >= 0.10 and gaps[2] >= 0.20


def test_retry_after_stretches_the_wait(server: LocalServer) -> None:
    times: list[float] = []
    server.route("POST", "/v2/enqueue", scripted([Reply(429, "", {"Retry-After": "0.3"}), PD_OK], times))
    result = pagerduty(server.url, backoff_seconds=0.01).send(
        build_notification(event(), context(), "trigger")
    )
    assert result.outcome == "delivered" and times[1] - times[0] >= 0.3


def test_400_is_not_retried_and_names_endpoint_and_body(server: LocalServer) -> None:
    bad = {
        "status": "invalid event",
        "message": "Event object is invalid",
        "errors": ["Length of 'routing_key' is incorrect"],
    }
    server.route("POST", "/v2/enqueue", Reply(400, json.dumps(bad)))
    result = pagerduty(server.url, attempts=5).send(build_notification(event(), context(), "trigger"))
    assert (result.outcome, result.attempts, result.status_code) == ("failed", 1, 400)
    assert len(server.seen) == 1
    assert f"POST {server.url}/v2/enqueue: HTTP 400" in result.reason
    assert "Length of 'routing_key' is incorrect" in result.reason and "not retried" in result.reason


def test_endpoint_down_or_always_garbage_fails_after_all_attempts(server: LocalServer) -> None:
    down = pagerduty(refused_url(), attempts=3).send(build_notification(event(), context(), "trigger"))
    assert (down.outcome, down.attempts) == ("failed", 3)
    assert "cannot connect" in down.reason and "gave up after 3 attempts" in down.reason
    server.route("POST", "/v2/enqueue", Reply(202, json.dumps({"status": "nope"})))
    odd = pagerduty(server.url, attempts=2).send(build_notification(event(), context(), "trigger"))
    assert odd.outcome == "failed" and len(server.seen) == 2 and "unexpected answer" in odd.reason
    assert '"status": "nope"' in odd.reason
    wrong = pagerduty("ftp://x").send(build_notification(event(), context(), "trigger"))
    assert wrong.outcome == "failed" and "PagerDutyNotifier.base_url: must be an http(s) URL" in wrong.reason


# ---- Opsgenie over HTTP --------------------------------------------------------------------------


def test_opsgenie_create_payload(server: LocalServer) -> None:
    server.route("POST", "/v2/alerts", OG_OK)
    notifier = opsgenie(server.url)
    long_name = "payments-authorisation-latency-" + "x" * 120
    result = notifier.send(build_notification(event(slo=long_name), context(), "trigger"))
    assert (result.outcome, result.provider_reference) == ("delivered", "req-1")
    seen = server.seen[0]
    assert seen.headers["Authorization"] == "GenieKey genie-123"
    body = json.loads(seen.body)
    assert len(body["message"]) == 130 and body["message"].endswith("…")
    assert body["alias"] == dedup_key(event(slo=long_name))
    assert body["priority"] == "P1"
    assert body["entity"] == "checkout" and body["source"] == "slo-pipelines"
    assert all(isinstance(v, str) for v in body["details"].values())
    assert body["details"]["burn_rates.1h"] == "15.2" and body["details"]["burn_rates.3d"] == "n/a"
    assert body["details"]["window.start"] == "2026-01-26T06:00:00Z"
    assert body["details"]["remaining_budget_ratio"] == "0.42"
    assert all(len(tag) <= 50 for tag in body["tags"]) and "slo-pipelines" in body["tags"]
    assert "Runbook: https://runbooks.example/" in body["description"]
    notifier.send(build_notification(event("ticket"), context(), "trigger"))
    assert json.loads(server.seen[1].body)["priority"] == "P3"


def test_opsgenie_close_by_encoded_alias_and_no_retry_on_400(server: LocalServer) -> None:
    key = dedup_key(event())
    close_path = f"/v2/alerts/{quote(key, safe='')}/close?identifierType=alias"
    server.route("POST", close_path, OG_OK)
    result = opsgenie(server.url).send(build_notification(event(ended=T0 + 600), context(), "resolve"))
    assert result.outcome == "delivered" and server.seen[0].path == close_path
    assert "%2F" in close_path and json.loads(server.seen[0].body)["source"] == "slo-pipelines"
    server.route("POST", "/v2/alerts", Reply(400, '{"message":"Request body is not processable","took":0.0}'))
    bad = opsgenie(server.url, attempts=4).send(build_notification(event(), context(), "trigger"))
    assert (bad.outcome, bad.attempts) == ("failed", 1) and "Request body is not processable" in bad.reason
    server.route("POST", "/v2/alerts", Reply(202, '{"result":"Request will be processed"}'))
    odd = opsgenie(server.url, attempts=2).send(build_notification(event(), context(), "trigger"))
    assert odd.outcome == "failed" and "unexpected answer" in odd.reason  # no requestId: garbled


def test_flatten_details_is_string_to_string() -> None:
    flat = flatten_details({"a": {"b": 1.0, "c": None}, "d": 3, "e": "x"})
    assert flat == {"a.b": "1", "a.c": "n/a", "d": "3", "e": "x"}


# ---- the whole loop: owed → gate → deliver → log → next run retries --------------------------------


def test_deliver_records_every_outcome_and_the_next_run_retries_failures(server: LocalServer) -> None:
    times: list[float] = []
    server.route("POST", "/v2/enqueue", scripted([Reply(400, '{"status":"invalid event"}'), PD_OK], times))
    quiet = AlertEvent("quiet-api", "o", "page", "1h", "5m", 14.4, T0 - 60)
    loud = AlertEvent("checkout-availability", "o", "page", "1h", "5m", 14.4, T0 - 30, T0 + 600)
    covered = AlertEvent("search-latency", "o", "page", "1h", "5m", 14.4, T0)
    incidents = [KnownIncident("PD-7", "search", T0 - 3600)]
    services = {"quiet-api": "quiet", "checkout-availability": "checkout", "search-latency": "search"}
    traffic = {"quiet-api": 12.0, "checkout-availability": 9000.0, "search-latency": 9000.0}

    def prepare(item: Owed) -> tuple[Notification, Decision]:
        ctx = BudgetContext(
            **{
                **context().__dict__,
                "service": services[item.event.slo],
                "long_window_events": traffic[item.event.slo],
            }
        )
        decision = gate(item.event, ctx, item.at, incidents) if item.action == "trigger" else Decision(True)
        return build_notification(item.event, ctx, item.action), decision

    notifier = pagerduty(server.url)
    first = notifier.deliver(
        owed_notifications([quiet, loud, covered], [], "pagerduty"), prepare, now=T0 + 700
    )
    by = {(r.slo, r.action): r for r in first}
    assert by[("quiet-api", "trigger")].outcome == "suppressed"
    assert by[("quiet-api", "trigger")].rule == "low_traffic"
    assert (
        by[("search-latency", "trigger")].rule == "incident"
        and "PD-7" in by[("search-latency", "trigger")].reason
    )
    assert by[("checkout-availability", "trigger")].outcome == "failed"  # the 400
    assert by[("checkout-availability", "resolve")].outcome == "failed"  # held back behind its trigger
    assert by[("checkout-availability", "resolve")].attempts == 0
    assert len(server.seen) == 1  # suppressed ones and the held-back resolve made no request
    second = notifier.deliver(
        owed_notifications([quiet, loud, covered], first, "pagerduty"), prepare, now=T0 + 800
    )
    assert [(r.slo, r.action, r.outcome) for r in second] == [
        ("checkout-availability", "trigger", "delivered"),
        ("checkout-availability", "resolve", "delivered"),
    ]
    assert [json.loads(s.body)["event_action"] for s in server.seen[1:]] == ["trigger", "resolve"]
    assert owed_notifications([quiet, loud, covered], first + second, "pagerduty") == []


def test_a_resolve_goes_out_only_for_a_trigger_that_was_sent(server: LocalServer) -> None:
    """Low traffic or a known incident suppresses a trigger in the same run as its resolve: the
    resolve is recorded as suppressed and never reaches the provider."""
    server.route("POST", "/v2/enqueue", PD_OK)
    quiet = AlertEvent("quiet-api", "o", "page", "1h", "5m", 14.4, T0 - 60, T0 + 600)
    covered = AlertEvent("search-latency", "o", "page", "1h", "5m", 14.4, T0, T0 + 900)
    loud = AlertEvent("checkout-availability", "o", "page", "1h", "5m", 14.4, T0 - 30, T0 + 600)
    incidents = [KnownIncident("PD-7", "search", T0 - 3600)]
    services = {"quiet-api": "quiet", "checkout-availability": "checkout", "search-latency": "search"}
    traffic = {"quiet-api": 12.0, "checkout-availability": 9000.0, "search-latency": 9000.0}

    def prepare(item: Owed) -> tuple[Notification, Decision]:
        ctx = BudgetContext(
            **{
                **context().__dict__,
                "service": services[item.event.slo],
                "long_window_events": traffic[item.event.slo],
            }
        )
        decision = gate(item.event, ctx, item.at, incidents) if item.action == "trigger" else Decision(True)
        return build_notification(item.event, ctx, item.action), decision

    records = pagerduty(server.url).deliver(
        owed_notifications([quiet, covered, loud], [], "pagerduty"), prepare, now=T0 + 1000
    )
    by = {(r.slo, r.action): r for r in records}
    for slo in ("quiet-api", "search-latency"):
        assert by[(slo, "trigger")].outcome == "suppressed"
        assert (by[(slo, "resolve")].outcome, by[(slo, "resolve")].rule) == (
            "suppressed",
            "trigger_not_delivered",
        )
    assert by[("checkout-availability", "resolve")].outcome == "delivered"
    sent = [json.loads(s.body)["event_action"] for s in server.seen]
    assert sent == ["trigger", "resolve"]  # only the loud one, both ways
