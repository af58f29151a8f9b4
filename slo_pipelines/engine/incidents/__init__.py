"""Incidents (DESIGN.md §9): which SLOs an incident affects (through `Dependency` documents), its impact
per SLO objective (bad/total, budget consumed, peak 1 h burn rate), equal-split attribution across
overlapping incidents, the expected severity, and the mapping of PagerDuty/Opsgenie priorities to
SEV1..SEV4. Pure: budgets come from `engine.budgets`, exclusions from `engine.exclusions`."""
