"""Canary analysis: is the canary worse than the baseline on an SLO's indicator? (DESIGN.md §11)

Each arm is a `CanarySample`: request counts (`good`, `total`) and/or per-request latencies, in the
unit of the SLO objective's threshold `value`. Two one-sided tests, as Kayenta runs them:

- error ratio (`total` on both arms): Pearson's chi-square test of the 2×2 table without continuity
  correction (the two-proportion z-test squared; `scipy.stats.chi2_contingency`), or Fisher's exact
  test (`scipy.stats.fisher_exact`) when an expected cell is below 5 (Cochran's rule). The p-value is
  one-sided: H1 = the canary's error ratio is higher.
- latency (latencies on both arms): Mann-Whitney U (`scipy.stats.mannwhitneyu`, H1 = canary values are
  stochastically greater), with the Hodges-Lehmann shift (median of the pairwise differences canary −
  baseline) and its distribution-free 1 − alpha confidence bounds (Lehmann, the order statistics of the
  pairwise differences at the normal-approximation critical ranks).

Below the minimum sample size the check is `inconclusive`: by default an arm needs enough requests that
the SLO's allowed error count is at least 10 (`ceil(10 / (1 − target))`), and 50 latencies. The verdict
is `fail` when any check rejects at `alpha`, else `inconclusive` when any check could not run, else
`pass`. The effect is also given in budget terms: each arm's burn rate (bad ratio / (1 − target); for
latency, the share of requests not meeting the objective's threshold, judged per request) and the hours
in which the canary's burn would spend a whole budget of the SLO's period.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from slo_pipelines.catalog.models import SLO, Objective, budget_fraction

PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"
DEFAULT_ALPHA = 0.05
MIN_LATENCY_SAMPLES = 50
MIN_BUDGETED_ERRORS = 10
HL_MAX_PER_ARM = 2000  # pairwise differences grow as n·m; beyond this a seeded subsample estimates HL
_OPS = {
    "lt": np.less,
    "lte": np.less_equal,
    "gt": np.greater,
    "gte": np.greater_equal,
}


class CanaryInputError(ValueError):
    """A bad canary or baseline file; the message names the file, field and value."""


@dataclass(frozen=True)
class CanarySample:
    good: int | None
    total: int | None
    latency: np.ndarray

    @property
    def bad(self) -> int | None:
        return None if self.total is None or self.good is None else self.total - self.good


def _count(where: str, field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise CanaryInputError(f"{where} {field}: must be a whole number >= 0 (got {value!r})")
    if value < 0 or float(value) != int(value):
        raise CanaryInputError(f"{where} {field}: must be a whole number >= 0 (got {value!r})")
    return int(value)


def canary_sample(data: Mapping[str, Any], where: str, rows: bool = False) -> CanarySample:
    """From a JSON object (`good`, `total` numbers, `latency` list) or, with `rows`, from columns
    (`good` and `total` summed over rows, `latency` one value per row; blank cells skipped)."""
    known = {"good", "total", "latency"}
    for key in data:
        if key not in known:
            raise CanaryInputError(f"{where} {key}: unknown field; known: good, total, latency (got {key!r})")
    good = total = None
    if ("good" in data) != ("total" in data):
        raise CanaryInputError(
            f"{where}: good and total go together (got only {'good' if 'good' in data else 'total'})"
        )
    if "total" in data:
        if rows:
            pairs = [
                (g, t)
                for g, t in zip(data["good"], data["total"], strict=True)
                if not (_blank(g) and _blank(t))
            ]
            good = sum(_count(where, "good", g) for g, _ in pairs)
            total = sum(_count(where, "total", t) for _, t in pairs)
            for i, (g, t) in enumerate(pairs):
                if g > t:
                    raise CanaryInputError(f"{where} row {i + 1} good: must be <= total (got {g!r} > {t!r})")
        else:
            good, total = _count(where, "good", data["good"]), _count(where, "total", data["total"])
        if good > total:
            raise CanaryInputError(f"{where} good: must be <= total (got {good} > {total})")
    values = data.get("latency", [])
    if not isinstance(values, list):
        raise CanaryInputError(f"{where} latency: must be a list of numbers (got {values!r})")
    kept = [v for v in values if not (rows and _blank(v))]
    for v in kept:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
            raise CanaryInputError(f"{where} latency: must be finite numbers >= 0 (got {v!r})")
    if total is None and not kept:
        raise CanaryInputError(f"{where}: holds neither good/total counts nor latencies")
    return CanarySample(good, total, np.asarray(kept, dtype=np.float64))


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


@dataclass(frozen=True)
class BudgetTerms:
    """Effect in budget terms for one objective: burn rates are multiples of the sustainable rate."""

    objective: str
    target: float
    baseline_burn_rate: float | None
    canary_burn_rate: float | None
    excess_burn_rate: float | None
    budget_exhausted_in_hours: float | None  # a whole period's budget at the canary's burn rate

    def to_json(self) -> dict[str, Any]:
        return {
            "objective": self.objective,
            "target": self.target,
            "baseline_burn_rate": self.baseline_burn_rate,
            "canary_burn_rate": self.canary_burn_rate,
            "excess_burn_rate": self.excess_burn_rate,
            "budget_exhausted_in_hours": self.budget_exhausted_in_hours,
        }


@dataclass(frozen=True)
class CheckResult:
    check: str  # error_ratio | latency
    verdict: str
    test: str | None
    p_value: float | None
    detail: str
    baseline: dict[str, Any]
    canary: dict[str, Any]
    effect: dict[str, Any]
    budget: tuple[BudgetTerms, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "verdict": self.verdict,
            "test": self.test,
            "p_value": self.p_value,
            "detail": self.detail,
            "baseline": self.baseline,
            "canary": self.canary,
            "effect": self.effect,
            "budget": [b.to_json() for b in self.budget],
        }


@dataclass(frozen=True)
class CanaryReport:
    slo: str
    alpha: float
    verdict: str
    checks: tuple[CheckResult, ...]

    def to_json(self) -> dict[str, Any]:
        worst = [c.p_value for c in self.checks if c.p_value is not None]
        return {
            "slo": self.slo,
            "alpha": self.alpha,
            "verdict": self.verdict,
            "p_value": min(worst) if worst else None,
            "checks": [c.to_json() for c in self.checks],
        }


def min_requests_for(targets: Sequence[float]) -> int:
    """Requests per arm so the strictest objective allows at least `MIN_BUDGETED_ERRORS` errors."""
    return math.ceil(MIN_BUDGETED_ERRORS / budget_fraction(max(targets)) - 1e-9)


def _burn(ratio: float | None, target: float) -> float | None:
    return None if ratio is None else ratio / budget_fraction(target)


def _terms(
    objective: Objective, base_ratio: float | None, canary_ratio: float | None, period_h: float
) -> BudgetTerms:
    b, c = _burn(base_ratio, objective.target), _burn(canary_ratio, objective.target)
    return BudgetTerms(
        objective=objective.name,
        target=objective.target,
        baseline_burn_rate=b,
        canary_burn_rate=c,
        excess_burn_rate=None if b is None or c is None else c - b,
        budget_exhausted_in_hours=None if not c else period_h / c,
    )


def error_ratio_test(base_bad: int, base_total: int, canary_bad: int, canary_total: int) -> tuple[str, float]:
    """(test name, one-sided p-value for H1: canary error ratio > baseline error ratio)."""
    table = np.array([[canary_bad, canary_total - canary_bad], [base_bad, base_total - base_bad]])
    expected = stats.contingency.expected_freq(table) if table.sum(axis=0).all() else np.zeros((2, 2))
    if expected.min() < 5:
        return "fisher_exact", float(stats.fisher_exact(table, alternative="greater").pvalue)
    result = stats.chi2_contingency(table, correction=False)
    two_sided = float(result.pvalue)
    worse = canary_bad * base_total > base_bad * canary_total
    return "two_proportion_chi2", two_sided / 2 if worse else 1.0 - two_sided / 2


def _error_check(
    slo: SLO, baseline: CanarySample, canary: CanarySample, alpha: float, min_requests: int
) -> CheckResult:
    assert baseline.total is not None and canary.total is not None
    bb, cb = baseline.bad, canary.bad
    assert bb is not None and cb is not None
    b_ratio = bb / baseline.total if baseline.total else None
    c_ratio = cb / canary.total if canary.total else None
    period_h = slo.time_window.duration.nominal_seconds() / 3600
    budget = tuple(_terms(o, b_ratio, c_ratio, period_h) for o in slo.objectives)
    arms = {
        "baseline": {"good": baseline.good, "total": baseline.total, "error_ratio": b_ratio},
        "canary": {"good": canary.good, "total": canary.total, "error_ratio": c_ratio},
    }
    small = min(baseline.total, canary.total)
    if small < min_requests:
        return CheckResult(
            "error_ratio",
            INCONCLUSIVE,
            None,
            None,
            f"too few requests: {small} in the smaller arm, {min_requests} needed",
            arms["baseline"],
            arms["canary"],
            {},
            budget,
        )
    test, p = error_ratio_test(bb, baseline.total, cb, canary.total)
    verdict = FAIL if p < alpha else PASS
    assert b_ratio is not None and c_ratio is not None
    effect = {
        "error_ratio_difference": c_ratio - b_ratio,
        "error_ratio_ratio": c_ratio / b_ratio if b_ratio else None,
    }
    detail = (
        f"canary error ratio {c_ratio:.4%} vs baseline {b_ratio:.4%}: one-sided p = {p:.3g} "
        f"{'<' if verdict == FAIL else '>='} alpha {alpha:g}"
    )
    return CheckResult(
        "error_ratio", verdict, test, p, detail, arms["baseline"], arms["canary"], effect, budget
    )


def hodges_lehmann(canary: np.ndarray, baseline: np.ndarray, alpha: float) -> tuple[float, float, float]:
    """(shift, lower, upper): median of canary_i − baseline_j and its 1 − alpha confidence bounds."""
    rng = np.random.default_rng(0)
    x = canary if canary.size <= HL_MAX_PER_ARM else rng.choice(canary, HL_MAX_PER_ARM, replace=False)
    y = baseline if baseline.size <= HL_MAX_PER_ARM else rng.choice(baseline, HL_MAX_PER_ARM, replace=False)
    n, m = x.size, y.size
    diffs = (x[:, None] - y[None, :]).ravel()
    count = diffs.size
    z = float(stats.norm.ppf(1 - alpha / 2))
    k = math.floor(n * m / 2 - z * math.sqrt(n * m * (n + m + 1) / 12))
    k = min(max(k, 0), count - 1)
    lo_i, hi_i = k, count - 1 - k
    mid = count // 2
    picks = sorted({lo_i, hi_i, mid, max(mid - 1, 0)})
    part = np.partition(diffs, picks)
    median = float(part[mid]) if count % 2 else float((part[mid - 1] + part[mid]) / 2)
    return median, float(part[lo_i]), float(part[hi_i])


def _violations(values: np.ndarray, objective: Objective) -> float | None:
    if objective.op is None or objective.value is None or values.size == 0:
        return None
    good = _OPS[objective.op](values, objective.value)
    return float(1.0 - good.mean())


def _latency_check(
    slo: SLO, baseline: CanarySample, canary: CanarySample, alpha: float, min_latency: int
) -> CheckResult:
    b, c = baseline.latency, canary.latency
    period_h = slo.time_window.duration.nominal_seconds() / 3600
    budget = tuple(
        _terms(o, _violations(b, o), _violations(c, o), period_h)
        for o in slo.objectives
        if o.value is not None
    )

    def arm(v: np.ndarray) -> dict[str, Any]:
        if v.size == 0:
            return {"count": 0}
        return {"count": int(v.size), "median": float(np.median(v)), "p99": float(np.quantile(v, 0.99))}

    if min(b.size, c.size) < min_latency:
        return CheckResult(
            "latency",
            INCONCLUSIVE,
            None,
            None,
            f"too few latencies: {min(b.size, c.size)} in the smaller arm, {min_latency} needed",
            arm(b),
            arm(c),
            {},
            budget,
        )
    p = float(stats.mannwhitneyu(c, b, alternative="greater").pvalue)
    shift, lower, upper = hodges_lehmann(c, b, alpha)
    verdict = FAIL if p < alpha else PASS
    effect = {
        "hodges_lehmann_shift": shift,
        "shift_lower": lower,
        "shift_upper": upper,
        "confidence": 1 - alpha,
    }
    detail = (
        f"canary latency shift {shift:.4g} [{lower:.4g}, {upper:.4g}]: Mann-Whitney one-sided p = {p:.3g} "
        f"{'<' if verdict == FAIL else '>='} alpha {alpha:g}"
    )
    return CheckResult("latency", verdict, "mann_whitney_u", p, detail, arm(b), arm(c), effect, budget)


def analyse(
    slo: SLO,
    baseline: CanarySample,
    canary: CanarySample,
    alpha: float = DEFAULT_ALPHA,
    min_requests: int | None = None,
    min_latency: int = MIN_LATENCY_SAMPLES,
) -> CanaryReport:
    """The canary verdict for one SLO; raises CanaryInputError when the arms share no kind of data."""
    if not 0 < alpha < 1:
        raise CanaryInputError(f"--alpha: must be between 0 and 1 (got {alpha!r})")
    checks = []
    if baseline.total is not None and canary.total is not None:
        needed = (
            min_requests if min_requests is not None else min_requests_for([o.target for o in slo.objectives])
        )
        checks.append(_error_check(slo, baseline, canary, alpha, needed))
    if baseline.latency.size and canary.latency.size:
        checks.append(_latency_check(slo, baseline, canary, alpha, min_latency))
    if not checks:
        raise CanaryInputError(
            "baseline and canary share no data to compare: give good/total counts or latencies in both"
        )
    verdicts = {c.verdict for c in checks}
    verdict = FAIL if FAIL in verdicts else INCONCLUSIVE if INCONCLUSIVE in verdicts else PASS
    return CanaryReport(slo.name, alpha, verdict, tuple(checks))
