"""The alert_notifications asset against a PagerDuty-shaped server on 127.0.0.1: once, with context."""

import json
from pathlib import Path

import dagster as dg

from slo_pipelines.assets import ALL_ASSETS
from slo_pipelines.assets.notifications import alert_notifications
from slo_pipelines.assets.partitions import daily_partitions
from slo_pipelines.resources.notifiers import PagerDutyNotifier
from tests.local_http import Reply, local_server
from tests.pipeline_helpers import D0, DAY, drop, fleet_samples, resources

PD_OK = Reply(202, json.dumps({"status": "success", "message": "Event processed", "dedup_key": "x"}))
KEY = "slo-pipelines/payments-availability/availability/page/1h-5m"


def test_pages_once_with_budget_context_and_resolves(tmp_path: Path) -> None:
    samples = fleet_samples(D0 - DAY, D0 + DAY)
    outage = (samples["slo"] == "payments-availability") & samples["start"].between(
        D0 + 10 * 3600, D0 + 11 * 3600 + 1799
    )
    samples.loc[outage, "good"] = 0.0
    drop(tmp_path, "history.parquet", samples)
    home = tmp_path / "home"
    home.mkdir()
    with local_server() as server, dg.instance_for_test(temp_dir=str(home)) as instance:
        server.route("POST", "/v2/enqueue", PD_OK)
        job = dg.define_asset_job(
            "slo_pipeline",
            selection=dg.AssetSelection.assets(*ALL_ASSETS, alert_notifications),
            partitions_def=daily_partitions,
        )
        notifier = PagerDutyNotifier(base_url=server.url, routing_key="R" * 32, backoff_seconds=0.01)
        defs = dg.Definitions(
            assets=[*ALL_ASSETS, alert_notifications],
            jobs=[job],
            resources={**resources(tmp_path), "notifier": notifier},
        )

        def run() -> dg.ExecuteInProcessResult:
            return defs.resolve_job_def("slo_pipeline").execute_in_process(
                instance=instance,
                tags={
                    "dagster/asset_partition_range_start": "2026-10-31",
                    "dagster/asset_partition_range_end": "2026-11-01",
                },
                run_config={
                    "ops": {
                        "alert_notifications": {
                            "config": {
                                "max_age_hours": 24 * 3650,
                                "runbook_url": "https://runbooks.example/{slo}",
                            }
                        }
                    }
                },
                raise_on_error=False,
            )

        assert run().success
        bodies = [json.loads(s.body) for s in server.seen]
        mine = [b for b in bodies if b["dedup_key"] == KEY]
        assert [b["event_action"] for b in mine] == ["trigger", "resolve"]
        details = mine[0]["payload"]["custom_details"]
        assert details["burn_rates"]["1h"] > 14.4 and details["remaining_budget_ratio"] < 1
        assert details["top_burning_hour"]["start"].startswith("2026-11-01T1")
        assert mine[0]["links"][0]["href"] == "https://runbooks.example/payments-availability"
        log = defs.resources["warehouse"].read_deliveries("pagerduty")
        assert {(r["dedup_key"], r["action"], r["outcome"]) for r in log} >= {
            (KEY, "trigger", "delivered"),
            (KEY, "resolve", "delivered"),
        }

        sent = len(server.seen)
        assert run().success
        assert len(server.seen) == sent, "a re-run owes nothing: the delivery log remembers"


def test_a_provider_that_is_down_fails_the_run_and_is_retried_later(tmp_path: Path) -> None:
    samples = fleet_samples(D0, D0 + DAY)
    outage = (samples["slo"] == "payments-availability") & samples["start"].between(D0 + 3600, D0 + 2 * 3600)
    samples.loc[outage, "good"] = 0.0
    drop(tmp_path, "history.parquet", samples)
    home = tmp_path / "home"
    home.mkdir()
    with local_server() as server, dg.instance_for_test(temp_dir=str(home)) as instance:
        server.route("POST", "/v2/enqueue", Reply(503, "unavailable"))
        job = dg.define_asset_job(
            "slo_pipeline",
            selection=dg.AssetSelection.assets(*ALL_ASSETS, alert_notifications),
            partitions_def=daily_partitions,
        )
        notifier = PagerDutyNotifier(
            base_url=server.url, routing_key="R" * 32, backoff_seconds=0.01, attempts=2
        )
        defs = dg.Definitions(
            assets=[*ALL_ASSETS, alert_notifications],
            jobs=[job],
            resources={**resources(tmp_path), "notifier": notifier},
        )
        config = {"ops": {"alert_notifications": {"config": {"max_age_hours": 24 * 3650}}}}
        tags = {
            "dagster/asset_partition_range_start": "2026-11-01",
            "dagster/asset_partition_range_end": "2026-11-01",
        }
        first = defs.resolve_job_def("slo_pipeline").execute_in_process(
            instance=instance, tags=tags, run_config=config, raise_on_error=False
        )
        assert not first.success
        log = defs.resources["warehouse"].read_deliveries("pagerduty")
        assert log and all(r["outcome"] in ("failed", "suppressed") for r in log)
        assert any("503" in r["reason"] for r in log if r["outcome"] == "failed")
        server.route("POST", "/v2/enqueue", PD_OK)
        second = defs.resolve_job_def("slo_pipeline").execute_in_process(
            instance=instance, tags=tags, run_config=config, raise_on_error=False
        )
        assert second.success
        delivered = [
            r for r in defs.resources["warehouse"].read_deliveries("pagerduty") if r["outcome"] == "delivered"
        ]
        assert any(r["dedup_key"] == KEY and r["action"] == "trigger" for r in delivered)
