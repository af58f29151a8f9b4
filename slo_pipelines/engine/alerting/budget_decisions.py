"""Turn budget snapshots into policy decisions that engage and lift as events, never silently.

Each snapshot is judged against the governing BudgetPolicy's rules; an action *engages* the first time
a rule calling for it matches and *lifts* the first time none does. Every event carries the inputs that
caused it (remaining budget, burn rates, the rule), so an auditor can replay the decision. A snapshot
without data holds the current state: no data is not evidence that things are fine.
"""

import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from slo_pipelines.catalog.budget_policy import BudgetPolicy, BudgetRule

DECISION_COLUMNS = [
    "slo",
    "objective",
    "action",
    "at",
    "state",
    "policy",
    "reason",
    "rollout_cap_percent",
    "inputs",
    "escalation",
]


def _burns(value: Any) -> dict[str, float | None]:
    if isinstance(value, str):
        value = json.loads(value) if value else {}
    return dict(value or {})


def rule_matches(rule: BudgetRule, remaining: float | None, burns: Mapping[str, float | None]) -> bool:
    """A rule is in force while remaining budget is below its `remainingBelow` or the burn rate over its
    window is above its `burnRateAbove`; a null number (no data) matches neither condition."""
    if rule.remaining_below is not None and remaining is not None and remaining < rule.remaining_below:
        return True
    if rule.burn_window is not None and rule.burn_above is not None:
        burn = burns.get(rule.burn_window)
        return burn is not None and burn > rule.burn_above
    return False


def engaged_actions(
    policy: BudgetPolicy, remaining: float | None, burns: Mapping[str, float | None]
) -> dict[str, tuple[str, float | None]]:
    """action -> (why, rollout cap) for every action some matching rule calls for; the tightest cap wins."""
    out: dict[str, tuple[str, float | None]] = {}
    for rule in policy.rules:
        if not rule_matches(rule, remaining, burns):
            continue
        for action in rule.actions:
            cap = rule.rollout_cap_percent if action == "cap_rollout" else None
            earlier = out[action][1] if action in out else None
            if earlier is not None and cap is not None:
                cap = min(cap, earlier)
            why = rule.describe()
            if action == "freeze_deploys":
                why += f"; except {', '.join(rule.except_for)} fixes"
            out[action] = (why, cap)
    return out


def decision_events(
    policy: BudgetPolicy,
    snapshots: pd.DataFrame,
    engaged_before: set[tuple[str, str, str]],
) -> pd.DataFrame:
    """Events for snapshots (slo, objective, at, remaining_ratio, burn_rates, status) in time order,
    given the (slo, objective, action) triples engaged before the first snapshot."""
    engaged = set(engaged_before)
    rows: list[dict[str, Any]] = []
    escalation = json.dumps({k: list(v) for k, v in policy.escalation.items()})
    ordered = snapshots.sort_values(["slo", "objective", "at"], kind="stable")
    for record in ordered.to_dict(orient="records"):
        slo, objective, at = str(record["slo"]), str(record["objective"]), int(record["at"])
        remaining = record.get("remaining_ratio")
        remaining = (
            None
            if remaining is None or (isinstance(remaining, float) and np.isnan(remaining))
            else float(remaining)
        )
        burns = _burns(record.get("burn_rates"))
        if record.get("status") == "no_data":
            continue  # hold: missing data must not lift a freeze nor engage one
        now = engaged_actions(policy, remaining, burns)
        inputs = json.dumps(
            {"remaining_ratio": remaining, "burn_rates": burns, "status": record.get("status")}
        )
        current = {a for (s, o, a) in engaged if s == slo and o == objective}
        for action in sorted(set(now) - current):
            why, cap = now[action]
            rows.append(
                {
                    "slo": slo,
                    "objective": objective,
                    "action": action,
                    "at": at,
                    "state": "engaged",
                    "policy": policy.name,
                    "reason": why,
                    "rollout_cap_percent": cap,
                    "inputs": inputs,
                    "escalation": escalation,
                }
            )
            engaged.add((slo, objective, action))
        for action in sorted(current - set(now)):
            rows.append(
                {
                    "slo": slo,
                    "objective": objective,
                    "action": action,
                    "at": at,
                    "state": "lifted",
                    "policy": policy.name,
                    "reason": "no rule of the policy calls for it any more",
                    "rollout_cap_percent": None,
                    "inputs": inputs,
                    "escalation": escalation,
                }
            )
            engaged.discard((slo, objective, action))
    return pd.DataFrame(rows, columns=DECISION_COLUMNS)


def engaged_state(history: pd.DataFrame) -> set[tuple[str, str, str]]:
    """(slo, objective, action) triples whose latest event is `engaged`."""
    if history.empty:
        return set()
    latest = history.sort_values("at", kind="stable").groupby(["slo", "objective", "action"]).tail(1)
    engaged = latest[latest["state"] == "engaged"]
    return {
        (str(s), str(o), str(a))
        for s, o, a in zip(engaged["slo"], engaged["objective"], engaged["action"], strict=True)
    }
