"""The scale-out path: a partitioned backfill with the multiprocess executor on PostgreSQL (Dagster
storage from deploy/dagster.yaml, warehouse on PostgreSQL) leaves the same tables as one in-process run."""

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa

from slo_pipelines.resources import warehouse_schema as schema
from tests.pipeline_helpers import (
    D0,
    DAY,
    FLEET,
    definitions,
    drop,
    environment_pipeline_job,
    fleet_samples,
    run_range,
)
from tests.services import postgres_admin_url
from tests.test_rerun_idempotence import warehouse_tables

TEMPLATE = Path(__file__).resolve().parent.parent / "deploy" / "dagster.yaml"

pytestmark = pytest.mark.postgres


@pytest.fixture
def warehouse_pg_url(pg_url: str) -> Iterator[str]:
    """A second fresh database beside `pg_url` (Dagster's), as deploy/README.md advises."""
    admin = sa.create_engine(postgres_admin_url(), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    name = f"slo_wh_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_multiprocess_backfill_on_postgres_equals_a_single_process_run(
    tmp_path: Path, pg_url: str, warehouse_pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    drop(tmp_path, "history.parquet", fleet_samples(D0 - 2 * DAY, D0 + 2 * DAY))

    # the reference: one in-process run of the whole range, embedded default (SQLite)
    (tmp_path / "reference_home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "reference_home")) as instance:
        reference_defs = definitions(tmp_path)
        assert run_range(reference_defs, instance, "2026-10-30", "2026-11-02").success
    reference = warehouse_tables(reference_defs.resources["warehouse"].url)

    # the same backfill as two partition-range runs, steps in worker processes, on PostgreSQL
    url = sa.make_url(pg_url)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(TEMPLATE, home / "dagster.yaml")
    for name, value in {
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_HOST": url.host or "127.0.0.1",
        "DAGSTER_PG_PORT": str(url.port or 5432),
        "DAGSTER_PG_DB": url.database or "",
        "DAGSTER_PG_USERNAME": url.username or "postgres",
        "DAGSTER_PG_PASSWORD": url.password or "",
        "SLO_WAREHOUSE_URL": warehouse_pg_url,
        "SLO_CATALOG_DIR": str(FLEET),
        "SLO_DROP_DIR": str(tmp_path / "drop"),
        "SLO_REPORT_DIR": str(tmp_path / "pg_reports"),
    }.items():
        monkeypatch.setenv(name, value)
    job = dg.reconstructable(environment_pipeline_job)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for first, last in [("2026-10-30", "2026-10-31"), ("2026-11-01", "2026-11-02")]:
            with dg.execute_job(
                job,
                instance=instance,
                tags={
                    "dagster/asset_partition_range_start": first,
                    "dagster/asset_partition_range_end": last,
                },
                run_config={"execution": {"config": {"multiprocess": {"max_concurrent": 2}}}},
            ) as result:
                assert result.success
                pids = {e.pid for e in result.all_events if e.step_key and e.pid is not None}
                assert len(pids) > 1, "steps ran in separate worker processes"
    scaled = warehouse_tables(warehouse_pg_url)

    assert len(reference["budget_snapshots"]) and len(reference["alert_events"])
    for name, frame in reference.items():
        if name == "schema_version" or name in schema.APPEND_ONLY:
            continue  # logs of actions carry the time each was taken
        other = scaled[name]
        pd.testing.assert_frame_equal(
            other.astype(object).where(other.notna(), None),
            frame.astype(object).where(frame.notna(), None),
            obj=name,
            check_dtype=False,
        )
