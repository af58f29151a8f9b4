"""`slo gate`, `slo gate --flags` and `slo releases plan`: decisions, their arithmetic and exit codes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slo_pipelines.catalog import load_catalog
from slo_pipelines.catalog.budget_policy import BudgetPolicy, BudgetRule, catalog_budget_policies
from slo_pipelines.catalog.models import Scope
from slo_pipelines.engine.budgets.evaluate import CatalogEvaluator
from slo_pipelines.engine.budgets.snapshots import snapshot_digests, snapshot_rows
from slo_pipelines.engine.release.gate import exempt_change_types, gate, plan_releases
from slo_pipelines.engine.release.releases import Release, ScheduledRelease
from slo_pipelines.engine.release.state import ObjectiveState, PageAlert
from slo_pipelines.engine.sli.samples import validate_samples
from slo_pipelines.resources.warehouse import WarehouseResource
from tests.release_helpers import AT, AT_ISO, history, write_catalog, write_samples

ROOT = Path(__file__).resolve().parent.parent


def slo(*args: object, warehouse_env: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SLO_WAREHOUSE_URL"}
    if warehouse_env:
        env["SLO_WAREHOUSE_URL"] = warehouse_env
    return subprocess.run(
        [sys.executable, "-m", "slo_pipelines.cli", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def state(remaining: float | None, burn_1h: float | None = None, page: bool = False) -> ObjectiveState:
    return ObjectiveState(
        slo="checkout-availability",
        service="checkout",
        objective="availability",
        target=0.999,
        at=AT,
        remaining_ratio=remaining,
        allowed_bad=100.0,
        consumed_bad=0.0 if remaining is None else 100.0 * (1 - remaining),
        burn_rates={"1h": burn_1h},
        page_alerts=(PageAlert("1h", "5m", 14.4),) if page else (),
        status="ok",
        period_seconds=30 * 86400,
    )


FREEZE = BudgetPolicy(
    "p",
    Scope(service="checkout"),
    rules=(
        BudgetRule(("cap_rollout",), remaining_below=0.5, rollout_cap_percent=20),
        BudgetRule(("cap_rollout",), remaining_below=0.2, rollout_cap_percent=5),
        BudgetRule(("freeze_deploys",), remaining_below=0.0, except_for=("security",)),
    ),
)


@pytest.mark.parametrize(
    ("remaining", "change", "decision", "cap"),
    [
        (0.9, "feature", "allow", None),
        (0.4, "feature", "allow", 20),
        (0.1, "feature", "allow", 5),
        (-0.3, "feature", "deny", 5),
        (-0.3, "reliability", "deny", 5),
        (-0.3, "security", "allow", 5),
        (None, "feature", "allow", None),  # no data engages nothing; the state is in the output
    ],
)
def test_freeze_rule_exemptions_and_tightest_cap(
    remaining: float | None, change: str, decision: str, cap: float | None
) -> None:
    d = gate("checkout", AT, [state(remaining)], [FREEZE], change)
    assert d.decision == decision
    assert d.rollout_cap_percent == cap
    if decision == "deny":
        assert [r.rule for r in d.reasons] == ["freeze_deploys"]
        assert "remaining -30.00%" in d.reasons[0].detail
    elif remaining is not None and remaining < 0:
        assert [r.rule for r in d.waived] == ["freeze_deploys"]


def test_page_alert_denies_features_but_not_exempt_fixes() -> None:
    s = state(0.8, burn_1h=20.0, page=True)
    feature = gate("checkout", AT, [s], [FREEZE], "feature")
    assert feature.decision == "deny" and feature.reasons[0].rule == "page_alert"
    assert "burn 1h = 20" in feature.reasons[0].detail
    assert gate("checkout", AT, [s], [FREEZE], "security").decision == "allow"
    # no policy: the default exemptions (reliability, security) apply
    assert gate("checkout", AT, [s], [], "reliability").decision == "allow"
    assert exempt_change_types(FREEZE) == ("security",)
    assert exempt_change_types(None) == ("reliability", "security")


def _sched(name: str, start: int, cost: float, change: str = "feature") -> ScheduledRelease:
    return ScheduledRelease(Release(name, "checkout", start, change, cost), cost, "declared")


def test_scheduled_releases_sum_against_remaining() -> None:
    s = state(0.55)
    fits = gate("checkout", AT, [s], [], "feature", [_sched("r1", AT, 0.3), _sched("r2", AT, 0.25)])
    assert fits.decision == "allow"  # 0.55 <= 0.55: exactly the remaining budget is allowed
    over = gate("checkout", AT, [s], [], "feature", [_sched("r1", AT, 0.3), _sched("r2", AT, 0.2)], 0.1)
    assert over.decision == "deny"
    assert over.reasons[0].rule == "scheduled_releases"
    assert (
        "0.3 (r1) + 0.2 (r2) + 0.1 (this change) = 0.6 of the budget > 0.55 remaining"
        in over.reasons[0].detail
    )


def test_plan_pauses_later_releases_and_lets_exempt_ones_through() -> None:
    s = state(0.5)
    plan = plan_releases(
        [
            _sched("late", AT + 3 * 3600, 0.1),
            _sched("first", AT, 0.3),
            _sched("second", AT + 3600, 0.3),
            _sched("patch", AT + 2 * 3600, 0.3, "security"),
        ],
        [s],
        [],
    )
    assert [(p.scheduled.release.name, p.decision) for p in plan] == [
        ("first", "proceed"),
        ("second", "paused"),
        ("patch", "proceed"),
        ("late", "paused"),
    ]
    # a paused release adds nothing to the running sum; an exempt one still counts
    assert plan[1].arithmetic[0]["detail"].startswith("0.3 (first) + 0.3 (second) = 0.6")
    assert plan[3].arithmetic[0]["cumulative_cost"] == pytest.approx(0.7)


# ---- the command -------------------------------------------------------------------------------


def test_gate_denies_on_exhausted_budget_under_freeze(tmp_path: Path) -> None:
    catalog = write_catalog(tmp_path)
    # 2 % errors against a 99.9 % target: the budget is 20 times overspent
    samples = write_samples(tmp_path, history("checkout-availability", 2), history("cart-availability", 0))
    out = slo("gate", "--catalog", catalog, "--service", "checkout", "--samples", samples, "--at", AT_ISO)
    assert out.returncode == 1, out.stderr
    doc = json.loads(out.stdout)
    assert doc["decision"] == "deny" and doc["service"] == "checkout" and doc["at"] == AT_ISO
    assert doc["rollout_cap_percent"] == 10
    rules = {r["rule"] for r in doc["reasons"]}
    assert "freeze_deploys" in rules
    assert all({"slo", "objective", "rule", "detail"} <= r.keys() for r in doc["reasons"])
    [entry] = doc["slos"]
    assert entry["remaining_ratio"] == pytest.approx(1 - 0.02 / 0.001)

    fix = slo(
        "gate",
        "--catalog",
        catalog,
        "--service",
        "checkout",
        "--samples",
        samples,
        "--at",
        AT_ISO,
        "--change-type",
        "security",
    )
    assert fix.returncode == 0, fix.stdout
    allowed = json.loads(fix.stdout)
    assert allowed["decision"] == "allow" and allowed["reasons"] == []
    assert {w["rule"] for w in allowed["waived"]} >= {"freeze_deploys"}

    reliability = slo(
        "gate",
        "--catalog",
        catalog,
        "--service",
        "checkout",
        "--samples",
        samples,
        "--at",
        AT_ISO,
        "--change-type",
        "reliability",
    )
    assert reliability.returncode == 1  # this policy exempts only security fixes

    healthy = slo("gate", "--catalog", catalog, "--service", "cart", "--samples", samples, "--at", AT_ISO)
    assert healthy.returncode == 0 and json.loads(healthy.stdout)["rollout_cap_percent"] is None


def test_gate_page_alert_from_samples(tmp_path: Path) -> None:
    catalog = write_catalog(tmp_path)
    # clean history, then 3 % errors in the last hour: burn 30 over 1h and 5m (> 14.4)
    samples = write_samples(tmp_path, history("checkout-availability", 0, last_hour_bad=3))
    out = slo("gate", "--catalog", catalog, "--service", "checkout", "--samples", samples, "--at", AT_ISO)
    doc = json.loads(out.stdout)
    assert out.returncode == 1 and "page_alert" in {r["rule"] for r in doc["reasons"]}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--service", "nope", "--at", AT_ISO], "--service: unknown service"),
        (["--service", "checkout", "--at", "yesterday"], "--at"),
        (
            ["--service", "checkout", "--at", AT_ISO, "--samples", "missing.csv"],
            "missing.csv: file not found",
        ),
        (["--service", "checkout"], "--at is required"),
        (["--service", "checkout", "--at", AT_ISO, "--change-type", "hotfix"], "--change-type"),
        (["--at", AT_ISO], "--service is required"),
    ],
)
def test_gate_bad_input_exits_2_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    catalog = write_catalog(tmp_path)
    samples = write_samples(tmp_path, history("checkout-availability", 0))
    if "--samples" not in args:
        args = [*args, "--samples", str(samples)]
    out = slo("gate", "--catalog", catalog, *args)
    assert out.returncode == 2, out.stdout
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("slo: error: ") and message in lines[0]


def test_gate_invalid_catalog_and_bad_samples_exit_2(tmp_path: Path) -> None:
    samples = write_samples(tmp_path, history("checkout-availability", 0))
    out = slo(
        "gate", "--catalog", tmp_path / "none", "--service", "checkout", "--samples", samples, "--at", AT_ISO
    )
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    catalog = write_catalog(tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text("slo,timestamp,good,total\ncheckout-availability,2026-10-31T00:00:00Z,5,3\n")
    out = slo("gate", "--catalog", catalog, "--service", "checkout", "--samples", bad, "--at", AT_ISO)
    assert out.returncode == 2 and "good" in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_gate_from_warehouse_uses_latest_snapshots(tmp_path: Path) -> None:
    catalog_dir = write_catalog(tmp_path)
    catalog = load_catalog(catalog_dir)
    frame = pd.concat([history("checkout-availability", 2), history("cart-availability", 0)])
    clean = validate_samples(frame, known_slos={n: s.bucket_seconds for n, s in catalog.slos.items()}).clean
    evaluator = CatalogEvaluator(catalog, clean)
    url = f"sqlite:///{tmp_path / 'wh.db'}"
    warehouse = WarehouseResource(url=url)
    for slo_def, objective, series in evaluator.series(AT - 86400, AT, 3600):
        warehouse.upsert_budget_snapshots(
            snapshot_rows(slo_def, objective, series, snapshot_digests(evaluator, slo_def, series))
        )
    out = slo("gate", "--catalog", catalog_dir, "--service", "checkout", "--warehouse", url)
    assert out.returncode == 1, out.stderr
    from_env = slo("gate", "--catalog", catalog_dir, "--service", "checkout", warehouse_env=url)
    assert from_env.returncode == 1 and json.loads(from_env.stdout) == json.loads(out.stdout)
    doc = json.loads(out.stdout)
    assert doc["at"] == AT_ISO and doc["reasons"][0]["rule"] == "freeze_deploys"
    # --at picks the latest snapshot at or before it: a day earlier the budget was already gone too
    earlier = slo(
        "gate", "--catalog", catalog_dir, "--service", "cart", "--warehouse", url, "--at", "2026-10-31"
    )
    assert earlier.returncode == 0 and json.loads(earlier.stdout)["at"] == "2026-10-31T00:00:00Z"
    empty = slo(
        "gate", "--catalog", catalog_dir, "--service", "cart", "--warehouse", url, "--at", "2020-01-01"
    )
    assert empty.returncode == 2 and "no budget snapshots" in empty.stderr
    missing = tmp_path / "missing.db"
    none = slo("gate", "--catalog", catalog_dir, "--service", "cart", "--warehouse", f"sqlite:///{missing}")
    assert none.returncode == 2 and "no such SQLite database" in none.stderr and not missing.exists()
    # every decision taken against a warehouse is in its audit log, with who asked and the full answer
    gates = [e for e in warehouse.read_audit_log() if e["action"] == "release.gate"]
    assert [(e["subject"], e["reason"]) for e in gates] == [
        ("checkout", "deny feature change"),
        ("checkout", "deny feature change"),
        ("cart", "allow feature change"),
    ]
    details = gates[0]["details"]
    details = json.loads(details) if isinstance(details, str) else details
    assert details == doc
    named = slo(
        "gate", "--catalog", catalog_dir, "--service", "cart", "--warehouse", url, "--actor", "rm-bot"
    )
    assert named.returncode == 0
    assert warehouse.read_audit_log()[-1]["actor"] == "rm-bot"
    verified = slo("audit-log", "verify", "--warehouse-url", url)
    assert verified.returncode == 0, verified.stderr


def test_flags_caps_per_service(tmp_path: Path) -> None:
    catalog = write_catalog(tmp_path)
    # 0.04 % errors: 40 % of the budget spent, 60 % left -> the 25 % cap rule is in force
    frame = history("checkout-availability", 0)
    frame.loc[frame.index % 25 == 0, "good"] = 99
    samples = write_samples(tmp_path, frame, history("cart-availability", 0))
    out = slo("gate", "--catalog", catalog, "--flags", "--samples", samples, "--at", AT_ISO)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    by = {s["service"]: s for s in doc["services"]}
    assert by["checkout"]["rollout_cap_percent"] == 25 and by["checkout"]["max_rollout_percent"] == 25
    assert by["cart"] == {
        "service": "cart",
        "rollout_cap_percent": None,
        "frozen": False,
        "max_rollout_percent": 100,
        "rules": [],
    }
    policies = catalog_budget_policies(load_catalog(catalog).documents)
    assert [p.name for p in policies] == ["checkout-policy"]


def test_releases_file_in_gate_and_plan(tmp_path: Path) -> None:
    catalog = write_catalog(tmp_path)
    frame = history("checkout-availability", 0)
    frame.loc[frame.index % 25 == 0, "good"] = 99  # 60 % of the budget left
    samples = write_samples(tmp_path, frame, history("cart-availability", 0))
    releases = tmp_path / "releases.yaml"
    releases.write_text(
        """\
