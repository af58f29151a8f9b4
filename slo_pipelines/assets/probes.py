"""`probe_results`: run the synthetic probe transactions and store their outcomes as SLI buckets.

Not partitioned: each run measures "now". Runs started by the `synthetic_probes` schedule carry the
tick in a tag and run only the probes due at that tick; a manual materialization runs every probe.
"""

import dagster as dg

from slo_pipelines.assets.groups import PIPELINE_GROUP
from slo_pipelines.catalog import CatalogError
from slo_pipelines.engine.common.timeutil import TimeParseError, parse_instant
from slo_pipelines.engine.sli.probe_results import probe_buckets
from slo_pipelines.reports.markdown import markdown_table
from slo_pipelines.resources.probes import ProbeConfigError, ProbeRunnerResource
from slo_pipelines.resources.warehouse import WarehouseResource

PROBE_TICK_TAG = "slo-pipelines/probe-tick"


def _results_md(rows: list[dict[str, object]]) -> str:
    shown = [
        {
            "probe": row["probe"],
            "slo": row["slo"],
            "passed": "yes" if row["passed"] else "NO",
            "latency ms": row["latency_ms"],
            "failing step": row["failing_step"] or "",
            "reason": row["reason"] or "",
        }
        for row in rows
    ]
    return markdown_table(shown)


@dg.asset(group_name=PIPELINE_GROUP, tags={"domain": "probes"}, kinds={"python"})
def probe_results(
    context: dg.AssetExecutionContext, probe_runner: ProbeRunnerResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """One good/total event per synthetic transaction, in the minute bucket of its run time."""
    try:
        probes = probe_runner.load()
    except CatalogError as exc:
        raise dg.Failure(description=f"invalid probe files:\n{exc}") from None
    tick_text = context.run.tags.get(PROBE_TICK_TAG)
    if tick_text is not None:
        try:
            tick = parse_instant(tick_text)
        except TimeParseError as exc:
            raise dg.Failure(description=f"tag {PROBE_TICK_TAG}: {exc}") from None
        probes = [p for p in probes if p.is_due(tick)]
    try:
        outcomes = [probe_runner.run(probe) for probe in probes]
    except ProbeConfigError as exc:
        raise dg.Failure(description=str(exc)) from None
    for outcome in outcomes:
        if not outcome.passed:
            summary = outcome.summary()
            context.log.warning(
                f"probe {outcome.probe} failed at {summary['failing_step']}: {summary['reason']}"
            )
    buckets = probe_buckets(outcomes)
    written = warehouse.upsert_buckets(buckets, source="probes") if not buckets.empty else 0
    rows = [{"probe": o.probe, **o.summary()} for o in outcomes]
    return dg.MaterializeResult(
        metadata={
            "probes_run": len(outcomes),
            "probes_passed": sum(o.passed for o in outcomes),
            "buckets_written": written,
            "results": dg.MetadataValue.md(_results_md(rows) if rows else "no probe was due"),
            **{f"probe/{row['probe']}": dg.MetadataValue.json(row) for row in rows},
        }
    )
