"""Latency from a PagerDuty webhook delivery to recomputed budgets and incident impact, on the embedded
default (SQLite Dagster instance, SQLite warehouse, in-process executor).

Setup (not timed): `--days` of the example fleet's generated history loaded by the main job, the signed
webhook receiver on 127.0.0.1. Timed, per delivery:
1. delivery: a signed `incident.resolved` event POSTed to the receiver (verified, stored in the inbox);
2. sensor: one tick of the incident sensor (`build_sensor_context` on the same instance) turning it into
   an incident version and a run request for the days the incident spans;
3. run: the `slo_recompute` job for those days (clean buckets, budgets, alerts, decisions, impact,
   report), in process;
4. read back: the incident's stored impact rows and the recomputed budget snapshots.

    .venv/bin/python -m benchmarks.incident_latency             # 14 days of history, 3 deliveries
    .venv/bin/python -m benchmarks.incident_latency --days 30
"""

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret"


def _event(n: int, start: int, end: int) -> dict[str, object]:
    def iso(ts: int) -> str:
        return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    return {
        "event": {
            "id": f"bench-{n}",
            "event_type": "incident.resolved",
            "occurred_at": iso(end),
            "data": {
                "id": f"QBENCH{n}",
                "type": "incident",
                "number": 9000 + n,
                "status": "resolved",
                "created_at": iso(start),
                "title": "Payment gateway timeouts",
                "service": {"id": "PGW", "summary": "payment-gateway"},
                "priority": {"summary": "P2"},
            },
        }
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=14, help="days of fleet history loaded first")
    parser.add_argument("--deliveries", type=int, default=3, help="timed webhook deliveries")
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "results" / "incident_latency.json"))
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    tmp = Path(tempfile.mkdtemp(prefix="slo-incident-bench-"))
    os.environ["DAGSTER_HOME"] = str(tmp / "dagster_home")
    (tmp / "dagster_home").mkdir()
    (tmp / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")

    import dagster as dg

    from slo_pipelines.assets import ALL_ASSETS
    from slo_pipelines.definitions import recompute_job, slo_pipeline_job
    from slo_pipelines.engine.incidents.webhooks import sign
    from slo_pipelines.resources.catalog_resource import CatalogResource
    from slo_pipelines.resources.incident_sources import IncidentPollingResource
    from slo_pipelines.resources.incident_store import IncidentStore
    from slo_pipelines.resources.prometheus import PrometheusResource
    from slo_pipelines.resources.report_store import ReportStoreResource
    from slo_pipelines.resources.sample_source import SampleSourceResource
    from slo_pipelines.resources.warehouse import WarehouseResource
    from slo_pipelines.resources.webhook_inbox import PAGERDUTY_PATH, make_server
    from slo_pipelines.sensors.incidents import build_incident_sensor

    warehouse = WarehouseResource(url=f"sqlite:///{tmp / 'warehouse.db'}")
    defs = dg.Definitions(
        assets=ALL_ASSETS,
        jobs=[slo_pipeline_job, recompute_job],
        sensors=[build_incident_sensor(recompute_job.name)],
        resources={
            "catalog": CatalogResource(path=str(ROOT / "examples" / "fleet")),
            "samples": SampleSourceResource(drop_dir=str(tmp / "drop"), demo_fleet=True),
            "warehouse": warehouse,
            "reports": ReportStoreResource(base_dir=str(tmp / "reports")),
            "incident_sources": IncidentPollingResource(),
            "prometheus": PrometheusResource(),
        },
    )
    instance = dg.DagsterInstance.get()
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    first = (today - timedelta(days=args.days)).strftime("%Y-%m-%d")
    last = (today - timedelta(days=1)).strftime("%Y-%m-%d")
    started = time.perf_counter()
    setup = defs.resolve_job_def(slo_pipeline_job.name).execute_in_process(
        instance=instance,
        tags={"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last},
        run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}},
    )
    assert setup.success
    setup_seconds = time.perf_counter() - started

    store = IncidentStore(warehouse)
    server = make_server("127.0.0.1", 0, store, [SECRET])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}{PAGERDUTY_PATH}"
    sensor = defs.resolve_sensor_def("incident_sensor")
    # versions recorded during the setup (the catalog's own incidents) are not part of the measurement
    cursor = sensor(dg.build_sensor_context(instance=instance, resources=defs.resources)).cursor  # type: ignore[call-overload]
    rows: list[dict[str, float]] = []
    yesterday = int((today - timedelta(days=1)).timestamp())
    for n in range(args.deliveries):
        start = yesterday + 3600 * (2 + 3 * n)
        body = json.dumps(_event(n, start, start + 2400)).encode()
        t0 = time.perf_counter()
        answer = requests.post(
            url, data=body, headers={"X-PagerDuty-Signature": sign(body, SECRET)}, timeout=30
        )
        assert answer.status_code == 202, answer.text
        t1 = time.perf_counter()
        result = sensor(dg.build_sensor_context(instance=instance, cursor=cursor, resources=defs.resources))  # type: ignore[call-overload]
        cursor = result.cursor
        [request] = [r for r in result.run_requests if r.run_key.startswith(f"pagerduty:QBENCH{n}:")]
        t2 = time.perf_counter()
        run = defs.resolve_job_def(recompute_job.name).execute_in_process(
            instance=instance,
            tags={**request.tags, "dagster/run_key": request.run_key},
            run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}},
        )
        assert run.success
        t3 = time.perf_counter()
        impact = store.read_impact("pagerduty", f"QBENCH{n}")
        snapshots = warehouse.read_budget_snapshots()
        assert impact and not snapshots.empty
        t4 = time.perf_counter()
        rows.append(
            {
                "delivery_s": t1 - t0,
                "sensor_s": t2 - t1,
                "run_s": t3 - t2,
                "read_back_s": t4 - t3,
                "total_s": t4 - t0,
                "impact_rows": len(impact),
                "days_recomputed": 1
                + (
                    datetime.strptime(request.tags["dagster/asset_partition_range_end"], "%Y-%m-%d")
                    - datetime.strptime(request.tags["dagster/asset_partition_range_start"], "%Y-%m-%d")
                ).days,
            }
        )
    server.shutdown()
    totals = [r["total_s"] for r in rows]
    summary = {
        "history_days": args.days,
        "setup_backfill_s": setup_seconds,
        "deliveries": rows,
        "median_total_s": statistics.median(totals),
        "max_total_s": max(totals),
        "target_s": 60,
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(summary, indent=2))
    print(f"history: {args.days} days of the example fleet, backfilled in {setup_seconds:.1f} s (not timed)")
    print("delivery  sensor  run     read    total   days  impact rows")
    for r in rows:
        print(
            f"{r['delivery_s']:7.3f}s {r['sensor_s']:6.2f}s {r['run_s']:6.2f}s {r['read_back_s']:6.3f}s "
            f"{r['total_s']:6.2f}s  {int(r['days_recomputed']):4d}  {int(r['impact_rows'])}"
        )
    print(
        f"webhook delivery -> recomputed budgets and impact: median {summary['median_total_s']:.1f} s, "
        f"max {summary['max_total_s']:.1f} s (target < 60 s)"
    )


if __name__ == "__main__":
    main()