apiVersion: slo-pipelines/v1
kind: Release
metadata: {name: old-1}
spec: {service: checkout, start: "2026-10-20T10:00:00Z",
       causedIncidents: [{name: INC-1, budgetConsumedRatio: 0.5}]}
---
apiVersion: slo-pipelines/v1
kind: Release
metadata: {name: old-2}
spec: {service: checkout, start: "2026-10-25T10:00:00Z"}
---
apiVersion: slo-pipelines/v1
kind: Release
metadata: {name: new-a}
spec: {service: checkout, start: "2026-11-01T10:00:00Z", expectedBudgetCost: 0.4}
---
apiVersion: slo-pipelines/v1
kind: Release
metadata: {name: new-b}
spec: {service: checkout, start: "2026-11-01T12:00:00Z"}
"""
    )
    plan = slo(
        "releases", "plan", "--catalog", catalog, "--releases", releases, "--samples", samples, "--at", AT_ISO
    )
    assert plan.returncode == 1, plan.stderr
    doc = json.loads(plan.stdout)
    assert [(r["name"], r["decision"]) for r in doc["releases"]] == [
        ("new-a", "proceed"),
        ("new-b", "paused"),
    ]
    b = doc["releases"][1]
    assert b["expected_budget_cost"] == pytest.approx(0.25)  # 0.5 spent over 2 past releases
    assert "history" in b["cost_source"]
    # 116 bad of 288 allowed: 1 - 116/288 = 0.5972 left
    assert (
        b["arithmetic"][0]["detail"] == "0.4 (new-a) + 0.25 (new-b) = 0.65 of the budget > 0.5972 remaining"
    )
    gate_out = slo(
        "gate",
        "--catalog",
        catalog,
        "--service",
        "checkout",
        "--samples",
        samples,
        "--at",
        AT_ISO,
        "--releases",
        releases,
        "--expected-cost",
        "0.1",
    )
    assert gate_out.returncode == 1
    reason = json.loads(gate_out.stdout)["reasons"][0]
    assert reason["rule"] == "scheduled_releases" and "(this change)" in reason["detail"]
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: slo-pipelines/v1\nkind: Release\nmetadata: {name: x}\nspec: {service: nope, start: 1}\n"
    )
    out = slo(
        "releases", "plan", "--catalog", catalog, "--releases", bad, "--samples", samples, "--at", AT_ISO
    )
    assert out.returncode == 2 and "spec.service: unknown service" in out.stderr


@settings(max_examples=60, deadline=None)
@given(
    remaining=st.one_of(st.none(), st.floats(-0.5, 1.0)),
    releases=st.lists(
        st.tuples(st.integers(0, 10), st.floats(0, 0.6), st.sampled_from(["feature", "security"])),
        max_size=8,
    ),
)
def test_plan_invariants(remaining: float | None, releases: list[tuple[int, float, str]]) -> None:
    """Proceeding non-exempt releases never take the running sum past the remaining budget; every paused
    release would have; paused releases add nothing; order is by start, then name."""
    scheduled = [
        _sched(f"r{i}", AT + 60 * start, cost, change) for i, (start, cost, change) in enumerate(releases)
    ]
    plan = plan_releases(scheduled, [state(remaining)], [FREEZE])
    assert [p.scheduled.release.start for p in plan] == sorted(s.release.start for s in scheduled)
    running = 0.0
    for p in plan:
        cost, exempt = p.scheduled.cost, p.scheduled.release.change_type == "security"
        over = remaining is not None and running + cost > remaining
        assert p.decision == ("paused" if over and not exempt else "proceed")
        assert p.arithmetic[0]["cumulative_cost"] == pytest.approx(running + cost)
        if p.decision == "proceed":
            running += cost


def test_gate_on_the_example_fleet(tmp_path: Path) -> None:
    """payments-strict freezes below 10 % remaining and exempts the default reliability and security."""
    from tests.pipeline_helpers import D0, DAY, FLEET, fleet_samples

    frame = fleet_samples(D0 - 30 * DAY, D0, ["payments-availability", "payment-gateway-availability"])
    frame["timestamp"] = frame.pop("start")
    last_day = (frame["slo"] == "payments-availability") & (frame["timestamp"] >= D0 - DAY)
    frame.loc[last_day, "good"] = (frame.loc[last_day, "total"] * 0.98).round()  # a day at 2 % errors
    path = tmp_path / "fleet.parquet"
    frame.drop(columns=["value"]).to_parquet(path, index=False)
    common = [
        "gate",
        "--catalog",
        FLEET,
        "--service",
        "payments-api",
        "--samples",
        path,
        "--at",
        "2026-11-01",
    ]
    feature = slo(*common)
    assert feature.returncode == 1, feature.stderr
    doc = json.loads(feature.stdout)
    assert doc["slos"][0]["remaining_ratio"] < 0.1
    assert any(r["rule"] == "freeze_deploys" and "payments-strict" in r["detail"] for r in doc["reasons"])
    for change in ("security", "reliability"):
        out = slo(*common, "--change-type", change)
        assert out.returncode == 0, out.stdout
        assert json.loads(out.stdout)["decision"] == "allow"
    vendor = slo(*common[:4], "payment-gateway", *common[5:])
    assert vendor.returncode == 0 and json.loads(vendor.stdout)["reasons"] == []
