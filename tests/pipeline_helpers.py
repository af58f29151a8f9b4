"""A real on-disk Dagster instance and pipeline resources pointed at temporary directories."""

from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd

from slo_pipelines.assets import ALL_ASSETS
from slo_pipelines.catalog import load_catalog
from slo_pipelines.definitions import slo_pipeline_job
from slo_pipelines.resources.archive import ArchiveResource
from slo_pipelines.resources.catalog_resource import CatalogResource
from slo_pipelines.resources.demo_history import generate
from slo_pipelines.resources.prometheus import PrometheusResource
from slo_pipelines.resources.report_store import ReportStoreResource
from slo_pipelines.resources.sample_files import write_samples
from slo_pipelines.resources.sample_source import SampleSourceResource
from slo_pipelines.resources.warehouse import WarehouseResource
from slo_pipelines.sensors.file_drop import build_file_drop_sensor

FLEET = Path(__file__).resolve().parent.parent / "examples" / "fleet"
DAY = 86400
D0 = 1_793_491_200  # 2026-11-01T00:00:00Z


def resources(
    tmp: Path,
    warehouse_url: str | None = None,
    catalog: Path = FLEET,
    prometheus: PrometheusResource | None = None,
) -> dict[str, object]:
    return {
        "prometheus": prometheus or PrometheusResource(),
        "catalog": CatalogResource(path=str(catalog)),
        "samples": SampleSourceResource(drop_dir=str(tmp / "drop")),
        "warehouse": WarehouseResource(url=warehouse_url or f"sqlite:///{tmp / 'warehouse.db'}"),
        "reports": ReportStoreResource(base_dir=str(tmp / "reports")),
        "archive": ArchiveResource(path=str(tmp / "archive")),
    }


def definitions(
    tmp: Path,
    warehouse_url: str | None = None,
    catalog: Path = FLEET,
    prometheus: PrometheusResource | None = None,
) -> dg.Definitions:
    return dg.Definitions(
        assets=ALL_ASSETS,
        jobs=[slo_pipeline_job],
        sensors=[build_file_drop_sensor(slo_pipeline_job.name)],
        resources=resources(tmp, warehouse_url, catalog, prometheus),
    )


def fleet_samples(start: int, end: int, slos: list[str] | None = None) -> pd.DataFrame:
    frame = generate(load_catalog(FLEET), start, end)
    if slos:
        frame = frame[frame["slo"].isin(slos)]
    return frame.reset_index(drop=True)


def drop(tmp: Path, name: str, frame: pd.DataFrame) -> Path:
    return write_samples(
        frame.drop(columns=["value"]) if frame["value"].isna().all() else frame, tmp / "drop" / name
    )


def run_range(
    defs: dg.Definitions, instance: dg.DagsterInstance, first: str, last: str
) -> dg.ExecuteInProcessResult:
    return defs.resolve_job_def("slo_pipeline").execute_in_process(
        instance=instance,
        tags={"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last},
        raise_on_error=False,
    )


def day_ends(first_day: int, days: int) -> np.ndarray:
    return np.arange(first_day + DAY, first_day + (days + 1) * DAY, DAY)


def environment_pipeline_job() -> dg.JobDefinition:
    """The shipped job, resolved from `slo_pipelines.definitions` as configured by the environment
    (`SLO_*` variables): what `reconstructable` hands to run and step worker processes."""
    from slo_pipelines.definitions import defs as shipped

    return shipped.resolve_job_def("slo_pipeline")
