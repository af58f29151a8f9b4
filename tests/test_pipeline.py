"""Real Dagster runs on an on-disk instance: backfill as one run, idempotent re-runs, blocking checks."""

import json
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from slo_pipelines.catalog import load_catalog
from slo_pipelines.engine.budgets.evaluate import CatalogEvaluator
from tests.pipeline_helpers import D0, DAY, FLEET, definitions, drop, fleet_samples, run_range


@pytest.fixture
def instance(tmp_path: Path):  # type: ignore[no-untyped-def]
    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as inst:
        yield inst


def test_backfill_range_is_one_run_and_reruns_do_not_duplicate(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    samples = fleet_samples(D0 - 2 * DAY, D0 + 2 * DAY)
    drop(tmp_path, "history.parquet", samples)
    defs = definitions(tmp_path)

    result = run_range(defs, instance, "2026-10-30", "2026-11-02")
    assert result.success
    assert len(instance.get_runs()) == 1
    mats = result.asset_materializations_for_node("error_budgets")
    assert len(mats) == 4  # one materialization per partition, in the single run

    warehouse = defs.resources["warehouse"]
    stored = warehouse.read_buckets(D0 - 10 * DAY, D0 + 10 * DAY)
    assert len(stored) == len(samples)

    again = run_range(defs, instance, "2026-10-31", "2026-10-31")
    assert again.success
    assert len(warehouse.read_buckets(D0 - 10 * DAY, D0 + 10 * DAY)) == len(samples)

    # snapshots equal a direct engine evaluation of the same data at each day end
    snaps = warehouse.read_budget_snapshots(slos=["payments-availability"])
    assert sorted(snaps["at"]) == [D0 - DAY, D0, D0 + DAY, D0 + 2 * DAY]
    catalog = load_catalog(FLEET)
    for at in snaps["at"]:
        [direct] = [
            r
            for r in CatalogEvaluator(catalog, samples).evaluate(int(at))
            if r.name == "payments-availability"
        ]
        row = snaps[snaps["at"] == at].iloc[0]
        assert row["consumed_bad"] == pytest.approx(direct.consumed_bad, abs=1e-9)
        assert row["remaining_ratio"] == pytest.approx(direct.remaining_ratio, rel=1e-9)
        assert row["status"] == direct.status
        assert row["digest"] == f"{direct.catalog_digest}:{direct.buckets_digest}"

    hourly = warehouse.read_rollups("hour", D0 - 2 * DAY, D0 + 2 * DAY, slos=["payments-availability"])
    minute = samples[samples["slo"] == "payments-availability"]
    assert hourly["total"].sum() == pytest.approx(minute["total"].sum())

    report = result.asset_materializations_for_node("budget_report")[0]
    html = Path(report.metadata["html"].value)  # type: ignore[attr-defined]
    assert html.exists() and "payments-availability" in html.read_text()
    page = html.read_text()
    assert "Edge-case policy in force" in page and "final_attempt" in page
    # policy decisions are recorded with their inputs, exactly as the engine derives them from snapshots
    from slo_pipelines.catalog.budget_policy import catalog_budget_policies, policy_for_slo
    from slo_pipelines.engine.alerting.budget_decisions import decision_events

    policies = catalog_budget_policies(catalog.documents)
    all_snaps = warehouse.read_budget_snapshots()
    expected = set()
    for name, slo in catalog.slos.items():
        policy = policy_for_slo(policies, name, slo.service)
        if policy is not None:
            events = decision_events(policy, all_snaps[all_snaps["slo"] == name], set())
            expected |= set(zip(events["slo"], events["action"], events["at"], events["state"], strict=True))
    stored = warehouse.read_policy_decisions()
    assert set(zip(stored["slo"], stored["action"], stored["at"], stored["state"], strict=True)) == expected
    assert expected, "the generated incidents push some budget below a policy threshold"
    assert result.asset_materializations_for_node("policy_decisions")


def test_failing_check_blocks_downstream_and_quarantines_rows(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    samples = fleet_samples(D0, D0 + DAY, ["payments-availability"]).drop(columns=["value"])
    samples["timestamp"] = samples.pop("start")
    samples.loc[5, "good"] = samples.loc[5, "total"] + 7  # good > total
    samples.loc[9, "total"] = -1  # negative
    conflicting = samples.iloc[[20]].assign(good=samples.iloc[20]["good"] - 1)
    identical = samples.iloc[
        [30]
    ]  # repeated within one file: `slo evaluate` refuses it, so does the pipeline
    broken = pd.concat([samples, conflicting, identical])
    path = tmp_path / "drop" / "broken.csv"
    path.parent.mkdir(parents=True)
    broken.to_csv(path, index=False)
    defs = definitions(tmp_path)

    result = run_range(defs, instance, "2026-11-01", "2026-11-01")
    assert not result.success
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not checks["good_le_total"].passed and not checks["total_non_negative"].passed
    assert not checks["slo_start_unique"].passed and checks["start_aligned"].passed
    materialized = {e.asset_key.path[-1] for e in result.get_asset_materialization_events() if e.asset_key}
    assert "sli_clean" not in materialized and "error_budgets" not in materialized
    assert not checks["rows_valid"].passed  # the gate in front of sli_clean
    quality = result.asset_materializations_for_node("sli_quality_report")[0]
    page = Path(quality.metadata["html"].value).read_text()  # type: ignore[attr-defined]
    assert "good_le_total" in page and "slo_start_unique" in page and "total_non_negative" in page
    assert "broken.csv" in page  # example rows name their source

    quarantine = defs.resources["warehouse"].read_quarantine()
    reasons = " | ".join(quarantine["reason"])
    assert len(quarantine) == 6  # the bad-value rows and both copies of buckets 20 and 30
    assert "good" in reasons and "duplicate" in reasons.lower()
    assert set(quarantine["source"]) == {"broken.csv"}


def test_file_drop_sensor_requests_exactly_the_touched_days(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    defs = definitions(tmp_path)
    sensor = defs.resolve_sensor_def("sample_file_sensor")
    frame = pd.concat(
        [
            fleet_samples(D0, D0 + DAY, ["payments-availability"]),
            fleet_samples(D0 + 3 * DAY, D0 + 5 * DAY, ["payments-availability"]),
        ]
    )
    drop(tmp_path, "a.parquet", frame)
    ctx = dg.build_sensor_context(instance=instance, resources=defs.resources)
    requests = list(sensor(ctx))  # type: ignore[call-overload]
    ranges = sorted(
        (r.tags["dagster/asset_partition_range_start"], r.tags["dagster/asset_partition_range_end"])
        for r in requests
    )
    assert ranges == [("2026-11-01", "2026-11-01"), ("2026-11-04", "2026-11-05")]
    assert len({r.run_key for r in requests}) == 2
    cursor = json.loads(ctx.cursor or "{}")
    assert list(cursor) == ["a.parquet"]

    again = dg.build_sensor_context(instance=instance, cursor=ctx.cursor, resources=defs.resources)
    assert list(sensor(again)) == []  # type: ignore[call-overload]


def test_unreadable_files_and_unknown_slos_are_quarantined_not_lost(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    drop_dir = tmp_path / "drop"
    drop_dir.mkdir()
    (drop_dir / "no-total.csv").write_text(
        "slo,timestamp,good\npayments-availability,2026-11-01T00:00:00Z,5\n"
    )
    (drop_dir / "stranger.csv").write_text(
        "slo,timestamp,good,total\nnot-in-catalog,2026-11-01T00:01:00Z,5,5\n"
        "payments-availability,2026-11-01T00:01:00Z,5,6\n"
    )
    defs = definitions(tmp_path)
    result = run_range(defs, instance, "2026-11-01", "2026-11-01")
    assert not result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["sample_files_readable"] is False and checks["slo_in_catalog"] is False
    assert checks["good_le_total"] is True
    quarantine = defs.resources["warehouse"].read_quarantine()
    by_source = dict(zip(quarantine["source"], quarantine["reason"], strict=True))
    assert "missing column: total" in by_source["no-total.csv"]
    assert "unknown SLO" in by_source["stranger.csv"] and "not-in-catalog" in by_source["stranger.csv"]
    stored = defs.resources["warehouse"].read_buckets(D0, D0 + DAY)
    assert list(stored["slo"]) == ["payments-availability"]  # the valid row is kept


def test_incomplete_collection_blocks_budgets_until_accepted(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    samples = fleet_samples(D0 - DAY, D0 + DAY)
    gap = (samples["slo"] == "auth-availability") & samples["start"].between(D0 + 3600, D0 + 3 * 3600 - 1)
    drop(tmp_path, "history.parquet", samples[~gap])
    defs = definitions(tmp_path)

    blocked = run_range(defs, instance, "2026-10-31", "2026-11-01")
    assert not blocked.success
    checks = {e.check_name: e for e in blocked.get_asset_check_evaluations()}
    assert not checks["completeness"].passed and checks["staleness"].passed and checks["volume_drop"].passed
    assert checks["completeness"].metadata["failing_slos"].value == ["auth-availability"]  # type: ignore[attr-defined]
    assert not blocked.asset_materializations_for_node("sli_clean")

    history = defs.resources["warehouse"].read_audit_results()
    day = history[(history["partition_start"] == D0) & (history["check_name"] == "completeness")].iloc[0]
    assert not day["success"] and day["unexpected_count"] == 1
    [auth] = [s for s in day["details"]["failing_slos"] if s["slo"] == "auth-availability"]
    assert auth["gaps"] == [["2026-11-01T01:00:00Z", "2026-11-01T03:00:00Z"]]
    assert auth["present"] == 1440 - 120
    report = Path(blocked.asset_materializations_for_node("sli_quality_report")[0].metadata["html"].value)  # type: ignore[attr-defined]
    assert "2026-11-01T01:00:00Z" in report.read_text()

    accepted = defs.resolve_job_def("slo_pipeline").execute_in_process(
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": "2026-10-31",
            "dagster/asset_partition_range_end": "2026-11-01",
        },
        run_config={"ops": {"sli_quality_report": {"config": {"min_completeness": 0.9}}}},
        raise_on_error=False,
    )
    assert accepted.success
    assert len(accepted.asset_materializations_for_node("error_budgets")) == 2


def test_rows_without_a_usable_timestamp_are_quarantined_without_blocking(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    samples = fleet_samples(D0, D0 + DAY).drop(columns=["value"])
    samples["timestamp"] = samples.pop("start").astype(object)
    samples.loc[3, "timestamp"] = "yesterday"
    samples.loc[4, "timestamp"] = "1e20"
    path = tmp_path / "drop" / "day.csv"
    path.parent.mkdir()
    samples.to_csv(path, index=False)
    defs = definitions(tmp_path)
    result = run_range(defs, instance, "2026-11-01", "2026-11-01")
    assert result.success
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not checks["sample_files_readable"].passed
    quarantine = defs.resources["warehouse"].read_quarantine()
    assert sorted(quarantine["row_number"]) == [5, 6]
    assert set(quarantine["reason"]) == {
        "timestamp: not an ISO 8601 timestamp or Unix seconds (got 'yesterday')",
        "timestamp: timestamp out of range (1970 to 2255) (got '1e20')",
    }
    lines = path.read_text().splitlines()
    assert sorted(quarantine["raw"]) == sorted([lines[4], lines[5]])  # the rows' text, verbatim


def test_sensor_limits_requests_to_existing_partitions_and_forgets_removed_files(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    defs = definitions(tmp_path)
    sensor = defs.resolve_sensor_def("sample_file_sensor")
    old = fleet_samples(D0, D0 + DAY, ["payments-availability"])
    ancient = old.assign(start=old["start"] - 40 * 365 * DAY)  # 1986: before the first partition
    path = drop(tmp_path, "mixed.parquet", pd.concat([ancient, old]))
    ctx = dg.build_sensor_context(instance=instance, resources=defs.resources)
    requests = list(sensor(ctx))  # type: ignore[call-overload]
    assert [r.tags["dagster/asset_partition_range_start"] for r in requests] == ["2026-11-01"]
    path.unlink()
    again = dg.build_sensor_context(instance=instance, cursor=ctx.cursor, resources=defs.resources)
    assert list(sensor(again)) == []  # type: ignore[call-overload]
    assert json.loads(again.cursor or "{}") == {}


def test_prometheus_down_fails_the_day_instead_of_marking_it_complete(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    import socket

    from slo_pipelines.resources.prometheus import PrometheusResource

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    prometheus = PrometheusResource(url=dead, ingest=True, max_retries=1, backoff_seconds=0.01)
    defs = definitions(tmp_path, prometheus=prometheus)
    result = run_range(defs, instance, "2026-11-01", "2026-11-01")
    assert not result.success
    assert not result.asset_materializations_for_node("sli_buckets")
    failure = next(e for e in result.all_events if e.is_step_failure)
    error = failure.event_specific_data.error.to_string()  # type: ignore[union-attr]
    assert "PrometheusError" in error and dead in error


LONG_CATALOG = """apiVersion: openslo/v1
kind: Service
metadata: {name: ledger}
spec: {description: Accounting ledger}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: ledger-availability}
spec:
  service: ledger
  indicator:
    metadata: {name: ledger-requests}
    spec:
      ratioMetric:
        counter: true
        good: {metricSource: {type: Prometheus, spec: {query: 'sum(ok_total)'}}}
        total: {metricSource: {type: Prometheus, spec: {query: 'sum(all_total)'}}}
  timeWindow: [{duration: 60d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{displayName: availability, target: 0.995}]
---
apiVersion: slo-pipelines/v1
kind: MaintenanceWindow
metadata: {name: ledger-migration}
spec:
  scope: {service: ledger}
  start: "2026-10-12T10:20:00Z"
  end: "2026-10-12T12:50:00Z"
  reason: Ledger schema migration
  approvedBy: change-board
"""


def test_long_windows_read_hourly_rollups_and_match_minutes(
    tmp_path: Path, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    from slo_pipelines.resources.demo_history import generate
    from slo_pipelines.resources.warehouse import WarehouseResource

    catalog_dir = tmp_path / "catalog"
    catalog_dir.mkdir()
    (catalog_dir / "ledger.yaml").write_text(LONG_CATALOG)
    catalog = load_catalog(catalog_dir)
    first_day = D0 - 30 * DAY  # 2026-10-02
    samples = generate(catalog, first_day, D0 + 2 * DAY)
    drop(tmp_path, "ledger.parquet", samples)
    defs = definitions(tmp_path, catalog=catalog_dir)
    assert run_range(defs, instance, "2026-10-02", "2026-11-02").success

    calls: list[tuple[str, int, int]] = []
    original = WarehouseResource.read_rollups

    def spy(self: WarehouseResource, grain: str, start: int, end: int, slos: object = None) -> pd.DataFrame:
        calls.append((grain, start, end))
        return original(self, grain, start, end, slos)  # type: ignore[arg-type]

    monkeypatch.setattr(WarehouseResource, "read_rollups", spy)
    again = run_range(defs, instance, "2026-11-02", "2026-11-02")
    assert again.success and calls, "error_budgets read the older part of the window from rollups"
    [(rollup_start, fine_from)] = [(s, e) for grain, s, e in calls if grain == "hour"]
    assert fine_from - rollup_start > 20 * DAY

    snaps = defs.resources["warehouse"].read_budget_snapshots(start=D0 + 2 * DAY, end=D0 + 2 * DAY + 1)
    [row] = snaps.to_dict(orient="records")
    [direct] = CatalogEvaluator(catalog, samples).evaluate(D0 + 2 * DAY)
    assert direct.excluded_seconds == 150 * 60
    assert row["consumed_bad"] == direct.consumed_bad and row["total"] == direct.total
    assert row["remaining_ratio"] == pytest.approx(direct.remaining_ratio, abs=1e-12)
    assert row["coverage"] == pytest.approx(direct.coverage, abs=1e-12)


def test_runtime_exclusions_are_honoured_reported_and_revocable(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    import subprocess
    import sys

    samples = fleet_samples(D0 - DAY, D0 + DAY)
    outage = (samples["slo"] == "payments-availability") & samples["start"].between(
        D0 + 10 * 3600, D0 + 11 * 3600 + 1799
    )
    samples.loc[outage, "good"] = 0.0
    drop(tmp_path, "history.parquet", samples)
    defs = definitions(tmp_path)
    env = {**__import__("os").environ, "SLO_WAREHOUSE_URL": f"sqlite:///{tmp_path / 'warehouse.db'}"}

    def slo(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "slo_pipelines.cli", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )

    added = slo(
        "exclusions",
        "add",
        "--catalog",
        str(FLEET),
        "--id",
        "psp-2026-11-01",
        "--scope",
        "slo:payments-availability",
        "--start",
        "2026-11-01T10:00:00Z",
        "--end",
        "2026-11-01T11:30:00Z",
        "--category",
        "dependency_outage",
        "--reason",
        "card gateway down",
        "--requester",
        "sre-a",
        "--approver",
        "change-board",
    )
    assert added.returncode == 0, added.stderr
    assert "needs review" in added.stdout  # recorded after the fact: a second person must approve it
    reviewed = slo(
        "exclusions",
        "review",
        "psp-2026-11-01",
        "--reviewer",
        "sre-lead",
        "--decision",
        "approve",
        "--reason",
        "vendor status page confirms the outage",
    )
    assert reviewed.returncode == 0, reviewed.stderr
    assert run_range(defs, instance, "2026-10-31", "2026-11-01").success

    catalog = load_catalog(FLEET)
    warehouse = defs.resources["warehouse"]
    snap = warehouse.read_budget_snapshots(slos=["payments-availability"], start=D0 + DAY, end=D0 + DAY + 1)
    [without] = [
        r for r in CatalogEvaluator(catalog, samples).evaluate(D0 + DAY) if r.name == "payments-availability"
    ]
    assert snap["excluded_seconds"].iloc[0] == 5400
    assert snap["consumed_bad"].iloc[0] < without.consumed_bad
    restored_bad = without.consumed_bad - snap["consumed_bad"].iloc[0]
    assert restored_bad == samples.loc[outage, "total"].sum()  # every bad event of the outage came back

    report = run_range(defs, instance, "2026-11-01", "2026-11-01").asset_materializations_for_node(
        "budget_report"
    )
    data = json.loads(Path(report[0].metadata["json"].value).read_text())  # type: ignore[attr-defined]
    [payments] = [s for s in data["slos"] if s["name"] == "payments-availability"]
    [entry] = [e for e in payments["exclusions"] if e["name"] == "psp-2026-11-01"]
    assert entry["approved_by"] == "change-board" and entry["restored_bad"] == restored_bad

    revoked = slo(
        "exclusions", "revoke", "psp-2026-11-01", "--reason", "vendor fixed the data", "--by", "sre-b"
    )
    assert revoked.returncode == 0, revoked.stderr
    assert run_range(defs, instance, "2026-11-01", "2026-11-01").success
    snap = warehouse.read_budget_snapshots(slos=["payments-availability"], start=D0 + DAY, end=D0 + DAY + 1)
    assert snap["consumed_bad"].iloc[0] == without.consumed_bad and snap["excluded_seconds"].iloc[0] == 0


def test_dependency_outages_are_proposed_then_approved_by_a_person(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    import os
    import subprocess
    import sys

    samples = fleet_samples(D0 - DAY, D0 + DAY)
    window = samples["start"].between(D0 + 10 * 3600, D0 + 10 * 3600 + 1799)
    for slo in ("payment-gateway-availability", "payments-availability"):
        hit = window & (samples["slo"] == slo)
        samples.loc[hit, "good"] = (samples.loc[hit, "total"] * 0.3).round()
    drop(tmp_path, "history.parquet", samples)
    defs = definitions(tmp_path)
    assert run_range(defs, instance, "2026-11-01", "2026-11-01").success

    warehouse = defs.resources["warehouse"]
    [proposal] = [p for p in warehouse.read_outage_proposals() if p["scope"] == "slo:payments-availability"]
    assert proposal["state"] == "proposed" and proposal["needs_approval"]
    assert proposal["start"] == "2026-11-01T10:00:00Z" and proposal["end"] == "2026-11-01T10:30:00Z"
    assert all(m["upstream_breaching"] for m in proposal["minutes"])
    assert warehouse.read_exclusion_events() == []  # nothing is excluded until someone approves

    env = {**os.environ, "SLO_WAREHOUSE_URL": f"sqlite:///{tmp_path / 'warehouse.db'}"}
    approve = [
        sys.executable,
        "-m",
        "slo_pipelines.cli",
        "exclusions",
        "approve",
        proposal["id"],
        "--approver",
        "vendor-mgr",
    ]
    done = subprocess.run(approve, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    again = subprocess.run(approve, capture_output=True, text=True, env=env, timeout=120)
    assert again.returncode == 1 and "already approved" in again.stderr
    assert run_range(defs, instance, "2026-11-01", "2026-11-01").success
    snap = warehouse.read_budget_snapshots(slos=["payments-availability"], start=D0 + DAY, end=D0 + DAY + 1)
    assert snap["excluded_seconds"].iloc[0] == 0  # retroactive: waits for a second approval
    review = [*approve[:4], "review", proposal["id"], "--reviewer", "sre-lead", "--decision", "approve"]
    done = subprocess.run(
        [*review, "--reason", "matches the vendor's report"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert run_range(defs, instance, "2026-11-01", "2026-11-01").success
    snap = warehouse.read_budget_snapshots(slos=["payments-availability"], start=D0 + DAY, end=D0 + DAY + 1)
    assert snap["excluded_seconds"].iloc[0] == 1800
