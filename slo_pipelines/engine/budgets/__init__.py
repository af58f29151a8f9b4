"""Error budgets (DESIGN.md §3): windows and calendar periods, the per-SLO bucket grid with prefix sums,
evaluation of every budgeting method at one instant or every step, hourly/daily rollups for long
windows, budget snapshots, the `slo evaluate` result records and the budget report's data model."""
