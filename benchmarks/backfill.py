"""Backfill benchmark: the whole Dagster job over N SLOs × D days, with seconds per asset and peak memory.

Run from the repository root:

    .venv/bin/python -m benchmarks.backfill --slos 100 --days 365          # embedded default (SQLite)
    .venv/bin/python -m benchmarks.backfill --slos 100 --days 30 \\
        --postgres postgresql+psycopg2://postgres@127.0.0.1:5432/postgres --processes 1 2 4

The fleet is `benchmarks/synthetic.py`'s (rolling-30d Occurrences SLOs, minute buckets), written as one
Parquet file per week into a drop directory, with an OpenSLO catalog describing it. The embedded run is
one in-process run of the whole range (the demo's setup); `--postgres` creates two throw-away databases
(Dagster storage from deploy/dagster.yaml, warehouse) and runs the same range with the multiprocess
executor once per `--processes` value. Prints a table and writes JSON (`--output`).
"""

import argparse
import concurrent.futures
import hashlib
import itertools
import json
import multiprocessing
import os
import resource
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.memory import PeakTracker
from benchmarks.synthetic import TARGET, WINDOW_DAYS, make_fleet

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "backfill.json"
DAY = 86400
# history is old by construction: the freshness and completeness gates would (rightly) stop it
AUDIT_CONFIG = {
    "ops": {"sli_quality_report": {"config": {"min_completeness": 0.0, "max_staleness_seconds": 10**10}}}
}


def write_inputs(root: Path, n_slos: int, days: int, seed: int) -> tuple[int, int]:
    """Catalog and weekly sample files under `root`; returns the range's first and last day starts."""
    fleet = make_fleet(n_slos, days, seed)
    catalog = root / "catalog"
    catalog.mkdir()
    services = sorted({name.rsplit("-", 1)[0] for name in fleet.names})
    docs = [
        f"apiVersion: openslo/v1\nkind: Service\nmetadata: {{name: {svc}}}\nspec: {{}}\n" for svc in services
    ]
    for name in fleet.names:
        docs.append(
            f"""apiVersion: openslo/v1
kind: SLO
metadata: {{name: {name}}}
spec:
  service: {name.rsplit("-", 1)[0]}
  indicator:
    metadata: {{name: {name}-sli}}
    spec:
      ratioMetric:
        counter: true
        good: {{metricSource: {{type: Prometheus, spec: {{query: 'good{{slo="{name}"}}'}}}}}}
        total: {{metricSource: {{type: Prometheus, spec: {{query: 'total{{slo="{name}"}}'}}}}}}
  timeWindow: [{{duration: {WINDOW_DAYS}d, isRolling: true}}]
  budgetingMethod: Occurrences
  objectives: [{{displayName: objective-0, target: {TARGET}}}]
"""
        )
    (catalog / "fleet.yaml").write_text("---\n".join(docs))
    frame = fleet.frame()
    frame["slo"] = frame["slo"].astype(str)
    drop = root / "drop"
    drop.mkdir()
    week = 7 * DAY
    first = int(frame["start"].min())
    for lo in range(first, first + days * DAY, week):
        part = frame[(frame["start"] >= lo) & (frame["start"] < lo + week)].drop(columns=["value"])
        part = part.rename(columns={"start": "timestamp"})  # the samples format: Unix seconds
        part.to_parquet(drop / f"week-{lo}.parquet", index=False)
    return first, first + (days - 1) * DAY


def step_seconds(events: list[Any]) -> dict[str, float]:
    """Wall seconds per step (asset) from the run's STEP_START / STEP_SUCCESS|FAILURE log entries."""
    started: dict[str, float] = {}
    out: dict[str, float] = {}
    for event in events:
        kind = event.dagster_event.event_type_value if event.dagster_event else None
        step = event.step_key
        if step and kind == "STEP_START":
            started[step] = event.timestamp
        elif step and kind in ("STEP_SUCCESS", "STEP_FAILURE") and step in started:
            out[step] = event.timestamp - started[step]
    return out


def stored_buckets(url: str) -> int:
    import sqlalchemy as sa

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        count = int(conn.execute(sa.text("SELECT count(*) FROM buckets")).scalar_one())
    engine.dispose()
    return count


def day_key(seconds: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(seconds))


SETTINGS = (
    "SLO_CATALOG_DIR",
    "SLO_DROP_DIR",
    "SLO_REPORT_DIR",
    "SLO_ARCHIVE_DIR",
    "SLO_WAREHOUSE_URL",
    "SLO_PARTITIONS_START",
)
"""What `configure` sets, handed to runs in other processes."""


def sa_name(url: str) -> str:
    """A directory name per warehouse: each run archives its own closed periods."""
    return hashlib.sha256(url.encode()).hexdigest()[:12]


