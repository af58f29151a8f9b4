"""Change-advisory-board impact assessment of one planned change: which SLOs it can hurt, how much
budget they have, what is in force during its window, what past changes to those services cost, and a
recommendation.

A change file holds one `Change` document:

    apiVersion: slo-pipelines/v1
    kind: Change
    metadata: {name: CHG-2031}
    spec:
      title: Upgrade the payment gateway client
      services: [payment-gateway]           # services the change touches
      window: {start: "2026-11-20T02:00:00Z", end: "2026-11-20T03:00:00Z"}
      changeType: feature                   # feature (default) | reliability | security
      expectedBudgetCost: 0.05              # optional, fraction of each affected objective's budget

Affected services are the touched ones plus, transitively, every service that depends on one of them
through a `Dependency` document (impact flows from the upstream to its dependents, as for incidents).
The recommendation:
- `defer` when the deploy gate (`engine.release.gate`) denies this change to a touched service;
- `approve_with_conditions` when any affected objective has `require_review`, `cap_rollout` or a freeze
  in force, a page alert firing, or less remaining budget than the change's expected cost;
- `approve` otherwise.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slo_pipelines.catalog.budget_policy import BudgetPolicy, policy_for_slo
from slo_pipelines.catalog.models import Catalog
from slo_pipelines.engine.alerting.budget_decisions import engaged_actions
from slo_pipelines.engine.common.timeutil import format_instant
from slo_pipelines.engine.exclusions.intervals import applicable, expand_rules
from slo_pipelines.engine.release.gate import DENY, GateDecision, gate
from slo_pipelines.engine.release.releases import (
    CHANGE_TYPES,
    Release,
    ReleaseInputError,
    ScheduledRelease,
    field_error,
    fraction_field,
    instant_field,
)
from slo_pipelines.engine.release.state import ObjectiveState

APPROVE, CONDITIONS, DEFER = "approve", "approve_with_conditions", "defer"
_SPEC_KEYS = ("title", "services", "window", "changeType", "expectedBudgetCost", "description")


@dataclass(frozen=True)
class Change:
    name: str
    title: str
    services: tuple[str, ...]
    start: int
    end: int
    change_type: str = "feature"
    expected_budget_cost: float | None = None
    description: str = ""


def parse_change(document: Any, where: str) -> Change:
    """One `Change` document; errors name `where` (FILE[index]), the field and the value."""
    if not isinstance(document, dict):
        raise field_error(where, "", "a document must be a mapping", document)
    if document.get("apiVersion") != "slo-pipelines/v1":
        raise field_error(where, "apiVersion", "must be slo-pipelines/v1", document.get("apiVersion"))
    if document.get("kind") != "Change":
        raise field_error(where, "kind", "must be Change", document.get("kind"))
    metadata = document.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    if not isinstance(name, str) or not name:
        raise field_error(where, "metadata.name", "is required", name)
    spec = document.get("spec")
    if not isinstance(spec, dict):
        raise field_error(where, "spec", "must be a mapping", spec)
    for key in spec:
        if key not in _SPEC_KEYS:
            raise field_error(where, f"spec.{key}", f"unknown field; known: {', '.join(_SPEC_KEYS)}", key)
    services = spec.get("services")
    if not isinstance(services, list) or not services or not all(isinstance(s, str) for s in services):
        raise field_error(where, "spec.services", "must be a non-empty list of service names", services)
    window = spec.get("window")
    if not isinstance(window, dict) or "start" not in window or "end" not in window:
        raise field_error(where, "spec.window", "must be a mapping with start and end", window)
    start = instant_field(where, "spec.window.start", window["start"])
    end = instant_field(where, "spec.window.end", window["end"])
    if end <= start:
        raise field_error(where, "spec.window.end", "must be after spec.window.start", window["end"])
    change_type = spec.get("changeType", "feature")
    if change_type not in CHANGE_TYPES:
        raise field_error(where, "spec.changeType", f"must be one of {', '.join(CHANGE_TYPES)}", change_type)
    cost = spec.get("expectedBudgetCost")
    return Change(
        name=name,
        title=str(spec.get("title") or name),
        services=tuple(services),
        start=start,
        end=end,
        change_type=str(change_type),
        expected_budget_cost=None if cost is None else fraction_field(where, "spec.expectedBudgetCost", cost),
        description=str(spec.get("description") or ""),
    )


def dependencies(catalog: Catalog) -> list[tuple[str, str]]:
    """(service, upstream) of every Dependency document: `service` depends on `upstream`."""
    out = []
    for d in catalog.other:
        if d.kind == "Dependency":
            spec = d.body.get("spec") or {}
            out.append((str(spec.get("service")), str(spec.get("upstream"))))
    return out


def affected_services(touched: Sequence[str], edges: Sequence[tuple[str, str]]) -> dict[str, str]:
    """service -> why it is affected: `changed`, or `depends on X` (X affected before it)."""
    why = {s: "changed" for s in touched}
    frontier = list(touched)
    while frontier:
        upstream = frontier.pop(0)
        for service, up in sorted(edges):
            if up == upstream and service not in why:
                why[service] = f"depends on {upstream}"
                frontier.append(service)
    return why


@dataclass(frozen=True)
class Assessment:
    change: Change
    at: int
    affected: Mapping[str, str]
    objectives: tuple[dict[str, Any], ...]
    gates: tuple[GateDecision, ...]
    maintenance: tuple[dict[str, Any], ...]
    past_incidents: tuple[dict[str, Any], ...]
    recommendation: str
    conditions: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        c = self.change
        return {
            "change": {
                "name": c.name,
                "title": c.title,
                "services": list(c.services),
                "change_type": c.change_type,
                "window": {"start": format_instant(c.start), "end": format_instant(c.end)},
                "expected_budget_cost": c.expected_budget_cost,
            },
            "at": format_instant(self.at),
            "recommendation": self.recommendation,
            "conditions": list(self.conditions),
            "affected_services": [{"service": s, "reason": r} for s, r in self.affected.items()],
            "slos": list(self.objectives),
            "gates": [g.to_json() for g in self.gates],
            "freezes": [
                {**r.to_json(), "service": g.service, "waived": waived}
                for g in self.gates
                for waived, reasons in ((False, g.reasons), (True, g.waived))
                for r in reasons
                if r.rule == "freeze_deploys"
            ]
            + [
                {
                    "slo": o["slo"],
                    "objective": o["objective"],
                    "rule": "freeze_deploys",
                    "service": o["service"],
                    "detail": "freeze in force on a dependent service",
                    "waived": False,
                }
                for o in self.objectives
                if o["service"] not in c.services and "freeze_deploys" in o["actions_in_force"]
            ],
            "maintenance_windows": list(self.maintenance),
            "past_incidents": list(self.past_incidents),
        }


def assess(
    change: Change,
    catalog: Catalog,
    at: int,
    states: Sequence[ObjectiveState],
    policies: Sequence[BudgetPolicy],
    history: Sequence[Release] = (),
) -> Assessment:
    affected = affected_services(change.services, dependencies(catalog))
    mine = [s for s in states if s.service in affected]
    intervals = expand_rules(catalog.exclusions, change.start, change.end)
    conditions: list[str] = []
    objectives = []
    maintenance: dict[tuple[str, int], dict[str, Any]] = {}
    for st in sorted(mine, key=lambda s: (list(affected).index(s.service), s.slo, s.objective)):
        policy = policy_for_slo(policies, st.slo, st.service)
        actions = sorted(engaged_actions(policy, st.remaining_ratio, st.burn_rates)) if policy else []
        windows = applicable(intervals, st.slo, st.service)
        for iv in windows:
            entry = maintenance.setdefault(
                (iv.rule.name, iv.start),
                {
                    "name": iv.rule.name,
                    "kind": iv.rule.kind,
                    "reason": iv.rule.reason,
                    "approved_by": iv.rule.approved_by,
                    "start": format_instant(iv.start),
                    "end": format_instant(iv.end),
                    "overlap_seconds": min(iv.end, change.end) - max(iv.start, change.start),
                    "slos": [],
                },
            )
            if st.slo not in entry["slos"]:
                entry["slos"].append(st.slo)
        objectives.append(
            {
                "slo": st.slo,
                "objective": st.objective,
                "service": st.service,
                "affected_because": affected[st.service],
                "remaining_ratio": st.remaining_ratio,
                "burn_rates": dict(st.burn_rates),
                "status": st.status,
                "policy": policy.name if policy else None,
                "actions_in_force": actions,
                "page_alerts": [a.describe() for a in st.page_alerts],
                "maintenance_windows": sorted({iv.rule.name for iv in windows}),
            }
        )
        label = f"{st.slo}/{st.objective}"
        for action in ("require_review", "cap_rollout", "freeze_deploys"):
            if action in actions and not (action == "freeze_deploys" and st.service in change.services):
                conditions.append(f"{label}: {action} in force (remaining {_pct(st.remaining_ratio)})")
        if st.page_alerts and st.service not in change.services:
            conditions.append(f"{label}: page alert firing on a dependent service")
        cost = change.expected_budget_cost
        if cost is not None and st.remaining_ratio is not None and cost > st.remaining_ratio:
            conditions.append(
                f"{label}: expected cost {_pct(cost)} of the budget > {_pct(st.remaining_ratio)} remaining"
            )
    gates = []
    for service in change.services:
        touched = [s for s in states if s.service == service]
        own = (
            [
                ScheduledRelease(
                    Release(change.name, service, change.start, change.change_type),
                    change.expected_budget_cost,
                    "declared",
                )
            ]
            if change.expected_budget_cost is not None
            else []
        )
        gates.append(gate(service, at, touched, policies, change.change_type, own))
    past = [
        {
            "release": r.name,
            "service": r.service,
            "start": format_instant(r.start),
            "incident": i.name,
            "budget_consumed_ratio": i.budget_consumed_ratio,
        }
        for r in sorted(history, key=lambda r: (r.start, r.name))
        if r.service in affected and r.start < at
        for i in r.caused_incidents
    ]
    if any(g.decision == DENY for g in gates):
        recommendation = DEFER
        conditions = [
            f"gate denies {g.service}: {r.rule} on {r.slo}/{r.objective}" for g in gates for r in g.reasons
        ] + conditions
    else:
        recommendation = CONDITIONS if conditions else APPROVE
    return Assessment(
        change,
        at,
        affected,
        tuple(objectives),
        tuple(gates),
        tuple(maintenance.values()),
        tuple(past),
        recommendation,
        tuple(conditions),
    )


def _pct(x: float | None) -> str:
    return "no data" if x is None else f"{x:.1%}"


def unknown_services(change: Change, known: set[str]) -> None:
    for s in change.services:
        if s not in known:
            raise ReleaseInputError(f"change {change.name} spec.services: unknown service (got {s!r})")
