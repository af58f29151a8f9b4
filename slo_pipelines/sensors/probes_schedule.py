"""`synthetic_probes`: every 5 minutes (UTC), run the probes due at that tick.

The tick goes into a run tag so the asset picks the due probes from the scheduled time, not from
whenever the run happened to start; a queued run therefore measures the probes it was meant to.
"""

import dagster as dg

from slo_pipelines.assets.probes import PROBE_TICK_TAG, probe_results
from slo_pipelines.catalog.probes import PROBE_TICK_SECONDS
from slo_pipelines.engine.common.timeutil import format_instant

PROBE_CRON = f"*/{PROBE_TICK_SECONDS // 60} * * * *"


@dg.schedule(
    name="synthetic_probes",
    cron_schedule=PROBE_CRON,
    execution_timezone="UTC",
    target=[probe_results],
    description="Runs the synthetic probe transactions due at each 5-minute tick.",
)
def synthetic_probes(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    tick = format_instant(context.scheduled_execution_time.timestamp())
    return dg.RunRequest(run_key=f"probes:{tick}", tags={PROBE_TICK_TAG: tick})
