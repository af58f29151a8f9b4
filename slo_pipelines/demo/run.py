"""`slo demo`: the main job on the embedded default, end to end, on a persistent local instance.

It backfills `days` of generated history as one Dagster run (single-run backfill policy) into a
SQLite-backed instance under `DAGSTER_HOME`, so `make dev` shows the same runs afterwards.
"""

import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

DAGSTER_YAML = """# Local instance for the demo and `make dev`: SQLite storage under this directory.
telemetry:
  enabled: false

# Runs are launched as worker processes whose health the daemon (`make dev` runs one) can check, so a
# run whose worker was killed is marked FAILURE within about a minute instead of staying STARTED.
run_launcher:
  module: slo_pipelines.resources.run_launcher
  class: LocalProcessRunLauncher

run_monitoring:
  enabled: true
  poll_interval_seconds: 30
  start_timeout_seconds: 120
  cancel_timeout_seconds: 120
  # a half-done backfill is re-run (idempotently) rather than resumed in place
  max_resume_run_attempts: 0
"""


def _prepare_environment(out_dir: Path, catalog_dir: Path, first_day: str) -> Path:
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(Path(".dagster_home").resolve())))
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists() or "run_monitoring" not in config.read_text():
        config.write_text(DAGSTER_YAML)
    os.environ["SLO_DEMO_FLEET"] = "1"
    os.environ["SLO_CATALOG_DIR"] = str(catalog_dir)
    os.environ["SLO_REPORT_DIR"] = str(out_dir / "reports")
    os.environ["SLO_ARCHIVE_DIR"] = str(out_dir / "archive")
    Path(".slo").mkdir(exist_ok=True)
    # partitions start where the generated history starts (read when the definitions are imported;
    # `make dev` reads the same day from this file)
    os.environ["SLO_PARTITIONS_START"] = first_day
    Path(".slo/partitions_start").write_text(first_day + "\n")
    return home


def run_demo(days: int, out_dir: Path, catalog_dir: Path) -> int:
    from slo_pipelines.catalog import load_catalog

    if days < 1:
        raise ValueError(f"--days must be >= 1 (got {days})")
    load_catalog(catalog_dir)  # fail fast, with every catalog error, before starting Dagster
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    first = (today - timedelta(days=days)).strftime("%Y-%m-%d")
    home = _prepare_environment(out_dir, catalog_dir, first)

    import warnings

    import dagster as dg

    warnings.filterwarnings("ignore", category=dg.BetaWarning)

    from slo_pipelines.definitions import defs
    from slo_pipelines.demo.progress import progress_listener
    from slo_pipelines.demo.sla import run_contract_periods
    from slo_pipelines.demo.summary import print_summary
    from slo_pipelines.resources.run_launcher import worker_tags

    last = (today - timedelta(days=1)).strftime("%Y-%m-%d")
    print(f"slo demo: backfilling {days} days ({first} .. {last}) of minute-level history for the fleet in")
    print(f"  {catalog_dir} as one Dagster run on the instance in {home} ...", flush=True)
    started = time.monotonic()
    instance = dg.DagsterInstance.get()
    job = defs.resolve_job_def("slo_pipeline")
    run_id = str(uuid.uuid4())  # known before the run starts, so the listener can follow it
    instance.add_event_listener(run_id, progress_listener(sys.stdout))
    result = job.execute_in_process(
        instance=instance,
        run_id=run_id,
        tags={
            "dagster/asset_partition_range_start": first,
            "dagster/asset_partition_range_end": last,
            **worker_tags(),  # this process is the run's worker: run monitoring checks it is alive
        },
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
    )
    elapsed = time.monotonic() - started
    status = "succeeded" if result.success else "FAILED"
    print(f"run {result.run_id} {status} in {elapsed:.1f} s")
    if not result.success:
        for event in result.all_events:
            if event.is_failure:
                print(f"  {event.step_key}: {event.message}")
        return 1
    if not run_contract_periods(defs, instance, today):
        return 1
    return print_summary(defs, load_catalog(catalog_dir), out_dir)
