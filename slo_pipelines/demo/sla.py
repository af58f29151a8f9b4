"""The demo's contract-period runs: statements for the last closed month and the last closed quarter."""

from datetime import datetime
from pathlib import Path

import dagster as dg

from slo_pipelines.engine.sla.periods import label_containing


def closed_period_partitions(today: datetime) -> list[str]:
    """Month partitions to run: the last closed month and the last month of the last closed quarter
    (which closes that quarter), oldest first. `today` is an aware instant."""
    month = label_containing(int(today.timestamp()), "UTC", 1).previous()
    quarter_end = month
    while quarter_end.first_month % 3:
        quarter_end = quarter_end.previous()
    return sorted({str(quarter_end), str(month)})


def run_contract_periods(defs: dg.Definitions, instance: dg.DagsterInstance, today: datetime) -> bool:
    """One `sla_reports` run per partition; prints each run's outcome; True when all succeeded."""
    job = defs.resolve_job_def("sla_reports")
    assert job.partitions_def is not None
    known = set(job.partitions_def.get_partition_keys())
    keys = [k for k in closed_period_partitions(today) if k in known]
    if not keys:
        print("contract periods: the history starts after the last closed month; no statement yet")
    ok = True
    for key in keys:
        result = job.execute_in_process(
            instance=instance,
            partition_key=key,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        )
        periods = "none"
        for materialization in result.asset_materializations_for_node("sla_periods"):
            periods = str(materialization.metadata["periods"].value)
        print(f"contract periods closed by {key}: {periods} ({'succeeded' if result.success else 'FAILED'})")
        ok = ok and result.success
    return ok


def print_statements(out_dir: Path) -> None:
    for index in sorted((out_dir / "reports").glob("sla-*/index.html")):
        print(f"SLA statements {index.parent.name.removeprefix('sla-')}: {index.resolve()}")
