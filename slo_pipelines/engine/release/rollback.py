"""Blue-green rollback trigger: after a switch, does the new colour burn the budget faster than the
policy tolerates?

Over `[max(switch_at, at − window), at)` the new colour's buckets of each SLO objective of the service
give `bad` and `total` (request counts; for threshold objectives, buckets whose value misses the
objective, out of buckets with a value). The threshold is a burn rate: the lowest `burnRateAbove.value`
of the governing `BudgetPolicy`'s rules, or, when the policy has none, the fast-burn page threshold for
the SLO's period (0.02 · P / 1h, 14.4 for 30 days; Google SRE workbook). The threshold error ratio is
`threshold · (1 − target)`. An exact one-sided binomial test (`scipy.stats.binomtest`, H1: the new
colour's error ratio is above the threshold ratio) decides:
- `rollback` when p < alpha, as soon as the evidence is there, however few requests;
- `keep` when it is not significant and the interval held enough requests to have seen it
  (`total · threshold ratio ≥ 10` expected errors at the threshold);
- `inconclusive` otherwise (too little traffic yet: poll again).
The service decision is `rollback` if any objective says so, else `inconclusive` if any does, else
`keep`.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from slo_pipelines.catalog.budget_policy import BudgetPolicy, policy_for_slo
from slo_pipelines.catalog.models import SLO, Objective
from slo_pipelines.engine.alerting.rules import ALERT_RULES
from slo_pipelines.engine.common.timeutil import format_instant

ROLLBACK, KEEP, INCONCLUSIVE = "rollback", "keep", "inconclusive"
EXPECTED_ERRORS_FOR_KEEP = 10
_OPS = {"lt": np.less, "lte": np.less_equal, "gt": np.greater, "gte": np.greater_equal}


@dataclass(frozen=True)
class RollbackEvidence:
    slo: str
    objective: str
    target: float
    threshold_burn_rate: float
    threshold_source: str
    bad: float
    total: float
    burn_rate: float | None
    p_value: float | None
    decision: str
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {
            "slo": self.slo,
            "objective": self.objective,
            "target": self.target,
            "threshold_burn_rate": self.threshold_burn_rate,
            "threshold_source": self.threshold_source,
            "bad": self.bad,
            "total": self.total,
            "burn_rate": self.burn_rate,
            "p_value": self.p_value,
            "decision": self.decision,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class RollbackDecision:
    decision: str
    service: str
    switch_at: int
    at: int
    start: int
    evidence: tuple[RollbackEvidence, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "service": self.service,
            "switch_at": format_instant(self.switch_at),
            "at": format_instant(self.at),
            "interval": {"start": format_instant(self.start), "end": format_instant(self.at)},
            "evidence": [e.to_json() for e in self.evidence],
        }


def rollback_threshold(policy: BudgetPolicy | None, slo: SLO) -> tuple[float, str]:
    """(burn-rate threshold, where it comes from)."""
    burns = [r for r in (policy.rules if policy else ()) if r.burn_above is not None]
    if policy is not None and burns:
        rule = min(burns, key=lambda r: r.burn_above or 0.0)
        assert rule.burn_above is not None
        return rule.burn_above, f"policy {policy.name}: {rule.describe()}"
    page = next(r for r in ALERT_RULES if r.severity == "page" and r.long_window == "1h")
    period = slo.time_window.duration.nominal_seconds()
    return page.threshold(period), f"page threshold for a {slo.time_window.duration} period (0.02 · P / 1h)"


def _counts(rows: pd.DataFrame, slo: SLO, objective: Objective) -> tuple[float, float]:
    indicator = slo.indicator_of(objective)
    if indicator.kind == "threshold" and objective.op is not None and objective.value is not None:
        values = rows["value"].to_numpy(dtype=float)
        values = values[~np.isnan(values)]
        return float((~_OPS[objective.op](values, objective.value)).sum()), float(values.size)
    good = rows["good"].to_numpy(dtype=float)
    total = rows["total"].to_numpy(dtype=float)
    return float(total.sum() - good.sum()), float(total.sum())


def _evidence(
    slo: SLO, objective: Objective, rows: pd.DataFrame, policy: BudgetPolicy | None, alpha: float
) -> RollbackEvidence:
    threshold, source = rollback_threshold(policy, slo)
    bad, total = _counts(rows, slo, objective)
    miss = objective.budget_fraction
    ratio_limit = threshold * miss
    burn = None if total == 0 else bad / total / miss
    p: float | None = None
    if total == 0:
        decision, detail = INCONCLUSIVE, "no requests on the new colour yet"
    elif ratio_limit >= 1:
        decision, detail = KEEP, f"threshold burn {threshold:g} allows every request to fail"
    else:
        # binomtest needs whole counts; fractional (re-weighted) counts round to the nearest request
        n, k = round(total), min(round(bad), round(total))
        p = float(stats.binomtest(k, n, ratio_limit, alternative="greater").pvalue) if n > 0 else 1.0
        shown = (
            f"burn {burn:.4g} vs threshold {threshold:g} ({bad:g} bad of {total:g}): one-sided p = {p:.3g}"
        )
        if p < alpha:
            decision, detail = ROLLBACK, f"{shown} < alpha {alpha:g}"
        elif total * ratio_limit >= EXPECTED_ERRORS_FOR_KEEP:
            decision, detail = KEEP, f"{shown} >= alpha {alpha:g}"
        else:
            needed = math.ceil(EXPECTED_ERRORS_FOR_KEEP / ratio_limit)
            decision, detail = INCONCLUSIVE, f"{shown}; {needed} requests needed to keep"
    return RollbackEvidence(
        slo.name, objective.name, objective.target, threshold, source, bad, total, burn, p, decision, detail
    )


def rollback_check(
    service: str,
    slos: Sequence[SLO],
    buckets: pd.DataFrame,
    switch_at: int,
    at: int,
    window_seconds: int,
    policies: Sequence[BudgetPolicy],
    alpha: float = 0.05,
) -> RollbackDecision:
    """`buckets`: the new colour's clean buckets (slo, start, good, total, value), any SLOs."""
    start = max(switch_at, at - window_seconds)
    inside = buckets[(buckets["start"] >= start) & (buckets["start"] < at)]
    evidence: list[RollbackEvidence] = []
    for slo in sorted(slos, key=lambda s: s.name):
        rows = inside[inside["slo"] == slo.name]
        policy = policy_for_slo(policies, slo.name, slo.service)
        evidence.extend(_evidence(slo, o, rows, policy, alpha) for o in slo.objectives)
    decisions = {e.decision for e in evidence}
    decision = (
        ROLLBACK
        if ROLLBACK in decisions
        else INCONCLUSIVE
        if INCONCLUSIVE in decisions or not evidence
        else KEEP
    )
    return RollbackDecision(decision, service, switch_at, at, start, tuple(evidence))
