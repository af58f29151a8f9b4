"""`sli_buckets`: stage raw SLI rows for a day range, audit them with GX, store or quarantine each row.

The audit's expectations are blocking checks declared on the asset itself, so the same in-memory frame
is audited once and a failure stops `sli_clean` and everything after it for this run.
"""

from collections.abc import Iterator

import dagster as dg
import pandas as pd

from slo_pipelines.assets.groups import PIPELINE_GROUP
from slo_pipelines.assets.partitions import daily_asset, partition_bounds, windows
from slo_pipelines.engine.sli.samples import staged_buckets
from slo_pipelines.ingest.prometheus import ingest_with_resource
from slo_pipelines.quality import BUCKET_RULES, ExpectationOutcome
from slo_pipelines.quality.collection import CollectionFinding
from slo_pipelines.quality.report import audit_rows_for_warehouse
from slo_pipelines.quality.series_consistency import RULE_NAMES, audit_series_days
from slo_pipelines.quality.triage import (
    KNOWN_SLO_CHECK,
    KNOWN_SLO_DESCRIPTION,
    SAMPLE_RULES_CHECK,
    SAMPLE_RULES_DESCRIPTION,
    triage_rows,
)
from slo_pipelines.reports.markdown import markdown_frame, markdown_table
from slo_pipelines.resources.catalog_resource import CatalogResource
from slo_pipelines.resources.prometheus import PrometheusResource
from slo_pipelines.resources.sample_source import SampleSourceResource
from slo_pipelines.resources.warehouse import WarehouseResource

DAY = 86400
READABLE_CHECK = "sample_files_readable"


def _examples_md(examples: list[dict[str, object]]) -> str:
    return markdown_table(examples)


@daily_asset(
    group_name=PIPELINE_GROUP,
    tags={"domain": "sli"},
    kinds={"pandas", "great_expectations"},
    check_specs=[
        # verdicts show here; the gate is `sli_quality_report.rows_valid`, so its report can list them
        dg.AssetCheckSpec(name, asset="sli_buckets", description=description)
        for name, description in [
            *((rule.name, rule.description) for rule in BUCKET_RULES),
            (READABLE_CHECK, "every sample file, and every row's timestamp, can be read"),
            (SAMPLE_RULES_CHECK, SAMPLE_RULES_DESCRIPTION),
            (KNOWN_SLO_CHECK, KNOWN_SLO_DESCRIPTION),
            *((name, f"Prometheus series consistency: {name.replace('_', ' ')}") for name in RULE_NAMES),
        ]
    ],
)
def sli_buckets(
    context: dg.AssetExecutionContext,
    catalog: CatalogResource,
    samples: SampleSourceResource,
    warehouse: WarehouseResource,
    prometheus: PrometheusResource,
) -> Iterator[dg.AssetCheckResult | dg.MaterializeResult]:
    """Minute buckets (slo, start, good, total) from the drop directory, Prometheus and the demo generator."""
    start, end = partition_bounds(context)
    cat = catalog.load()
    series_days: list[tuple[int, list[CollectionFinding]]] = []
    outcomes: dict[str, ExpectationOutcome] = {}
    unplaced_parts, per_slo_parts = [], []
    staged_rows = stored = rejected_rows = quarantined = 0
    for issue in cat.warnings:
        context.log.warning(f"catalog: {issue}")
    for window_start, window_end in windows(start, end):  # bounded memory whatever the range
        raw, unplaced = samples.read_range(cat, window_start, window_end)
        if prometheus.ingest:
            # a Prometheus that is down or refuses a query fails the step: the day is never marked complete
            pulled = ingest_with_resource(cat, prometheus, window_start, window_end)
            raw = pd.concat(
                [raw, staged_buckets(pulled.buckets, "prometheus").assign(reason=None)], ignore_index=True
            )
            unplaced = pd.concat([unplaced, pulled.rejected.assign(source="prometheus")], ignore_index=True)
            for warning in pulled.warnings:
                context.log.warning(f"prometheus: {warning}")
            window_days = audit_series_days(cat, pulled.series_stats, window_start, window_end)
            for day, findings in window_days:
                warehouse.upsert_audit_results(audit_rows_for_warehouse(day, day + DAY, [], findings))
            series_days += window_days
        triage = triage_rows(raw, unplaced, cat.slos_by_data_key(), window_start, window_end)
        rejected = samples.with_original_text(triage.rejected)
        quarantined += warehouse.quarantine_rows(rejected) if not rejected.empty else 0
        warehouse.upsert_audit_results(triage.verdicts)
        clean = triage.clean
        stored += warehouse.upsert_buckets(clean, source="pipeline") if not clean.empty else 0
        staged_rows += len(raw)
        rejected_rows += len(triage.rejected)
        unplaced_parts.append(unplaced)
        per_slo_parts.append(clean.groupby("slo").size())
        for o in triage.outcomes:
            seen = outcomes.get(o.name)
            outcomes[o.name] = (
                o
                if seen is None
                else ExpectationOutcome(
                    o.name,
                    o.description,
                    seen.success and o.success,
                    seen.unexpected_count + o.unexpected_count,
                    (seen.examples + o.examples)[:5],
                )
            )
    context.log.info(f"staged {staged_rows:,} raw rows for {context.partition_key_range}")
    unplaced = pd.concat(unplaced_parts, ignore_index=True).drop_duplicates(subset=["source", "reason"])

    for outcome in outcomes.values():
        yield dg.AssetCheckResult(
            check_name=outcome.name,
            passed=outcome.success,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "unexpected_count": outcome.unexpected_count,
                "examples": dg.MetadataValue.md(_examples_md(outcome.examples) or "none"),
            },
        )
    for rule in RULE_NAMES:  # restarts, churn and failovers are facts to see, not reasons to stop
        failing = [f for _, fs in series_days for f in fs if f.name == rule and not f.success]
        yield dg.AssetCheckResult(
            check_name=rule,
            passed=not failing,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"failing_slos": sorted({s["slo"] for f in failing for s in f.failing_slos})},
        )
    yield dg.AssetCheckResult(
        check_name=READABLE_CHECK,
        passed=unplaced.empty,
        severity=dg.AssetCheckSeverity.WARN,  # such rows belong to no day, so they block none
        metadata={
            "unplaced_rows": dg.MetadataValue.md(
                markdown_frame(unplaced[["source", "reason"]].head(20)) if len(unplaced) else "none"
            )
        },
    )
    per_slo = pd.concat(per_slo_parts).groupby(level=0).sum().sort_index()
    yield dg.MaterializeResult(
        metadata={
            "rows_staged": staged_rows,
            "rows_stored": stored,
            "rows_quarantined": rejected_rows,
            "rows_newly_quarantined": quarantined,
            "slos": len(per_slo),
            "rows_per_slo": dg.MetadataValue.md(
                markdown_frame(per_slo.to_frame("rows"), index=True) if len(per_slo) else "none"
            ),
            # what `slo validate` prints on stderr: a missing Service document, a constant SLI...
            "catalog_warnings": dg.MetadataValue.md(
                "\n".join(f"- {w}" for w in cat.warnings) if cat.warnings else "none"
            ),
        }
    )
