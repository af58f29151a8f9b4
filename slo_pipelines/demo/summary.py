"""The demo's closing summary: one line per SLO objective, then where the report is."""

import json
from pathlib import Path

import dagster as dg

from slo_pipelines.catalog import Catalog
from slo_pipelines.demo.sla import print_statements
from slo_pipelines.engine.common.timeutil import format_instant
from slo_pipelines.reports.tables import RESULT_HEADERS, render_table, result_rows
from slo_pipelines.resources.incident_store import IncidentStore
from slo_pipelines.resources.warehouse import WarehouseResource


def print_summary(defs: dg.Definitions, catalog: Catalog, out_dir: Path) -> int:
    warehouse = (defs.resources or {})["warehouse"]
    assert isinstance(warehouse, WarehouseResource)
    snaps = warehouse.read_budget_snapshots()
    latest = snaps[snaps["at"] == snaps["at"].max()]
    rows = []
    for _, s in latest.iterrows():
        slo = catalog.slos[s["slo"]]
        objective = next(o for o in slo.objectives if o.name == s["objective"])
        alerts = s["alerts"] if isinstance(s["alerts"], list) else json.loads(s["alerts"] or "[]")
        rows.append(
            {
                "name": s["slo"],
                "objective": s["objective"],
                "budgeting_method": slo.budgeting_method,
                "target": objective.target,
                "sli": None if s["sli"] != s["sli"] else s["sli"],
                "error_budget": {
                    "remaining_ratio": None
                    if s["remaining_ratio"] != s["remaining_ratio"]
                    else s["remaining_ratio"]
                },
                "coverage": None if s["coverage"] != s["coverage"] else s["coverage"],
                "status": s["status"],
                "alerts": alerts,
            }
        )
    print(f"\nbudgets at {format_instant(int(latest['at'].max()))}:")
    print(render_table(result_rows(rows), RESULT_HEADERS))
    _print_incidents(warehouse)
    events = warehouse.read_alert_events()
    quarantined = warehouse.read_quarantine()
    print(f"\nalert events replayed: {len(events)}; rows quarantined: {len(quarantined)}")
    reports = sorted((out_dir / "reports").glob("budget-*/report.html"))
    if reports:
        print(f"report: {reports[-1].resolve()}")
    postmortems = sorted((out_dir / "reports").glob("incident-*/postmortem.html"))
    if postmortems:
        print(f"incident postmortem evidence: {postmortems[0].parent.parent.resolve()}/incident-*/")
    print_statements(out_dir)
    quality = sorted((out_dir / "reports").glob("quality-*/quality.html"))
    if quality:
        print(f"data quality: {quality[-1].resolve()}")
    archive = out_dir / "archive"
    if (archive / "manifest.jsonl").exists():
        entries = (archive / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
        head = json.loads(entries[-1])["entry_hash"] if entries else "none"
        print(f"archive: {archive.resolve()} ({len(entries)} records, chain head {head})")
        print(f"  check it: slo archive verify {archive} --expect-head {head}")
    print("browse the runs: make dev  (then open http://127.0.0.1:3000)")
    return 0


def _print_incidents(warehouse: WarehouseResource) -> None:
    """The stored impact of the latest version of each incident, one line per affected SLO objective."""
    rows = IncidentStore(warehouse).read_impact()
    if not rows:
        return
    latest: dict[tuple[str, str], int] = {}
    for r in rows:
        key = (r["system"], r["incident_id"])
        latest[key] = max(latest.get(key, r["updated_at"]), r["updated_at"])
    table = []
    for r in sorted(rows, key=lambda r: (r["name"], r["slo"], r["objective"])):
        if r["updated_at"] != latest[(r["system"], r["incident_id"])]:
            continue
        ratio = r["budget_consumed_ratio"]
        expected = r["expected_severity"] or "—"
        table.append(
            [
                r["name"],
                r["severity"],
                expected + (" (mismatch)" if expected not in ("—", r["severity"]) else ""),
                r["slo"],
                f"{r['bad']:g}",
                "—" if ratio is None else f"{ratio * 100:.2f}%",
                f"{r['attributed_bad']:g}",
                "—" if r["peak_burn_rate_1h"] is None else f"{r['peak_burn_rate_1h']:.1f}",
            ]
        )
    headers = [
        "INCIDENT",
        "SEVERITY",
        "EXPECTED",
        "SLO",
        "BAD",
        "BUDGET CONSUMED",
        "ATTRIBUTED",
        "PEAK BURN 1H",
    ]
    print("\nincident impact:")
    print(render_table(table, headers))
