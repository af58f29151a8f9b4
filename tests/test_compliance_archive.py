"""The `compliance_archive` asset end to end: a closed month's reports and evidence archived once,
signed, verifiable, recomputable from the archive alone, with the chain head in the audit log and
printed in the reports."""

import json
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from slo_pipelines.cli import main
from slo_pipelines.engine.audit.log import verify
from tests.pipeline_helpers import D0, DAY, definitions, drop, fleet_samples, run_range

KEY = "archive-test-key"


@pytest.fixture
def instance(tmp_path: Path):  # type: ignore[no-untyped-def]
    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as inst:
        yield inst


def test_closed_month_is_archived_once_and_recomputes(
    tmp_path: Path, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("SLO_ARCHIVE_KEY", KEY)
    drop(tmp_path, "history.parquet", fleet_samples(D0 - 3 * DAY, D0 + DAY))
    defs = definitions(tmp_path)
    assert run_range(defs, instance, "2026-10-29", "2026-10-31").success  # 2026-10 ends at the last day end
    archive = tmp_path / "archive"
    manifest = [json.loads(line) for line in (archive / "manifest.jsonl").read_text().splitlines()]
    paths = {e["path"]: e for e in manifest}
    for name, record_class in (
        ("reports/budget-report/report.html", "budget_report"),
        ("reports/budget-report/report.json", "budget_report"),
        ("exclusions.json", "exclusions"),
        ("incidents.json", "incidents"),
        ("inputs/buckets.parquet", "digests"),
        ("inputs/catalog/teams.yaml", "digests"),
        ("digests.json", "digests"),
    ):
        assert paths[f"records/2026-10/{name}"]["record_class"] == record_class
    assert all("signature" in e for e in manifest)
    # the period's digests come last among its records; then the latest daily report
    period_end = next(i for i, e in enumerate(manifest) if e["path"] == "records/2026-10/digests.json")
    assert all(e["path"].startswith("records/2026-10/") for e in manifest[: period_end + 1])
    daily = "records/daily/budget-2026-11-01T000000Z"
    assert {e["path"] for e in manifest[period_end + 1 :]} == {
        f"{daily}/{team}report.{ext}"
        for team in ("", "teams/payments/", "teams/platform/", "teams/storefront/")
        for ext in ("html", "json", "md")
    }
    bundle = json.loads((archive / daily / "teams/payments/report.json").read_text())
    assert {s["name"] for s in bundle["slos"]} == {
        "payments-availability",
        "payment-gateway-availability",
        "invoicing-availability",
        "legacy-billing-availability",
    }
    head = manifest[-1]["entry_hash"]

    assert main(["archive", "verify", str(archive), "--expect-head", head]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == f"{len(manifest)} records verified"
    assert main(["archive", "recompute", str(archive), "--period", "2026-10"]) == 0
    assert "14 objectives recomputed" in capsys.readouterr().out

    report = json.loads((archive / "records/2026-10/reports/budget-report/report.json").read_text())
    digests = json.loads((archive / "records/2026-10/digests.json").read_text())
    incidents = json.loads((archive / "records/2026-10/incidents.json").read_text())
    for incident in incidents["incidents"]:  # only those that overlapped the period, with their impact
        assert incident["start"] < D0 and (incident["end"] is None or incident["end"] > D0 - 31 * DAY)
    assert report["at"] == "2026-11-01T00:00:00Z" and report["archive_head"] == "0" * 64  # first period
    assert {(s["name"], s["digest"]["buckets"]) for s in report["slos"]} == {
        (s["name"], s["digest"]["buckets"]) for s in digests["slos"]
    }

    warehouse = defs.resources["warehouse"]
    log = warehouse.read_audit_log()
    writes = [e for e in log if e["action"] == "archive.write"]
    assert [w["subject"] for w in writes] == ["period 2026-10", "daily budget-2026-11-01T000000Z"]
    assert (
        writes[0]["details"]["head"] == manifest[period_end]["entry_hash"]
        and writes[1]["details"]["head"] == head
    )
    assert verify(log) == []
    assert {"report.generate", "archive.write"} <= {e["action"] for e in log}
    with warehouse.get_engine().connect() as conn:  # the team map row-level security keys on
        teams = dict(conn.execute(sa.text("SELECT slo, team FROM slo_teams")).all())
    assert teams["payments-availability"] == "payments" and teams["search-availability"] == "storefront"

    # a re-run archives nothing twice; the daily report prints the head it saw
    assert run_range(defs, instance, "2026-10-31", "2026-10-31").success
    assert len((archive / "manifest.jsonl").read_text().splitlines()) == len(manifest)
    # statements the contract-period job writes later are archived when they appear, once
    statements = tmp_path / "reports" / "sla-2026-10"
    statements.mkdir()
    (statements / "acme-compute.json").write_text('{"met": true}')
    (statements / "index.html").write_text("<h1>October</h1>")
    assert run_range(defs, instance, "2026-10-31", "2026-10-31").success
    (statements / "index.html").write_text("<h1>October, re-rendered</h1>")
    assert run_range(defs, instance, "2026-10-31", "2026-10-31").success
    added = [json.loads(line) for line in (archive / "manifest.jsonl").read_text().splitlines()][
        len(manifest) :
    ]
    assert [(e["path"], e["record_class"]) for e in added] == [
        ("records/2026-10/reports/sla/acme-compute.json", "sla_statement"),
        ("records/2026-10/reports/sla/index.html", "sla_statement"),
    ]
    assert (archive / added[1]["path"]).read_text() == "<h1>October</h1>"
    assert main(["archive", "verify", str(archive)]) == 0
    manifest += added
    head = manifest[-1]["entry_hash"]
    latest = sorted((tmp_path / "reports").glob("budget-*/report.html"))[-1].read_text()
    assert head in latest

    # a changed archived input no longer reproduces
    parquet = archive / "records/2026-10/inputs/buckets.parquet"
    parquet.write_bytes(parquet.read_bytes() + b"\0")
    assert main(["archive", "recompute", str(archive), "--period", "2026-10"]) == 1
    captured = capsys.readouterr()
    assert "records/2026-10/inputs/buckets.parquet: modified" in captured.out
    assert "archive not intact" in captured.err
    assert main(["archive", "recompute", str(archive), "--period", "2026-09"]) == 1
