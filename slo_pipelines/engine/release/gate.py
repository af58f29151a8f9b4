"""The deploy gate (DESIGN.md §11), feature-flag rollout caps and the concurrent-release plan.

`gate` denies a change to a service when, for any of the service's SLO objectives:
- `freeze_deploys`: a rule of the governing `BudgetPolicy` (the most specific one, `policy_for_slo`)
  calling for `freeze_deploys` is in force (remaining budget below its `remainingBelow`, or burn rate
  above its `burnRateAbove`), unless the change type is in that rule's `exceptFor`;
- `page_alert`: a page-severity multi-window burn-rate alert is firing;
- `scheduled_releases`: the expected costs of the releases already scheduled (plus this change's own,
  when declared) add up to more than the remaining budget.
Change types a policy exempts from freezes (`exceptFor` of its freeze rules; `reliability` and
`security` when it has none, as when no policy applies) are exempt from the other two rules too: a
fix that restores reliability is what a burning service needs. Exempted reasons are reported as
`waived`, so nothing is hidden. The rollout cap is the tightest `rolloutCapPercent` of the
`cap_rollout` rules in force.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from slo_pipelines.catalog.budget_policy import (
    DEFAULT_FREEZE_EXCEPTIONS,
    BudgetPolicy,
    BudgetRule,
    policy_for_slo,
)
from slo_pipelines.engine.alerting.budget_decisions import rule_matches
from slo_pipelines.engine.common.timeutil import format_instant
from slo_pipelines.engine.release.releases import ScheduledRelease, release_json
from slo_pipelines.engine.release.state import ObjectiveState

ALLOW, DENY = "allow", "deny"


@dataclass(frozen=True)
class GateReason:
    slo: str
    objective: str
    rule: str  # freeze_deploys | page_alert | scheduled_releases
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"slo": self.slo, "objective": self.objective, "rule": self.rule, "detail": self.detail}


@dataclass(frozen=True)
class GateDecision:
    decision: str
    service: str
    at: int
    change_type: str
    reasons: tuple[GateReason, ...]
    rollout_cap_percent: float | None
    waived: tuple[GateReason, ...] = ()
    objectives: tuple[ObjectiveState, ...] = ()
    scheduled: tuple[ScheduledRelease, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "service": self.service,
            "at": format_instant(self.at),
            "change_type": self.change_type,
            "reasons": [r.to_json() for r in self.reasons],
            "rollout_cap_percent": self.rollout_cap_percent,
            "waived": [r.to_json() for r in self.waived],
            "slos": [o.to_json() for o in self.objectives],
            "scheduled_releases": [release_json(s) for s in self.scheduled],
        }


def exempt_change_types(policy: BudgetPolicy | None) -> tuple[str, ...]:
    """Change types every freeze rule of the policy exempts (the default pair when it has none)."""
    freezes = [r for r in (policy.rules if policy else ()) if "freeze_deploys" in r.actions]
    if not freezes:
        return DEFAULT_FREEZE_EXCEPTIONS
    common = set(freezes[0].except_for)
    for rule in freezes[1:]:
        common &= set(rule.except_for)
    return tuple(t for t in freezes[0].except_for if t in common)


def _pct(x: float | None) -> str:
    return "no data" if x is None else f"{x:.2%}"


def _in_force(policy: BudgetPolicy | None, state: ObjectiveState) -> list[BudgetRule]:
    if policy is None:
        return []
    return [r for r in policy.rules if rule_matches(r, state.remaining_ratio, state.burn_rates)]


def release_arithmetic(
    costs: Sequence[tuple[str, float]], remaining: float | None
) -> tuple[float, str, bool]:
    """(sum, the sum written out, whether it passes the remaining budget)."""
    total = sum(c for _, c in costs)
    terms = " + ".join(f"{c:.4g} ({name})" for name, c in costs) or "0"
    if remaining is None:
        return total, f"{terms} = {total:.4g} of the budget; remaining unknown (no data)", False
    over = total > remaining
    sign = ">" if over else "<="
    return total, f"{terms} = {total:.4g} of the budget {sign} {remaining:.4g} remaining", over


def gate(
    service: str,
    at: int,
    states: Sequence[ObjectiveState],
    policies: Sequence[BudgetPolicy],
    change_type: str = "feature",
    scheduled: Sequence[ScheduledRelease] = (),
    own_cost: float | None = None,
) -> GateDecision:
    """Allow or deny a change of `change_type` to `service`, given its objectives' budget states."""
    reasons: list[GateReason] = []
    waived: list[GateReason] = []
    caps: list[float] = []
    for st in sorted(states, key=lambda s: (s.slo, s.objective)):
        policy = policy_for_slo(policies, st.slo, st.service)
        exempt = change_type in exempt_change_types(policy)
        for rule in _in_force(policy, st):
            if "cap_rollout" in rule.actions and rule.rollout_cap_percent is not None:
                caps.append(rule.rollout_cap_percent)
            if "freeze_deploys" in rule.actions:
                assert policy is not None
                detail = (
                    f"policy {policy.name}: {rule.describe()} is in force "
                    f"(remaining {_pct(st.remaining_ratio)}); "
                    f"exempt change types: {', '.join(rule.except_for) or 'none'}"
                )
                target = waived if change_type in rule.except_for else reasons
                target.append(GateReason(st.slo, st.objective, "freeze_deploys", detail))
        for alert in st.page_alerts:
            burn = st.burn_rates.get(alert.long_window)
            detail = (
                f"page alert firing: {alert.describe()} (burn {alert.long_window} = {burn:.4g})"
                if burn is not None
                else f"page alert firing: {alert.describe()}"
            )
            (waived if exempt else reasons).append(GateReason(st.slo, st.objective, "page_alert", detail))
        costs = [(s.release.name, s.cost) for s in scheduled if s.release.touches(st.slo, st.service)]
        if own_cost is not None:
            costs.append(("this change", own_cost))
        if costs:
            _, text, over = release_arithmetic(costs, st.remaining_ratio)
            if over:
                detail = f"scheduled releases would spend {text}"
                (waived if exempt else reasons).append(
                    GateReason(st.slo, st.objective, "scheduled_releases", detail)
                )
    return GateDecision(
        decision=DENY if reasons else ALLOW,
        service=service,
        at=at,
        change_type=change_type,
        reasons=tuple(reasons),
        rollout_cap_percent=min(caps) if caps else None,
        waived=tuple(waived),
        objectives=tuple(states),
        scheduled=tuple(scheduled),
    )


