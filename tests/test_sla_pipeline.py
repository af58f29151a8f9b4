"""Contract-period partitions, the `sla_periods` / `compliance_reports` assets, and the schedules that
produce each closed period's statements in the contract's zone."""

import json
import warnings
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from slo_pipelines.assets.sla import compliance_reports, contract_months, sla_periods
from slo_pipelines.cli import main
from slo_pipelines.definitions import defs, sla_reports_job
from slo_pipelines.engine.sli.samples import validate_samples
from slo_pipelines.resources.catalog_resource import CatalogResource
from slo_pipelines.resources.report_store import ReportStoreResource
from slo_pipelines.resources.sample_files import read_samples
from slo_pipelines.resources.warehouse import WarehouseResource
from slo_pipelines.sensors.sla_schedules import build_sla_schedules
from tests.test_sla_cli import CATALOG, _samples

warnings.filterwarnings("ignore", category=dg.BetaWarning)


@pytest.mark.parametrize(
    ("zone", "tick", "month", "closes"),
    [
        ("America/New_York", datetime(2026, 11, 1, 0, 30), "2026-10", ["2026-10"]),
        ("Europe/Berlin", datetime(2027, 1, 1, 0, 30), "2026-12", ["2026-12", "2026-Q4"]),
        ("UTC", datetime(2026, 4, 1, 0, 30), "2026-03", ["2026-03", "2026-Q1"]),
    ],
)
def test_schedules_request_the_month_just_closed_in_their_zone(
    zone: str, tick: datetime, month: str, closes: list[str]
) -> None:
    from slo_pipelines.engine.sla.periods import parse_period
    from slo_pipelines.engine.sla.report_model import closing_labels

    schedules = {s.execution_timezone: s for s in build_sla_schedules(sla_reports_job, ["UTC", zone, zone])}
    assert sorted(schedules) == sorted({"UTC", zone})
    schedule = schedules[zone]
    assert schedule.cron_schedule == "30 0 1 * *"
    at = tick.replace(tzinfo=ZoneInfo(zone))
    repository = dg.Definitions(
        assets=[sla_periods, compliance_reports],
        jobs=[sla_reports_job],
        schedules=[schedule],
        resources=defs.resources,
    ).get_repository_def()
    context = dg.build_schedule_context(scheduled_execution_time=at, repository_def=repository)
    (request,) = schedule.evaluate_tick(context).run_requests or []
    assert request.partition_key == month
    assert request.run_key == f"sla:{zone}:{month}"
    # the partition exists when the tick fires, even where the zone is ahead of UTC
    assert month in contract_months.get_partition_keys(current_time=at)
    assert [str(label) for label in closing_labels(parse_period(month))] == closes


def test_definitions_hold_the_sla_job_schedule_and_lineage() -> None:
    job = defs.resolve_job_def("sla_reports")
    assert job.partitions_def == contract_months
    assert any(s.name == "sla_statements_utc" and s.execution_timezone == "UTC" for s in defs.schedules or [])
    graph = defs.resolve_asset_graph()
    parents = graph.get(dg.AssetKey("sla_periods")).parent_keys
    assert {dg.AssetKey("error_budgets"), dg.AssetKey("incident_impact")} <= parents
    assert dg.AssetKey("sla_periods") in graph.get(dg.AssetKey("compliance_reports")).parent_keys


def _resources(tmp_path: Path) -> dict[str, object]:
    samples, _ = _samples(tmp_path)
    warehouse = WarehouseResource(url=f"sqlite:///{tmp_path / 'warehouse.db'}")
    warehouse.ensure_schema()
    checked = validate_samples(
        read_samples(samples), known_slos={"compute-availability": 60, "storage-availability": 60}
    )
    warehouse.upsert_buckets(checked.clean, "test")
    return {
        "catalog": CatalogResource(path=str(CATALOG)),
        "warehouse": warehouse,
        "reports": ReportStoreResource(base_dir=str(tmp_path / "reports")),
    }


def test_a_month_partition_writes_statements_that_match_sla_evaluate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    resources = _resources(tmp_path)
    result = dg.materialize([sla_periods, compliance_reports], partition_key="2026-10", resources=resources)
    assert result.success
    folder = tmp_path / "reports" / "sla-2026-10"
    assert {p.name for p in folder.iterdir()} >= {
        "index.html",
        "report.json",
        "acme-compute.html",
        "globex-storage.csv",
    }
    materialization = result.asset_materializations_for_node("sla_periods")[0]
    assert materialization.metadata["contracts"] == dg.IntMetadataValue(2)
    assert (
        main(
            [
                "sla",
                "evaluate",
                "--catalog",
                str(CATALOG),
                "--samples",
                str(tmp_path / "samples.csv"),
                "--period",
                "2026-10",
            ]
        )
        == 0
    )
    evaluated = {c["name"]: c for c in json.loads(capsys.readouterr().out)["contracts"]}
    for name in ("acme-compute", "globex-storage"):
        statement = json.loads((folder / f"{name}.json").read_text())
        for key in (
            "minutes_total",
            "minutes_excluded",
            "minutes_down",
            "attainment_percent",
            "credit_amount",
            "exclusions",
        ):
            assert statement[key] == evaluated[name][key], (name, key)


def test_the_last_month_of_a_quarter_closes_the_quarter(tmp_path: Path) -> None:
    resources = _resources(tmp_path)
    result = dg.materialize([sla_periods, compliance_reports], partition_key="2026-09", resources=resources)
    assert result.success
    quarter = json.loads((tmp_path / "reports" / "sla-2026-Q3" / "report.json").read_text())
    assert [c["name"] for c in quarter["contracts"]] == ["initech-quarterly"]
    assert quarter["contracts"][0]["minutes_down"] == 15
    assert quarter["contracts"][0]["period"]["start"] == "2026-06-30T22:00:00Z"
    month = json.loads((tmp_path / "reports" / "sla-2026-09" / "report.json").read_text())
    assert sorted(c["name"] for c in month["contracts"]) == ["acme-compute", "globex-storage"]


def test_open_periods_are_not_reported(tmp_path: Path) -> None:
    resources = _resources(tmp_path)
    current = contract_months.get_partition_keys()[-1]  # this month: open in every zone
    result = dg.materialize([sla_periods, compliance_reports], partition_key=current, resources=resources)
    assert result.success
    assert result.output_for_node("sla_periods") == {}
    assert not (tmp_path / "reports").exists() or not list((tmp_path / "reports").iterdir())


@pytest.mark.parametrize(
    ("today", "partitions"),
    [
        (datetime(2026, 11, 30), ["2026-09", "2026-10"]),  # October, and Q3 closed by September
        (datetime(2026, 10, 2), ["2026-09"]),  # September closes Q3 itself
        (datetime(2027, 1, 1), ["2026-12"]),
    ],
)
def test_the_demo_reports_the_last_closed_month_and_quarter(today: datetime, partitions: list[str]) -> None:
    from slo_pipelines.demo.sla import closed_period_partitions

    assert closed_period_partitions(today.replace(tzinfo=ZoneInfo("UTC"))) == partitions
