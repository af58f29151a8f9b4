"""One asset group for the whole pipeline, so Dagster's global lineage view shows every asset and edge
at once instead of collapsed group boxes; the domain (sli, budgets, alerting, incidents, sla, reports,
probes) is a `domain` tag, which the UI can still filter by."""

PIPELINE_GROUP = "slo_pipeline"
