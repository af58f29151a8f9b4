"""The `BudgetPolicy` kind, typed: which actions remaining budget and burn rates call for.

A policy turns numbers into decisions people act on (freeze deploys, cap a rollout, require a review),
so its rules are validated strictly: unknown actions or fields are errors, not silently ignored.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from slo_pipelines.catalog.fields import (
    Reporter,
    as_mapping,
    join,
    mapping,
    number,
    sequence,
    show,
    string_list,
    unknown_fields,
)
from slo_pipelines.catalog.models import Document, Scope

ACTIONS = ("warn", "notify_owners", "require_review", "cap_rollout", "freeze_deploys")
BURN_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
SEVERITIES = ("page", "ticket")
DEFAULT_FREEZE_EXCEPTIONS = ("reliability", "security")
_RULE_KEYS = ("remainingBelow", "burnRateAbove", "actions", "rolloutCapPercent", "exceptFor")
_TOP_KEYS = ("description", "scope", "warningBelow", "thresholds", "escalation")


@dataclass(frozen=True)
class BudgetRule:
    """Engages its actions while remaining budget is below `remaining_below` or the burn rate over
    `burn_window` is above `burn_above` (either condition suffices)."""

    actions: tuple[str, ...]
    remaining_below: float | None = None
    burn_window: str | None = None
    burn_above: float | None = None
    rollout_cap_percent: float | None = None
    except_for: tuple[str, ...] = DEFAULT_FREEZE_EXCEPTIONS

    def describe(self) -> str:
        conditions = []
        if self.remaining_below is not None:
            conditions.append(f"remaining budget < {self.remaining_below:.0%}")
        if self.burn_window is not None and self.burn_above is not None:
            conditions.append(f"burn rate over {self.burn_window} > {self.burn_above:g}")
        return " or ".join(conditions)


@dataclass(frozen=True)
class BudgetPolicy:
    name: str
    scope: Scope
    warning_below: float = 0.25
    rules: tuple[BudgetRule, ...] = ()
    escalation: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _rule(r: Reporter, body: dict[str, Any], path: str) -> BudgetRule | None:
    unknown_fields(r, body, _RULE_KEYS, path)
    below = number(r, body, "remainingBelow", path)
    if below is not None and below > 1:
        r.error(join(path, "remainingBelow"), f"must be <= 1 (got {show(body['remainingBelow'])})")
    burn = mapping(r, body, "burnRateAbove", path)
    window = value = None
    if burn is not None:
        bpath = join(path, "burnRateAbove")
        window = burn.get("window")
        if window not in BURN_WINDOWS:
            r.error(join(bpath, "window"), f"must be one of {', '.join(BURN_WINDOWS)} (got {show(window)})")
        value = number(r, burn, "value", bpath, required=True)
        if value is not None and value <= 0:
            r.error(join(bpath, "value"), f"must be > 0 (got {show(burn['value'])})")
    if below is None and burn is None:
        r.error(path, "needs remainingBelow or burnRateAbove")
    actions = string_list(r, body, "actions", path, required=True) or []
    for i, action in enumerate(actions):
        if action not in ACTIONS:
            r.error(f"{path}.actions[{i}]", f"must be one of {', '.join(ACTIONS)} (got {show(action)})")
    cap = number(r, body, "rolloutCapPercent", path)
    if cap is not None and not 0 <= cap <= 100:
        r.error(
            join(path, "rolloutCapPercent"),
            f"must be between 0 and 100 (got {show(body['rolloutCapPercent'])})",
        )
    if "cap_rollout" in actions and cap is None:
        r.error(join(path, "rolloutCapPercent"), "is required with the cap_rollout action")
    except_for = string_list(r, body, "exceptFor", path)
    return BudgetRule(
        actions=tuple(actions),
        remaining_below=below,
        burn_window=window if isinstance(window, str) else None,
        burn_above=value,
        rollout_cap_percent=cap,
        except_for=tuple(except_for) if except_for is not None else DEFAULT_FREEZE_EXCEPTIONS,
    )


def parse_budget_policy(r: Reporter, name: str, spec: dict[str, Any], scope: Scope) -> BudgetPolicy:
    """Typed policy; problems go to the reporter with their field paths."""
    unknown_fields(r, spec, _TOP_KEYS, "spec")
    warning = number(r, spec, "warningBelow", "spec")
    if warning is not None and not 0 <= warning <= 1:
        r.error("spec.warningBelow", f"must be between 0 and 1 (got {show(spec['warningBelow'])})")
    rules = []
    for i, step in enumerate(sequence(r, spec, "thresholds", "spec", required=True) or []):
        body = as_mapping(r, step, f"spec.thresholds[{i}]")
        if body is not None:
            rule = _rule(r, body, f"spec.thresholds[{i}]")
            if rule is not None:
                rules.append(rule)
    escalation: dict[str, tuple[str, ...]] = {}
    for severity, targets in (mapping(r, spec, "escalation", "spec") or {}).items():
        if severity not in SEVERITIES:
            r.error(f"spec.escalation.{severity}", f"severity must be one of {', '.join(SEVERITIES)}")
            continue
        names = string_list(r, {severity: targets}, severity, "spec.escalation") or []
        escalation[severity] = tuple(names)
    return BudgetPolicy(name, scope, warning if warning is not None else 0.25, tuple(rules), escalation)


def catalog_budget_policies(documents: Iterable[Document]) -> list[BudgetPolicy]:
    """Every BudgetPolicy of a loaded (hence validated) catalog, typed."""
    out = []
    for d in documents:
        if d.kind != "BudgetPolicy":
            continue
        spec = d.body.get("spec") or {}
        raw_scope = spec.get("scope") or {}
        policy_scope = Scope(service=raw_scope.get("service"), slo=raw_scope.get("slo"))
        out.append(parse_budget_policy(Reporter(d.file, d.index), d.name, spec, policy_scope))
    return out


def policy_for_slo(policies: Iterable[BudgetPolicy], slo: str, service: str) -> BudgetPolicy | None:
    """The most specific policy: one naming the SLO, then its service, then a fleet-wide one."""
    best: tuple[int, BudgetPolicy] | None = None
    for policy in sorted(policies, key=lambda p: p.name):
        if not policy.scope.applies_to(slo, service):
            continue
        rank = 2 if policy.scope.slo else 1 if policy.scope.service else 0
        if best is None or rank > best[0]:
            best = (rank, policy)
    return None if best is None else best[1]
