"""The shipped deploy/dagster.yaml really puts a Dagster instance's runs and events in PostgreSQL."""

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

TEMPLATE = Path(__file__).resolve().parent.parent / "deploy" / "dagster.yaml"

pytestmark = pytest.mark.postgres


@dg.asset
def warehouse_probe() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"rows": 3, "sli": 0.999})


@pytest.fixture
def dagster_home(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A DAGSTER_HOME holding the template verbatim, its variables pointing at the per-test database."""
    url = sa.make_url(pg_url)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(TEMPLATE, home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("DAGSTER_PG_HOST", url.host or "127.0.0.1")
    monkeypatch.setenv("DAGSTER_PG_PORT", str(url.port or 5432))
    monkeypatch.setenv("DAGSTER_PG_DB", url.database or "")
    monkeypatch.setenv("DAGSTER_PG_USERNAME", url.username or "postgres")
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", url.password or "")
    yield home


def test_template_stores_runs_and_materializations_in_postgres(dagster_home: Path, pg_url: str) -> None:
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)

        result = dg.materialize([warehouse_probe], instance=instance)
        assert result.success
        run_id = result.run_id

    # A second instance from the same home (another process, in production) sees the same history.
    with dg.DagsterInstance.from_config(str(dagster_home)) as reopened:
        run = reopened.get_run_by_id(run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
        event = reopened.get_latest_materialization_event(dg.AssetKey("warehouse_probe"))
        assert event is not None and event.run_id == run_id
        materialization = event.asset_materialization
        assert materialization is not None
        assert materialization.metadata["rows"] == dg.IntMetadataValue(3)

    engine = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            status = conn.execute(
                sa.text("SELECT status FROM runs WHERE run_id = :run_id"), {"run_id": run_id}
            )
            assert status.scalar_one() == "SUCCESS"
            materializations = conn.execute(
                sa.text(
                    "SELECT count(*) FROM event_logs"
                    " WHERE run_id = :run_id AND dagster_event_type = :event_type"
                ),
                {"run_id": run_id, "event_type": "ASSET_MATERIALIZATION"},
            )
            assert materializations.scalar_one() == 1
            keys = conn.execute(sa.text("SELECT asset_key FROM asset_keys")).scalars().all()
            assert '["warehouse_probe"]' in keys
    finally:
        engine.dispose()


def test_template_refuses_to_start_without_its_connection_variables(
    dagster_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAGSTER_PG_HOST")
    with pytest.raises(dg.DagsterInvalidConfigError, match="DAGSTER_PG_HOST"):
        dg.DagsterInstance.from_config(str(dagster_home))


def test_demo_on_postgres_ends_with_its_summary(dagster_home: Path, pg_url: str, tmp_path: Path) -> None:
    """The README's PostgreSQL settings: deploy/dagster.yaml in DAGSTER_HOME and SLO_WAREHOUSE_URL set.
    The summary reads the warehouse resource outside the run, where its url is still an EnvVar."""
    root = Path(__file__).resolve().parent.parent
    work = tmp_path / "work"
    work.mkdir()
    (work / "examples").symlink_to(root / "examples")
    env = {**os.environ, "SLO_WAREHOUSE_URL": pg_url, "PYTHONPATH": str(root)}
    out = subprocess.run(
        [sys.executable, "-m", "slo_pipelines.cli", "demo", "--days", "2"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "succeeded" in out.stdout and "payments-availability" in out.stdout
    assert "not a database URL" not in out.stdout + out.stderr
    engine = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM buckets")).scalar_one() > 0
            assert conn.execute(sa.text("SELECT count(*) FROM runs")).scalar_one() >= 1
    finally:
        engine.dispose()


def test_resources_read_outside_a_run_resolve_env_vars(monkeypatch: pytest.MonkeyPatch, pg_url: str) -> None:
    from slo_pipelines.resources.prometheus import PrometheusResource
    from slo_pipelines.resources.warehouse import WarehouseResource

    monkeypatch.setenv("SLO_WAREHOUSE_URL", pg_url)
    monkeypatch.setenv("SLO_PROMETHEUS_URL", "http://127.0.0.1:9")
    warehouse = WarehouseResource(url=dg.EnvVar("SLO_WAREHOUSE_URL"))
    assert warehouse.database_url == pg_url
    assert warehouse.ensure_schema() >= 1 and warehouse.read_budget_snapshots().empty
    warehouse.dispose()
    assert PrometheusResource(url=dg.EnvVar("SLO_PROMETHEUS_URL")).settings().url == "http://127.0.0.1:9"


def test_incident_resources_read_outside_a_run_resolve_env_vars(monkeypatch: pytest.MonkeyPatch) -> None:
    from slo_pipelines.resources.incident_sources import IncidentPollingResource
    from slo_pipelines.resources.webhook_inbox import WebhookInboxResource

    monkeypatch.setenv("SLO_PD_TOKEN", "token-1")
    monkeypatch.setenv("SLO_PD_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("SLO_WEBHOOK_SECRETS", "a, b")
    polling = IncidentPollingResource(
        pagerduty_api_token=dg.EnvVar("SLO_PD_TOKEN"), pagerduty_url=dg.EnvVar("SLO_PD_URL")
    )
    [source] = polling.sources()
    assert source.api_token == "token-1" and source.base_url == "http://127.0.0.1:9"
    assert WebhookInboxResource(secrets=dg.EnvVar("SLO_WEBHOOK_SECRETS")).secret_list() == ["a", "b"]
