"""Schedules that produce each closed contract period's statements shortly after it ends.

One schedule per time zone the catalog's contracts use, with `execution_timezone` set to that zone:
at 00:30 local on the first day of each month it requests the `sla_reports` run for the month that
just closed there (and, on the first day of a quarter, the quarter, which the month's partition
closes too). `run_key = sla:{zone}:{month}` so a tick retried after a failure never runs twice.
"""

from datetime import UTC, datetime
from typing import Any

import dagster as dg

from slo_pipelines.engine.sla.periods import label_containing

SCHEDULE_CRON = "30 0 1 * *"
ZONE_TAG = "slo-pipelines/contract-zone"


def schedule_name(time_zone: str) -> str:
    slug = "".join(ch if ch.isalnum() else "_" for ch in time_zone.lower()).strip("_")
    return f"sla_statements_{slug}"


def build_sla_schedule(job: Any, time_zone: str) -> dg.ScheduleDefinition:
    @dg.schedule(
        name=schedule_name(time_zone),
        job=job,
        cron_schedule=SCHEDULE_CRON,
        execution_timezone=time_zone,
        description=f"Statements of the contract periods that end at midnight in {time_zone}.",
    )
    def _schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        at = context.scheduled_execution_time or datetime.now(UTC)
        month = label_containing(int(at.timestamp()), time_zone, 1).previous()
        return dg.RunRequest(
            run_key=f"sla:{time_zone}:{month}",
            partition_key=str(month),
            tags={ZONE_TAG: time_zone},
        )

    return _schedule


def build_sla_schedules(job: Any, time_zones: list[str]) -> list[dg.ScheduleDefinition]:
    """A schedule per distinct zone (UTC when the catalog has no contract, so the job still runs)."""
    return [build_sla_schedule(job, z) for z in sorted(set(time_zones) or {"UTC"})]
