"""Acting on burn: multi-window multi-burn-rate alert rules (`rules`, Google SRE workbook) and the
events they fire, BudgetPolicy selection and decisions, notification payloads, delivery bookkeeping,
and the Prometheus recording/alerting rules export (Sloth-compatible names)."""
