"""Assemble the budget report's data (results + burn-down series) from engine outputs; no rendering."""

from datetime import UTC, datetime
from typing import Any

import numpy as np

from slo_pipelines.catalog.edge_case_policy import (
    DEFAULT_POLICY,
    EdgeCasePolicy,
    PolicyResolutionError,
    catalog_policies,
    policy_for,
)
from slo_pipelines.catalog.journeys import journey_groups
from slo_pipelines.engine.budgets.evaluate import CatalogEvaluator
from slo_pipelines.engine.common.timeutil import format_instant
from slo_pipelines.engine.exclusions.runtime import budget_restored

CHART_STEP_SECONDS = 3600


def budget_report(evaluator: CatalogEvaluator, at: int, title: str) -> dict[str, Any]:
    """Results at `at` plus, per SLO objective, remaining budget and SLI hourly across its window."""
    results = evaluator.evaluate(at)
    policies = catalog_policies(evaluator.catalog.documents)
    series_by_key: dict[tuple[str, str], dict[str, list[Any]]] = {}
    restored: dict[tuple[str, str], dict[str, float]] = {}
    for r in results:
        slo = evaluator.catalog.slos[r.name]
        objective = next(o for o in slo.objectives if o.name == r.objective)
        first = -(-r.window_start // CHART_STEP_SECONDS) * CHART_STEP_SECONDS
        ev = evaluator.evaluator(slo, objective, first, at)
        ats = np.arange(first, at + 1, CHART_STEP_SECONDS, dtype=np.int64)
        s = ev.series(ats)
        intervals = evaluator.intervals(slo, r.window_start, at)
        restored[(r.name, r.objective)] = {
            b.rule.name: b.bad
            for b in budget_restored(evaluator.by_slo[r.name], intervals, r.window_start, at)
        }
        series_by_key[(r.name, r.objective)] = {
            "t": [int(x) for x in s["at"]],
            "remaining_ratio": [None if np.isnan(x) else float(x) for x in s["remaining_ratio"]],
            "sli": [None if np.isnan(x) else float(x) for x in s["sli"]],
        }
    return {
        "title": title,
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "at": format_instant(at),
        "catalog_digest": evaluator.catalog_digest,
        "slos": [
            dict(
                _with_restored(r.to_json(), restored.get((r.name, r.objective), {})),
                series=series_by_key[(r.name, r.objective)],
                edge_case_policy=_policy_line(policies, r.name, r.service),
            )
            for r in results
        ],
        "journeys": journey_groups(evaluator.catalog),
    }


def _policy_line(policies: list[EdgeCasePolicy], slo: str, service: str) -> str | None:
    """How retries, timeouts, partial responses and sampling count for this SLO, when a policy says so."""
    try:
        policy = policy_for(policies, slo, service)
    except PolicyResolutionError as exc:
        return f"ambiguous: {exc}"
    return None if policy == DEFAULT_POLICY else policy.describe()


def _with_restored(result: dict[str, Any], restored: dict[str, float]) -> dict[str, Any]:
    """Each listed exclusion with the bad events it alone took out of this window (its restored budget)."""
    result["exclusions"] = [dict(e, restored_bad=restored.get(e["name"], 0.0)) for e in result["exclusions"]]
    return result
