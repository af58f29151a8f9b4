"""Runtime exclusions: append-only log, review flags, budget restored, dependency outage proposals, CLI."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from slo_pipelines.catalog.models import (
    SLO,
    Catalog,
    Document,
    Duration,
    ExclusionRule,
    Indicator,
    Objective,
    Scope,
    TimeWindow,
)
from slo_pipelines.engine.budgets.buckets import SLOBuckets
from slo_pipelines.engine.exclusions.dependency_outages import (
    DependencyOutageError,
    OutageRules,
    VendorIncident,
    outage_slos,
    propose_outages,
)
from slo_pipelines.engine.exclusions.intervals import ExclusionInterval, covered_seconds, merge
from slo_pipelines.engine.exclusions.runtime import (
    ExclusionInputError,
    ExclusionLogError,
    ReviewPolicy,
    active_rules,
    budget_restored,
    catalog_registry,
    fold_events,
    parse_add_payload,
)
from slo_pipelines.resources.warehouse import WarehouseResource

ROOT = Path(__file__).resolve().parents[1]
T0 = 1_772_330_400  # 2026-03-01T02:00:00Z
BASE = {"scope": {}, "category": "other", "reason": "db upgrade", "requester": "alice", "approver": "bob"}


def _slo(name: str, service: str, target: float, window_days: int = 28) -> SLO:
    return SLO(
        name=name,
        service=service,
        description="",
        indicator=Indicator(name=f"{name}-sli", kind="ratio"),
        time_window=TimeWindow(Duration(window_days, "d"), is_rolling=True),
        budgeting_method="Occurrences",
        objectives=(Objective(name="objective-0", index=0, target=target),),
    )


def _catalog(slos: list[SLO], documents: tuple[Document, ...] = ()) -> Catalog:
    services = tuple(
        Document("t.yaml", i, "openslo/v1", "Service", s, {"spec": {}})
        for i, s in enumerate(sorted({x.service for x in slos}))
    )
    slo_docs = tuple(Document("t.yaml", 10 + i, "openslo/v1", "SLO", s.name, {}) for i, s in enumerate(slos))
    return Catalog(
        documents=services + slo_docs + documents, services={}, slos={s.name: s for s in slos}, exclusions=()
    )


def _event(event_id: int, exclusion_id: str, action: str, payload: dict[str, Any], at: int) -> dict[str, Any]:
    return {
        "id": event_id,
        "exclusion_id": exclusion_id,
        "action": action,
        "payload": payload,
        "recorded_by": "alice",
        "recorded_at": datetime.fromtimestamp(at, UTC),
    }


def _one_off(start: int, end: int, **extra: Any) -> dict[str, Any]:
    iso = lambda t: datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    return {**BASE, "start": iso(start), "end": iso(end), **extra}


# ---- append-only log --------------------------------------------------------------------------------


def test_revoke_appends_and_earlier_events_never_change(tmp_path: Path) -> None:
    warehouse = WarehouseResource(url=f"sqlite:///{tmp_path / 'w.db'}")
    warehouse.append_exclusion_event("e1", "add", _one_off(T0 + 86400, T0 + 90000), "alice")
    before = warehouse.read_exclusion_events()
    warehouse.append_exclusion_event("e1", "revoke", {"reason": "cancelled"}, "carol")
    after = warehouse.read_exclusion_events()
    assert after[:1] == before and [e["action"] for e in after] == ["add", "revoke"]

    now = after[-1]["recorded_at"] + timedelta(seconds=1)
    [current] = fold_events(after, as_of=now)
    assert current.state == "revoked" and current.revocation is not None
    assert current.revocation.recorded_by == "carol" and current.revocation.reason == "cancelled"
    assert active_rules([current]) == []
    [earlier] = fold_events(after, as_of=before[0]["recorded_at"])  # a report computed before the revoke
    # recorded after its start: flagged, so it waits for a second approval before it changes a budget
    assert earlier.state == "active" and earlier.review_state == "pending" and active_rules([earlier]) == []
    review = {"id": 1, "exclusion_id": "e1", "decision": "approve", "reviewer": "dave", "reason": "ok"}
    [reviewed] = fold_events(after, as_of=now, reviews=[{**review, "recorded_at": now}])
    assert (
        reviewed.review_state == "approved" and reviewed.state == "revoked" and active_rules([reviewed]) == []
    )
    [approved] = fold_events(before, reviews=[{**review, "recorded_at": now}])
    assert [r.name for r in active_rules([approved])] == ["e1"]

    with warehouse.get_engine().begin() as conn, pytest.raises(sa.exc.DatabaseError, match="append-only"):
        conn.execute(sa.text("UPDATE exclusions SET action = 'add' WHERE action = 'revoke'"))
    with warehouse.get_engine().begin() as conn, pytest.raises(sa.exc.DatabaseError, match="append-only"):
        conn.execute(sa.text("DELETE FROM exclusions"))
    assert warehouse.read_exclusion_events() == after


def test_log_that_cannot_be_applied_names_the_event() -> None:
    add = _event(1, "e1", "add", _one_off(T0, T0 + 3600), T0 - 10)
    with pytest.raises(
        ExclusionLogError, match=r"^exclusions event 2 \(e2\): revokes an exclusion that was never"
    ):
        fold_events([add, _event(2, "e2", "revoke", {"reason": "x"}, T0)])
    with pytest.raises(
        ExclusionLogError, match=r"^exclusions event 2 \(e1\): exclusion already added by event 1$"
    ):
        fold_events([add, _event(2, "e1", "add", _one_off(T0, T0 + 60), T0)])
    bad = _event(1, "e1", "add", _one_off(T0 + 60, T0), T0 - 10)
    with pytest.raises(
        ExclusionLogError, match=r"^exclusions event 1 \(e1\) payload\.end: must be after start"
    ):
        fold_events([bad])


def test_double_revoke_keeps_the_first() -> None:
    events = [
        _event(1, "e1", "add", _one_off(T0, T0 + 3600), T0 - 10),
        _event(2, "e1", "revoke", {"reason": "first"}, T0 + 5),
        _event(3, "e1", "revoke", {"reason": "second"}, T0 + 6),
    ]
    [x] = fold_events(events)
    assert x.revocation is not None and x.revocation.reason == "first" and x.revocation.event_id == 2


# ---- review flags -----------------------------------------------------------------------------------


def test_retroactive_and_large_share_are_flagged_with_reasons() -> None:
    window = 28 * 86400
    events = [
        _event(1, "advance", "add", _one_off(T0, T0 + 3600), T0 - 60),
        _event(2, "late", "add", _one_off(T0, T0 + 3600), T0 + 1),
        # 5 % of 28 d is 33.6 h: 34 h is over, 33 h is not
        _event(3, "big", "add", _one_off(T0, T0 + 34 * 3600), T0 - 60),
        _event(4, "ok", "add", _one_off(T0, T0 + 33 * 3600), T0 - 60),
    ]
    by_id = {x.id: x for x in fold_events(events, policy=ReviewPolicy(default_period_seconds=window))}
    assert by_id["advance"].declared_in_advance and not by_id["advance"].needs_review
    late = by_id["late"]
    assert late.retroactive and late.review_reasons == (
        "retroactive: recorded 2026-03-01T02:00:01Z, after its start 2026-03-01T02:00:00Z",
    )
    assert by_id["big"].review_reasons == ("covers 5.1% of a 28d window (more than 5%)",)
    assert not by_id["ok"].needs_review and by_id["ok"].largest_share == pytest.approx(33 / 672)


def test_recurring_share_counts_every_occurrence_in_the_window() -> None:
    # 4 h every day is 1/6 of any window; a daily rule is also judged against a 1-day SLO window
    daily = {
        **BASE,
        "start": "2026-03-02T00:00:00",
        "rrule": "FREQ=DAILY",
        "duration": "4h",
        "timeZone": "UTC",
    }
    weekly = {**daily, "rrule": "FREQ=WEEKLY", "duration": "2h"}
    events = [_event(1, "daily", "add", daily, T0), _event(2, "weekly", "add", weekly, T0)]
    by_id = {x.id: x for x in fold_events(events)}
    assert by_id["daily"].largest_share == pytest.approx(4 / 24)
    assert by_id["daily"].review_reasons == ("covers 16.7% of a 28d window (more than 5%)",)
    assert by_id["weekly"].largest_share == pytest.approx(8 / (28 * 24)) and not by_id["weekly"].needs_review
    catalog = _catalog([_slo("short", "svc", 0.99, window_days=1)])
    from slo_pipelines.engine.exclusions.runtime import catalog_review_periods

    judged = {x.id: x for x in fold_events(events, period_for=catalog_review_periods(catalog))}
    assert judged["weekly"].largest_share == pytest.approx(2 / 24)
    assert judged["weekly"].review_reasons == ("covers 8.3% of a 1d window (more than 5%)",)


# ---- bad input ------------------------------------------------------------------------------------


BAD_INPUTS = [
    (
        {"start": "2026-03-01T02:00:00Z", "end": "2026-03-01T01:00:00Z"},
        'end: must be after start (got "2026-03-01T01:00:00Z")',
    ),
    (
        {"start": "2026-03-01T02:00:00", "rrule": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "duration": "1h"},
        'rrule: has no occurrence at or after start (got "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30")',
    ),
    (
        {
            "start": "2026-03-02T02:00:00",
            "rrule": "FREQ=MONTHLY;BYMONTHDAY=1",
            "duration": "1h",
            "until": "2026-03-20T00:00:00Z",
        },
        'rrule: has no occurrence before until 2026-03-20T00:00:00Z (got "FREQ=MONTHLY;BYMONTHDAY=1")',
    ),
    (
        {"start": "2026-03-01T02:00:00", "rrule": "FREQ=MINUTELY", "duration": "1m"},
        'rrule: occurs every 1m; at most once every 15m is allowed (got "FREQ=MINUTELY")',
    ),
    (
        {"start": "2026-03-01T02:00:00", "rrule": "FREQ=DAILY;BYHOUR=2;BYMINUTE=0,10", "duration": "5m"},
        "rrule: occurs every 10m; at most once every 15m is allowed "
        '(got "FREQ=DAILY;BYHOUR=2;BYMINUTE=0,10")',
    ),
    (
        {"start": "2026-03-01T02:00:00", "rrule": "FREQ=WEEKLY", "duration": "1h", "timeZone": "Mars/Base"},
        'timeZone: unknown time zone (got "Mars/Base")',
    ),
    (
        {"start": "2026-03-01T02:00:00Z", "end": "2026-03-01T03:00:00Z", "timeZone": "UTC"},
        'timeZone: only applies to a recurring exclusion (with rrule) (got "UTC")',
    ),
    (
        {"start": "2026-03-01T02:00:00", "end": "2026-03-01T03:00:00Z"},
        'start: needs a UTC offset such as Z or +01:00 (got "2026-03-01T02:00:00")',
    ),
    (
        {"start": "2026-03-01T02:00:00Z", "end": "2026-03-01T03:00:00Z", "category": "holiday"},
        "category: must be one of maintenance, dependency_outage, security_patch, regulatory, other "
        '(got "holiday")',
    ),
    (
        {"start": "2026-03-01T02:00:00Z", "end": "2026-03-01T03:00:00Z", "scope": {"slo": "nope"}},
        'scope: no SLO with this name in the catalog (got "nope")',
    ),
    (
        {"start": "2026-03-01T02:00:00Z", "end": "2026-03-01T03:00:00Z", "scope": {"service": "ghost"}},
        'scope: no Service with this name in the catalog (got "ghost")',
    ),
    (
        {"start": "2026-03-01T02:00:00Z", "end": "2026-03-01T03:00:00Z", "approver": " "},
        'approver: must be a non-empty string (got " ")',
    ),
]


@pytest.mark.parametrize(("fields", "message"), BAD_INPUTS)
def test_bad_input_has_a_clear_message(fields: dict[str, Any], message: str) -> None:
    registry = catalog_registry(_catalog([_slo("checkout-availability", "checkout", 0.999)]))
    with pytest.raises(ExclusionInputError) as caught:
        parse_add_payload("x", {**BASE, **fields}, registry=registry)
    assert str(caught.value) == message


def test_valid_payloads_become_rules_with_known_names() -> None:
    registry = catalog_registry(_catalog([_slo("checkout-availability", "checkout", 0.999)]))
    rule = parse_add_payload(
        "x",
        {**_one_off(T0, T0 + 60), "scope": {"slo": "checkout-availability"}, "ticket": "T-1"},
        registry=registry,
    )
    assert (rule.start, rule.end, rule.scope, rule.evidence) == (
        T0,
        T0 + 60,
        Scope(slo="checkout-availability"),
        "T-1",
    )
    recurring = {
        **BASE,
        "start": "2026-03-01T02:00:00",
        "rrule": "FREQ=WEEKLY;BYDAY=SU",
        "duration": "2h",
        "timeZone": "Europe/London",
        "category": "maintenance",
    }
    rule = parse_add_payload("y", recurring)
    assert (
        rule.kind == "MaintenanceWindow"
        and rule.duration_seconds == 7200
        and rule.time_zone == "Europe/London"
    )


# ---- budget restored --------------------------------------------------------------------------------


def _rule(name: str) -> ExclusionRule:
    return ExclusionRule(
        name=name, kind="Exclusion", category="other", scope=Scope(), reason="r", approved_by="b"
    )


def _buckets(starts: list[int], good: list[float], total: list[float]) -> SLOBuckets:
    arr = np.asarray(starts, dtype=np.int64)
    return SLOBuckets(arr, np.asarray(good, float), np.asarray(total, float), np.full(len(arr), np.nan), 60)


def test_overlapping_exclusions_credit_each_bucket_once_to_the_earliest() -> None:
    starts = [T0 + 60 * i for i in range(10)]
    bad = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    rows = _buckets(starts, [100 - b for b in bad], [100] * 10)
    a, b = _rule("a"), _rule("b")
    intervals = [
        ExclusionInterval(b, T0 + 120, T0 + 420),  # minutes 2..6, starts later: loses the overlap
        ExclusionInterval(a, T0 + 60, T0 + 300),  # minutes 1..4
    ]
    restored = {r.rule.name: r for r in budget_restored(rows, intervals, T0, T0 + 600)}
    assert (restored["a"].buckets, restored["a"].bad, restored["a"].excluded_seconds) == (
        4,
        2 + 3 + 4 + 5,
        240,
    )
    assert (restored["b"].buckets, restored["b"].bad, restored["b"].excluded_seconds) == (2, 6 + 7, 120)
    untouched = budget_restored(rows, [ExclusionInterval(_rule("c"), T0 + 1000, T0 + 2000)], T0, T0 + 600)
    assert untouched == []
    nothing_bad = budget_restored(rows, [ExclusionInterval(_rule("d"), T0 + 590, T0 + 700)], T0, T0 + 600)
    assert [(r.rule.name, r.buckets, r.bad, r.excluded_seconds) for r in nothing_bad] == [("d", 0, 0, 10)]


intervals_strategy = st.lists(
    st.tuples(st.integers(0, 3), st.integers(-300, 3900), st.integers(1, 1500)), min_size=0, max_size=7
)


@settings(max_examples=200, deadline=None)
@given(
    spans=intervals_strategy,
    counts=st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50)), min_size=60, max_size=60),
    present=st.lists(st.booleans(), min_size=60, max_size=60),
    window=st.tuples(st.integers(0, 1800), st.integers(1800, 3600)),
)
def test_sum_over_exclusions_equals_the_union_effect(
    spans: list[tuple[int, int, int]],
    counts: list[tuple[int, int]],
    present: list[bool],
    window: tuple[int, int],
) -> None:
    rules = [_rule(f"r{i}") for i in range(4)]
    rows_idx = [i for i in range(60) if present[i]]
    starts = [T0 + 60 * i for i in rows_idx]
    total = [float(counts[i][0] + counts[i][1]) for i in rows_idx]
    good = [float(counts[i][0]) for i in rows_idx]
    rows = _buckets(starts, good, total)
    intervals = [ExclusionInterval(rules[k], T0 + s, T0 + s + d) for k, s, d in spans]
    start, end = T0 + window[0], T0 + window[1]
    restored = budget_restored(rows, intervals, start, end)

    # slow reference: each bucket goes to the earliest-starting interval containing it (ties: first listed)
    owner: dict[int, str] = {}
    for t in starts:
        if not start <= t < end:
            continue
        holders = [(iv.start, i, iv.rule.name) for i, iv in enumerate(intervals) if iv.start <= t < iv.end]
        if holders:
            owner[t] = min(holders)[2]
    expected_bad: dict[str, float] = {}
    for t, g, n in zip(starts, good, total, strict=True):
        if t in owner:
            expected_bad[owner[t]] = expected_bad.get(owner[t], 0.0) + (n - g)
    got = {r.rule.name: r for r in restored}
    for name, value in expected_bad.items():
        assert got[name].bad == value
    assert all(r.bad == 0 for name, r in got.items() if name not in expected_bad)
    union_bad = sum(n - g for t, g, n in zip(starts, good, total, strict=True) if t in owner)
    assert sum(r.bad for r in restored) == union_bad
    union_seconds = covered_seconds(merge((iv.start, iv.end) for iv in intervals), start, end)
    assert sum(r.excluded_seconds for r in restored) == union_seconds
    touched = {iv.rule.name for iv in intervals if iv.start < end and iv.end > start}
    assert set(got) == touched


# ---- dependency outages ------------------------------------------------------------------------------


def _dependency_catalog(slo: str | None = "gateway-availability") -> Catalog:
    spec: dict[str, Any] = {"service": "payments", "upstream": "gateway"}
    if slo is not None:
        spec["slo"] = slo
    dependency = Document(
        "deps.yaml", 3, "slo-pipelines/v1", "Dependency", "payments-on-gateway", {"spec": spec}
    )
    return _catalog(
        [
            _slo("gateway-availability", "gateway", 0.99),
            _slo("payments-availability", "payments", 0.999),
            _slo("search-latency", "search", 0.99),
        ],
        (dependency,),
    )


def _minutes(sli: dict[int, float], n: int = 20) -> SLOBuckets:
    """n minutes from T0, 1000 events each, with the given SLI per minute index (default all good)."""
    good = [1000 * sli.get(i, 1.0) for i in range(n)]
    return _buckets([T0 + 60 * i for i in range(n)], good, [1000.0] * n)


def test_outage_slos_are_exactly_what_proposals_read() -> None:
    catalog = _dependency_catalog()
    assert outage_slos(catalog) == {"gateway-availability", "payments-availability"}
    assert outage_slos(_catalog([_slo("search-latency", "search", 0.99)], ())) == set()
    upstream = _minutes({3: 0.5, 4: 0.6, 12: 0.2})
    downstream = _minutes({3: 0.9, 4: 0.9, 12: 0.9})
    everything = {
        "gateway-availability": upstream,
        "payments-availability": downstream,
        "search-latency": upstream,
    }
    only = {name: rows for name, rows in everything.items() if name in outage_slos(catalog)}
    full = [p.to_json() for p in propose_outages(catalog, everything, T0, T0 + 1200)]
    assert full and full == [p.to_json() for p in propose_outages(catalog, only, T0, T0 + 1200)]


def test_outage_is_proposed_where_upstream_breach_and_downstream_burn_overlap() -> None:
    upstream = _minutes({3: 0.5, 4: 0.6, 5: 0.7, 6: 0.98, 12: 0.2})  # all below the 0.99 target
    downstream = _minutes({2: 0.99, 3: 0.9, 4: 0.9, 5: 0.95, 6: 0.95, 9: 0.5, 12: 0.9995})
    buckets = {
        "gateway-availability": upstream,
        "payments-availability": downstream,
        "search-latency": _minutes({}),
    }
    [proposal] = propose_outages(_dependency_catalog(), buckets, T0, T0 + 1200)
    # minute 2 burns without upstream evidence, 9 too; 12 breaches upstream but payments stays within budget
    assert (proposal.start, proposal.end) == (T0 + 180, T0 + 420)
    assert [m.start for m in proposal.minutes] == [T0 + 180, T0 + 240, T0 + 300, T0 + 360]
    assert [m.upstream_sli for m in proposal.minutes] == [0.5, 0.6, 0.7, 0.98]
    assert proposal.slo == "payments-availability" and proposal.state == "proposed"
    assert proposal.category == "dependency_outage" and proposal.breaching_minutes == 4
    payload = proposal.exclusion_payload(requester="bot", approver="change-board")
    rule = parse_add_payload(proposal.id, payload)
    assert (rule.start, rule.end, rule.category, rule.scope) == (
        T0 + 180,
        T0 + 420,
        "dependency_outage",
        Scope(slo="payments-availability"),
    )
    assert proposal.to_json()["needs_approval"] is True


def test_rules_change_what_counts_as_evidence() -> None:
    upstream = _minutes({3: 0.5, 4: 0.98, 6: 0.5})
    downstream = _minutes({3: 0.9, 4: 0.9, 6: 0.9})
    buckets = {"gateway-availability": upstream, "payments-availability": downstream}
    strict = propose_outages(
        _dependency_catalog(), buckets, T0, T0 + 1200, rules=OutageRules(upstream_sli_below=0.9)
    )
    assert [(p.start, p.end) for p in strict] == [(T0 + 180, T0 + 240), (T0 + 360, T0 + 420)]
    bridged = propose_outages(
        _dependency_catalog(),
        buckets,
        T0,
        T0 + 1200,
        rules=OutageRules(upstream_sli_below=0.9, max_gap_seconds=120),
    )
    assert [(p.start, p.end, len(p.minutes)) for p in bridged] == [(T0 + 180, T0 + 420, 2)]
    long_only = propose_outages(
        _dependency_catalog(), buckets, T0, T0 + 1200, rules=OutageRules(min_seconds=180)
    )
    assert long_only == []


def test_declared_vendor_incident_is_evidence_without_upstream_sli() -> None:
    downstream = _minutes({7: 0.9, 8: 0.9, 9: 0.9, 15: 0.9})
    incident = VendorIncident("gateway", T0 + 400, T0 + 600, "https://status.example/inc/42")
    other = VendorIncident("elsewhere", T0, T0 + 1200, "unrelated")
    [proposal] = propose_outages(
        _dependency_catalog(slo=None),
        {"payments-availability": downstream},
        T0,
        T0 + 1200,
        incidents=[incident, other],
    )
    assert (proposal.start, proposal.end) == (T0 + 420, T0 + 600)
    assert proposal.incidents == ("https://status.example/inc/42",) and proposal.breaching_minutes == 0
    assert all(m.upstream_sli is None for m in proposal.minutes)
    assert "vendor incident https://status.example/inc/42" in proposal.reason


def test_dependency_inputs_that_cannot_be_used_are_named() -> None:
    catalog = _dependency_catalog()
    with pytest.raises(DependencyOutageError, match=r"^incidents\[0\] end: must be after start"):
        propose_outages(catalog, {}, T0, T0 + 60, incidents=[VendorIncident("gateway", T0 + 60, T0, "x")])
    broken = Document(
        "deps.yaml",
        4,
        "slo-pipelines/v1",
        "Dependency",
        "d",
        {"spec": {"service": "payments", "upstream": "g", "slo": "zz"}},
    )
    with pytest.raises(DependencyOutageError) as caught:
        propose_outages(catalog, {}, T0, T0 + 60, dependencies=[broken])
    assert str(caught.value) == 'deps.yaml[4] spec.slo: no SLO with this name in the catalog (got "zz")'


# ---- CLI end to end --------------------------------------------------------------------------------


def test_cli_add_list_revoke_on_a_sqlite_warehouse(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "slo_pipelines.cli"]
    env = {**os.environ, "SLO_WAREHOUSE_URL": f"sqlite:///{tmp_path / 'w.db'}", "PYTHONPATH": str(ROOT)}

    def slo(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*command, "exclusions", *args], capture_output=True, text=True, env=env, timeout=120
        )

    who = ["--reason", "db upgrade", "--requester", "alice", "--approver", "bob"]
    ok = slo(
        "add",
        "--id",
        "upgrade",
        "--scope",
        "service:payments-api",
        "--start",
        "2099-03-01T02:00:00Z",
        "--end",
        "2099-03-01T04:00:00Z",
        "--category",
        "maintenance",
        "--ticket",
        "https://t/1",
        *who,
    )
    assert ok.returncode == 0 and ok.stdout.strip() == "added upgrade (maintenance, service:payments-api)", (
        ok.stderr
    )
    late = slo(
        "add",
        "--id",
        "late",
        "--scope",
        "all",
        "--start",
        "2020-03-01T00:00:00Z",
        "--duration",
        "4d",
        "--category",
        "other",
        *who,
    )
    assert late.returncode == 0 and "needs review: retroactive: recorded" in late.stdout
    assert "covers 14.3% of a 28d window (more than 5%)" in late.stdout

    bad = slo(
        "add",
        "--scope",
        "all",
        "--start",
        "2026-03-01T02:00:00Z",
        "--end",
        "2026-03-01T01:00:00Z",
        "--category",
        "other",
        *who,
    )
    assert (bad.returncode, bad.stderr) == (
        1,
        'slo: error: --end: must be after start (got "2026-03-01T01:00:00Z")\n',
    )
    tz = slo(
        "add",
        "--scope",
        "all",
        "--start",
        "2026-03-01T02:00:00",
        "--rrule",
        "FREQ=WEEKLY",
        "--duration",
        "1h",
        "--time-zone",
        "Mars/Base",
        "--category",
        "other",
        *who,
    )
    assert (tz.returncode, tz.stderr) == (1, 'slo: error: --time-zone: unknown time zone (got "Mars/Base")\n')
    usage = slo(
        "add",
        "--scope",
        "team:x",
        "--start",
        "2026-03-01T02:00:00Z",
        "--end",
        "2026-03-01T03:00:00Z",
        "--category",
        "other",
        *who,
    )
    assert (usage.returncode, usage.stderr) == (
        2,
        "slo: error: --scope: must be slo:NAME, service:NAME or all (got 'team:x')\n",
    )
    dup = slo(
        "add",
        "--id",
        "late",
        "--scope",
        "all",
        "--start",
        "2099-03-01T00:00:00Z",
        "--duration",
        "1h",
        "--category",
        "other",
        *who,
    )
    assert (dup.returncode, dup.stderr) == (
        1,
        "slo: error: --id: an exclusion with this id already exists (got 'late')\n",
    )

    revoked = slo("revoke", "upgrade", "--reason", "postponed", "--by", "carol")
    assert (revoked.returncode, revoked.stdout) == (0, "revoked upgrade\n")
    again = slo("revoke", "upgrade", "--reason", "postponed", "--by", "carol")
    assert (again.returncode, again.stderr) == (
        1,
        "slo: error: exclusion 'upgrade' was already revoked by carol (postponed)\n",
    )

    listed = slo("list", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    rows = {x["id"]: x for x in json.loads(listed.stdout)["exclusions"]}
    assert set(rows) == {"upgrade", "late"}
    assert (rows["upgrade"]["state"], rows["upgrade"]["revoked_by"], rows["upgrade"]["ticket"]) == (
        "revoked",
        "carol",
        "https://t/1",
    )
    assert rows["upgrade"]["declared_in_advance"] and not rows["upgrade"]["needs_review"]
    assert rows["late"]["state"] == "active" and rows["late"]["retroactive"] and rows["late"]["needs_review"]
    active = slo("list", "--state", "active")
    assert active.returncode == 0
    assert [line.split()[0] for line in active.stdout.splitlines()[2:]] == ["late"]

    events = WarehouseResource(url=env["SLO_WAREHOUSE_URL"]).read_exclusion_events()
    assert [(e["exclusion_id"], e["action"]) for e in events] == [
        ("upgrade", "add"),
        ("late", "add"),
        ("upgrade", "revoke"),
    ]
