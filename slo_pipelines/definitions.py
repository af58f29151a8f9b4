"""The one `Definitions` object: assets, checks, jobs, schedule, sensor and resources.

Resource settings come from the environment; the warehouse URL goes through `EnvVar` because a
PostgreSQL URL carries a password. Unset variables fall back to the embedded defaults (SQLite under
`.slo/`), which is what `make demo` and `make dev` use.
"""

import os

import dagster as dg

from slo_pipelines.assets import ALL_ASSETS, RECOMPUTE_ASSETS
from slo_pipelines.assets.notifications import alert_notifications
from slo_pipelines.assets.partitions import daily_partitions
from slo_pipelines.assets.probes import probe_results
from slo_pipelines.assets.sla import compliance_reports, contract_months, sla_periods
from slo_pipelines.resources.archive import ArchiveResource
from slo_pipelines.resources.catalog_resource import CatalogResource
from slo_pipelines.resources.incident_sources import IncidentPollingResource
from slo_pipelines.resources.notifiers import Notifier, OpsgenieNotifier, PagerDutyNotifier
from slo_pipelines.resources.probes import ProbeRunnerResource
from slo_pipelines.resources.prometheus import PrometheusResource
from slo_pipelines.resources.report_store import ReportStoreResource
from slo_pipelines.resources.sample_source import SampleSourceResource
from slo_pipelines.resources.warehouse import DEFAULT_WAREHOUSE_URL, WarehouseResource
from slo_pipelines.sensors.file_drop import build_file_drop_sensor
from slo_pipelines.sensors.incidents import build_exclusions_sensor, build_incident_sensor
from slo_pipelines.sensors.probes_schedule import synthetic_probes
from slo_pipelines.sensors.sla_schedules import build_sla_schedules


def _env_or(name: str, default: str) -> str | dg.EnvVar:
    return dg.EnvVar(name) if os.environ.get(name) else default


def _notifier() -> Notifier | None:
    """PagerDuty or Opsgenie when `SLO_NOTIFIER` names one; keys only through `EnvVar`."""
    kind = os.environ.get("SLO_NOTIFIER", "")
    if kind == "pagerduty":
        return PagerDutyNotifier(
            base_url=os.environ.get("SLO_PAGERDUTY_URL", "https://events.pagerduty.com"),
            routing_key=dg.EnvVar("SLO_PAGERDUTY_ROUTING_KEY"),
        )
    if kind == "opsgenie":
        return OpsgenieNotifier(
            base_url=os.environ.get("SLO_OPSGENIE_URL", "https://api.opsgenie.com"),
            api_key=dg.EnvVar("SLO_OPSGENIE_API_KEY"),
        )
    return None


NOTIFIER = _notifier()
PIPELINE_ASSETS = [*ALL_ASSETS, alert_notifications] if NOTIFIER is not None else ALL_ASSETS

slo_pipeline_job = dg.define_asset_job(
    "slo_pipeline",
    selection=dg.AssetSelection.assets(*PIPELINE_ASSETS),
    partitions_def=daily_partitions,
    description="Ingest, audit, clean, budget, alert and report: the main job.",
)

recompute_job = dg.define_asset_job(
    "slo_recompute",
    selection=dg.AssetSelection.assets(*RECOMPUTE_ASSETS),
    partitions_def=daily_partitions,
    description="Budgets, alerts, impact and the report for the days an incident or exclusion changed.",
)

sla_reports_job = dg.define_asset_job(
    "sla_reports",
    selection=dg.AssetSelection.assets(sla_periods, compliance_reports),
    partitions_def=contract_months,
    description="Contract-period statements and compliance reports for the periods a month closes.",
)


def _contract_zones(path: str) -> list[str]:
    """Zones of the catalog's contracts; a catalog that does not load yet gets the UTC schedule only
    (the runs then report its errors instead of the code location failing to load)."""
    from slo_pipelines.catalog import CatalogError, load_catalog
    from slo_pipelines.catalog.sla_contract import catalog_sla_contracts

    try:
        return [c.time_zone for c in catalog_sla_contracts(load_catalog(path).documents)]
    except (CatalogError, OSError):
        return []


CATALOG_DIR = os.environ.get("SLO_CATALOG_DIR", "examples/fleet")

daily_schedule = dg.build_schedule_from_partitioned_job(
    slo_pipeline_job, hour_of_day=0, minute_of_hour=15, name="slo_pipeline_daily"
)

defs = dg.Definitions(
    # probes and contract periods are not daily-partitioned: outside the main job
    assets=[*PIPELINE_ASSETS, probe_results, sla_periods, compliance_reports],
    jobs=[slo_pipeline_job, recompute_job, sla_reports_job],
    schedules=[
        daily_schedule,
        synthetic_probes,
        *build_sla_schedules(sla_reports_job, _contract_zones(CATALOG_DIR)),
    ],
    sensors=[
        build_file_drop_sensor(slo_pipeline_job.name),
        build_incident_sensor(recompute_job.name),
        build_exclusions_sensor(recompute_job.name),
    ],
    resources={
        "catalog": CatalogResource(path=CATALOG_DIR),
        "samples": SampleSourceResource(
            drop_dir=os.environ.get("SLO_DROP_DIR", ".slo/drop"),
            demo_fleet=os.environ.get("SLO_DEMO_FLEET", "") == "1",
        ),
        "warehouse": WarehouseResource(url=_env_or("SLO_WAREHOUSE_URL", DEFAULT_WAREHOUSE_URL)),
        "reports": ReportStoreResource(base_dir=os.environ.get("SLO_REPORT_DIR", "out/reports")),
        "archive": ArchiveResource(path=os.environ.get("SLO_ARCHIVE_DIR", "out/archive")),
        "prometheus": PrometheusResource(
            url=_env_or("SLO_PROMETHEUS_URL", ""), ingest=os.environ.get("SLO_PROMETHEUS_INGEST", "") == "1"
        ),
        **({"notifier": NOTIFIER} if NOTIFIER is not None else {}),
        "incident_sources": IncidentPollingResource(
            pagerduty_url=os.environ.get("SLO_PAGERDUTY_API_URL", "https://api.pagerduty.com"),
            pagerduty_api_token=_env_or("SLO_PAGERDUTY_API_TOKEN", ""),
            opsgenie_url=os.environ.get("SLO_OPSGENIE_URL", "https://api.opsgenie.com"),
            opsgenie_api_key=_env_or("SLO_OPSGENIE_API_KEY", ""),
        ),
        "probe_runner": ProbeRunnerResource(
            base_url=_env_or("SLO_PROBE_BASE_URL", ""),
            probes_dir=os.environ.get("SLO_PROBES_DIR", "examples/probes"),
        ),
    },
)