@dataclass(frozen=True)
class FlagCap:
    """What a feature-flag system may roll out for a service: `max_rollout_percent` is 0 while a
    freeze is in force (a flag flip is a feature change), else the tightest cap, else 100."""

    service: str
    rollout_cap_percent: float | None
    frozen: bool
    rules: tuple[dict[str, Any], ...]

    @property
    def max_rollout_percent(self) -> float:
        if self.frozen:
            return 0.0
        return 100.0 if self.rollout_cap_percent is None else self.rollout_cap_percent

    def to_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "rollout_cap_percent": self.rollout_cap_percent,
            "frozen": self.frozen,
            "max_rollout_percent": self.max_rollout_percent,
            "rules": list(self.rules),
        }


def flag_caps(
    services: Sequence[str], states: Sequence[ObjectiveState], policies: Sequence[BudgetPolicy]
) -> list[FlagCap]:
    """The rollout cap per service from the `cap_rollout` and `freeze_deploys` rules in force."""
    out = []
    for service in sorted(services):
        caps: list[float] = []
        frozen = False
        rules: list[dict[str, Any]] = []
        for st in sorted((s for s in states if s.service == service), key=lambda s: (s.slo, s.objective)):
            policy = policy_for_slo(policies, st.slo, st.service)
            for rule in _in_force(policy, st):
                assert policy is not None
                if "cap_rollout" in rule.actions and rule.rollout_cap_percent is not None:
                    caps.append(rule.rollout_cap_percent)
                if "freeze_deploys" in rule.actions and "feature" not in rule.except_for:
                    frozen = True
                if {"cap_rollout", "freeze_deploys"} & set(rule.actions):
                    rules.append(
                        {
                            "slo": st.slo,
                            "objective": st.objective,
                            "policy": policy.name,
                            "rule": rule.describe(),
                            "actions": [a for a in rule.actions if a in ("cap_rollout", "freeze_deploys")],
                            "rollout_cap_percent": rule.rollout_cap_percent,
                            "remaining_ratio": st.remaining_ratio,
                        }
                    )
        out.append(FlagCap(service, min(caps) if caps else None, frozen, tuple(rules)))
    return out


@dataclass(frozen=True)
class PlannedRelease:
    scheduled: ScheduledRelease
    decision: str  # proceed | paused
    arithmetic: tuple[dict[str, Any], ...]

    def to_json(self) -> dict[str, Any]:
        return {
            **release_json(self.scheduled),
            "decision": self.decision,
            "arithmetic": list(self.arithmetic),
        }


def plan_releases(
    releases: Sequence[ScheduledRelease], states: Sequence[ObjectiveState], policies: Sequence[BudgetPolicy]
) -> list[PlannedRelease]:
    """Releases in start order; each adds its cost to every objective it touches. A release whose
    running sum would pass an objective's remaining budget is `paused` (and adds nothing), unless its
    change type is exempt under that objective's policy; it then proceeds and its cost still counts."""
    committed: dict[tuple[str, str], list[tuple[str, float]]] = {}
    out = []
    for s in sorted(releases, key=lambda s: (s.release.start, s.release.name)):
        r = s.release
        lines: list[dict[str, Any]] = []
        blocked = False
        touched = [st for st in states if r.touches(st.slo, st.service)]
        for st in sorted(touched, key=lambda x: (x.slo, x.objective)):
            costs = [*committed.get((st.slo, st.objective), []), (r.name, s.cost)]
            total, text, over = release_arithmetic(costs, st.remaining_ratio)
            exempt = r.change_type in exempt_change_types(policy_for_slo(policies, st.slo, st.service))
            blocked |= over and not exempt
            lines.append(
                {
                    "slo": st.slo,
                    "objective": st.objective,
                    "remaining_ratio": st.remaining_ratio,
                    "cumulative_cost": total,
                    "over": over,
                    "exempt": exempt,
                    "detail": text,
                }
            )
        if not blocked:
            for st in touched:
                committed.setdefault((st.slo, st.objective), []).append((r.name, s.cost))
        out.append(PlannedRelease(s, "paused" if blocked else "proceed", tuple(lines)))
    return out
