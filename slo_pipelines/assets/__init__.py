"""Thin Dagster assets: read through resources, compute in `engine/`, write through resources."""

from slo_pipelines.assets.archive import compliance_archive
from slo_pipelines.assets.budgets import burn_rate_alerts, error_budgets
from slo_pipelines.assets.clean import sli_clean
from slo_pipelines.assets.decisions import policy_decisions
from slo_pipelines.assets.incidents import incident_impact
from slo_pipelines.assets.ingest import sli_buckets
from slo_pipelines.assets.outages import dependency_outage_proposals
from slo_pipelines.assets.quality import sli_quality_report
from slo_pipelines.assets.report import budget_report

ALL_ASSETS = [
    sli_buckets,
    sli_quality_report,
    sli_clean,
    error_budgets,
    burn_rate_alerts,
    policy_decisions,
    dependency_outage_proposals,
    incident_impact,
    budget_report,
    compliance_archive,
]

# What an incident or an exclusion change makes stale: clean buckets and rollups, budgets, alerts,
# decisions, incident impact and the report (never ingestion, never notifications).
RECOMPUTE_ASSETS = [
    sli_clean,
    error_budgets,
    burn_rate_alerts,
    policy_decisions,
    incident_impact,
    budget_report,
    compliance_archive,
]
