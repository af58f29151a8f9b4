"""The SLO math, pure and vectorised: no Dagster, database, HTTP or templates here (DESIGN.md §1).

One sub-package per domain, so a reader who knows the word finds its rule under that name:
`budgets` (windows, the bucket grid, evaluation, rollups), `exclusions` (intervals, the runtime log,
dependency-outage proposals), `sli` (sample rows, counters, logs, traces, probes), `alerting` (burn-rate
alert rules, events, policies, notifications, Prometheus rules) and `common` (instants, day ranges).
"""