def configure(root: Path, first: int, warehouse_url: str) -> None:
    os.environ.update(
        {
            "SLO_CATALOG_DIR": str(root / "catalog"),
            "SLO_DROP_DIR": str(root / "drop"),
            "SLO_REPORT_DIR": str(root / "reports"),
            "SLO_ARCHIVE_DIR": str(root / "archive" / sa_name(warehouse_url)),
            "SLO_WAREHOUSE_URL": warehouse_url,
            "SLO_PARTITIONS_START": day_key(first),
        }
    )


def step_peaks(tracker: PeakTracker, peaks: dict[str, float]) -> Any:
    """Instance event listener: each step's own peak RSS (the steps run in this process, one at a time)."""
    import dagster as dg

    def listen(entry: Any) -> None:
        event = entry.dagster_event
        if event is None or event.step_key is None:
            return
        if event.event_type == dg.DagsterEventType.STEP_START:
            tracker.start_phase()
        elif event.event_type in (
            dg.DagsterEventType.STEP_SUCCESS,
            dg.DagsterEventType.STEP_FAILURE,
        ):
            peaks[event.step_key] = tracker.phase_peak_mb()

    return listen


def run_embedded(root: Path, first: int, last: int) -> dict[str, Any]:
    import dagster as dg

    configure(root, first, f"sqlite:///{root / 'warehouse.db'}")
    from slo_pipelines.definitions import defs

    home = root / "dagster_home"
    home.mkdir()
    tracker, peaks = PeakTracker(), {}
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        run_id = str(uuid.uuid4())
        instance.add_event_listener(run_id, step_peaks(tracker, peaks))
        t0 = time.perf_counter()
        result = defs.resolve_job_def("slo_pipeline").execute_in_process(
            run_id=run_id,
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": day_key(first),
                "dagster/asset_partition_range_end": day_key(last),
            },
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}, **AUDIT_CONFIG},
        )
        seconds = time.perf_counter() - t0
        return {
            "mode": "embedded (SQLite, in-process)",
            "success": result.success,
            "buckets_stored": stored_buckets(f"sqlite:///{root / 'warehouse.db'}"),
            "seconds": seconds,
            "steps": step_seconds(instance.all_logs(result.run_id)),
            "step_peak_rss_mb": peaks,
            # the run's peak: writing the synthetic inputs beforehand is not part of it
            "peak_rss_mb": max(peaks.values(), default=float("nan")),
            "process_peak_rss_mb": tracker.process_peak_mb(),
        }


def run_embedded_multiprocess(root: Path, first: int, last: int, processes: int) -> dict[str, Any]:
    """The embedded default as `dagster dev` runs it: SQLite instance and warehouse, the job's default
    multiprocess executor, one process per step, up to `processes` steps at once."""
    configure(root, first, f"sqlite:///{root / f'warehouse-{processes}.db'}")
    home = root / f"dagster_home_{processes}"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {k: os.environ[k] for k in SETTINGS}
    t0 = time.perf_counter()
    success, steps = _execute(str(home), env, first, last, None, processes)
    return {
        "mode": f"embedded (SQLite), multiprocess executor, max_concurrent {processes}",
        "success": success,
        "buckets_stored": stored_buckets(os.environ["SLO_WAREHOUSE_URL"]),
        "seconds": time.perf_counter() - t0,
        "steps": steps,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0,
    }


def _create_database(admin_url: str) -> str:
    import sqlalchemy as sa

    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    name = f"slo_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _drop_database(admin_url: str, url: str) -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{sa.make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def environment_job() -> Any:
    from slo_pipelines.definitions import defs

    return defs.resolve_job_def("slo_pipeline")


# Each day's ingestion, audit and cleaning depends on no other day, so disjoint ranges of these can run
# as concurrent runs; budgets, alerts and what follows read earlier days' state and run once after.
PER_DAY_ASSETS = ["sli_buckets", "sli_quality_report", "sli_clean"]


def _execute(
    home: str, env: dict[str, str], first: int, last: int, assets: list[str] | None, processes: int
) -> Any:
    """One Dagster run (multiprocess executor) of `assets` (None: the whole job) over `[first, last]`."""
    import dagster as dg

    os.environ.update(env)
    with (
        dg.DagsterInstance.from_config(home) as instance,
        dg.execute_job(
            dg.reconstructable(environment_job),
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": day_key(first),
                "dagster/asset_partition_range_end": day_key(last),
            },
            run_config={
                "execution": {"config": {"multiprocess": {"max_concurrent": processes}}},
                **AUDIT_CONFIG,
            },
            asset_selection=[dg.AssetKey(a) for a in assets] if assets is not None else None,
        ) as result,
    ):
        return result.success, step_seconds(instance.all_logs(result.run_id))


