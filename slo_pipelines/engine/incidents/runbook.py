"""The runbook snippet of a service: its SLOs, their budgets now, what a minute of full outage costs
each, and who is escalated to (pure).

A minute of full outage costs `60 / ((1 − target) · P)` of the budget for an Occurrences SLO with even
traffic over its period P (every request of that minute fails), and `⌈60 / slice⌉ / allowed slices`
for timeslice methods (each slice the minute touches turns bad), with P the SLO's period length
(calendar 1w/1M/1Q/1Y = 7/30/90/365 d).
"""

from dataclasses import dataclass
from typing import Any

from slo_pipelines.catalog.models import SLO, Catalog, Objective
from slo_pipelines.engine.budgets.results import SLOResult


@dataclass(frozen=True)
class RunbookLine:
    slo: str
    objective: str
    budgeting_method: str
    target: float
    window: str
    outage_minute_cost: float  # share of a period's budget one minute of full outage spends
    remaining_ratio: float | None
    status: str | None

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


def outage_minute_cost(slo: SLO, objective: Objective) -> float:
    period = slo.time_window.duration.nominal_seconds()
    miss = 1.0 - objective.target
    if miss <= 0:
        return float("inf")
    if slo.budgeting_method == "Occurrences":
        return 60.0 / (miss * period)
    slice_seconds = objective.time_slice_window_seconds or slo.bucket_seconds
    return -(-60 // slice_seconds) / (miss * (period // slice_seconds))


def team_of(catalog: Catalog, service: str) -> tuple[str | None, Any]:
    """(team name, its escalation as written) of the Team whose spec.services lists `service`."""
    for d in catalog.other:
        spec = d.body.get("spec")
        if d.kind == "Team" and isinstance(spec, dict) and service in (spec.get("services") or []):
            return d.name, spec.get("escalation")
    return None, None


def runbook(catalog: Catalog, service: str, results: list[SLOResult] | None = None) -> dict[str, Any]:
    """The snippet as JSON-ready data; `results` (an evaluation) adds the budgets now."""
    now = {(r.name, r.objective): r for r in results or []}
    lines = []
    for name in sorted(catalog.slos):
        slo = catalog.slos[name]
        if slo.service != service:
            continue
        for objective in slo.objectives:
            result = now.get((name, objective.name))
            lines.append(
                RunbookLine(
                    slo=name,
                    objective=objective.name,
                    budgeting_method=slo.budgeting_method,
                    target=objective.target,
                    window=("rolling " if slo.time_window.is_rolling else "calendar ")
                    + str(slo.time_window.duration),
                    outage_minute_cost=outage_minute_cost(slo, objective),
                    remaining_ratio=result.remaining_ratio if result else None,
                    status=result.status if result else None,
                )
            )
    team, escalation = team_of(catalog, service)
    return {
        "service": service,
        "team": team,
        "escalation": escalation,
        "slos": [line.to_json() for line in lines],
    }