def run_postgres(root: Path, first: int, last: int, admin_url: str, processes: int) -> dict[str, Any]:
    """`processes` concurrent runs of the per-day assets over disjoint ranges, then one run of the rest
    with `max_concurrent = processes` (with 1: the whole job as a single run)."""
    import sqlalchemy as sa

    dagster_db, warehouse_db = _create_database(admin_url), _create_database(admin_url)
    try:
        url = sa.make_url(dagster_db)
        home = root / f"dagster_home_pg_{processes}"
        home.mkdir()
        shutil.copy(REPO / "deploy" / "dagster.yaml", home / "dagster.yaml")
        env = {
            "DAGSTER_PG_HOST": url.host or "127.0.0.1",
            "DAGSTER_PG_PORT": str(url.port or 5432),
            "DAGSTER_PG_DB": url.database or "",
            "DAGSTER_PG_USERNAME": url.username or "postgres",
            "DAGSTER_PG_PASSWORD": url.password or "",
        }
        configure(root, first, warehouse_db)
        env.update({k: os.environ[k] for k in SETTINGS})
        t0 = time.perf_counter()
        steps: dict[str, float] = {}
        if processes == 1:
            success, steps = _execute(str(home), env, first, last, None, 1)
        else:
            days = (last - first) // DAY + 1
            cuts = [first + DAY * (days * i // processes) for i in range(processes + 1)]
            ranges = [(lo, hi - DAY) for lo, hi in itertools.pairwise(cuts) if hi > lo]
            context = multiprocessing.get_context("spawn")
            with concurrent.futures.ProcessPoolExecutor(len(ranges), mp_context=context) as pool:
                futures = [
                    pool.submit(_execute, str(home), env, lo, hi, PER_DAY_ASSETS, 1) for lo, hi in ranges
                ]
                outcomes = [f.result() for f in futures]
            ingest_seconds = time.perf_counter() - t0
            for _, part in outcomes:  # concurrent runs: a step's wall time is its slowest range
                for step, seconds in part.items():
                    steps[step] = max(steps.get(step, 0.0), seconds)
            from slo_pipelines.assets import ALL_ASSETS

            rest = [
                a.key.to_user_string() for a in ALL_ASSETS if a.key.to_user_string() not in PER_DAY_ASSETS
            ]
            success, later = _execute(str(home), env, first, last, rest, processes)
            steps.update(later)
            steps["(per-day assets, concurrent runs)"] = ingest_seconds
            success = success and all(ok for ok, _ in outcomes)
        seconds = time.perf_counter() - t0
        return {
            "buckets_stored": stored_buckets(warehouse_db),
            "mode": f"PostgreSQL, {processes} process(es)",
            "success": success,
            "seconds": seconds,
            "steps": steps,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0,
        }
    finally:
        _drop_database(admin_url, dagster_db)
        _drop_database(admin_url, warehouse_db)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.backfill", description=__doc__.splitlines()[0])
    p.add_argument("--slos", type=int, default=100)
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--seed", type=int, default=20250101)
    p.add_argument("--postgres", metavar="ADMIN_URL", help="also run on PostgreSQL (creates databases)")
    p.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    p.add_argument("--skip-embedded", action="store_true")
    p.add_argument(
        "--embedded-processes",
        type=int,
        nargs="*",
        default=[],
        help="also run the embedded default with the multiprocess executor at these max_concurrent",
    )
    p.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = p.parse_args(argv)
    sys.path.insert(0, str(REPO))
    root = Path(tempfile.mkdtemp(prefix="slo-backfill-bench-"))
    try:
        t0 = time.perf_counter()
        first, last = write_inputs(root, args.slos, args.days, args.seed)
        rows = args.slos * args.days * 1440
        print(
            f"inputs: {args.slos} SLOs x {args.days} days = {rows:,} buckets"
            f" in {time.perf_counter() - t0:.1f} s"
        )
        runs = [] if args.skip_embedded else [run_embedded(root, first, last)]
        runs += [run_embedded_multiprocess(root, first, last, n) for n in args.embedded_processes]
        for n in args.processes if args.postgres else []:
            runs.append(run_postgres(root, first, last, args.postgres, n))
        for run in runs:
            print(
                f"\n{run['mode']}: {'ok' if run['success'] else 'FAILED'} in {run['seconds']:.1f} s "
                f"({rows / run['seconds']:,.0f} buckets/s), peak RSS {run['peak_rss_mb']:,.0f} MB, "
                f"{run['buckets_stored']:,} buckets stored"
            )
            peaks = run.get("step_peak_rss_mb", {})
            for step, seconds in sorted(run["steps"].items(), key=lambda kv: -kv[1]):
                peak = f"  peak {peaks[step]:,.0f} MB" if step in peaks else ""
                print(f"  {step:32s} {seconds:8.1f} s{peak}")
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(
            json.dumps(
                {"slos": args.slos, "days": args.days, "buckets": rows, "runs": runs},
                indent=2,
                default=lambda v: float(v) if isinstance(v, np.floating) else str(v),
            )
        )
        return 0 if all(r["success"] and r["buckets_stored"] == rows for r in runs) else 1
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
