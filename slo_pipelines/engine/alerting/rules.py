"""Multi-window, multi-burn-rate alert rules (Google SRE workbook), scaled to the SLO's period.

A rule's threshold is the burn rate that spends `budget_fraction` of a period-`P` budget within the long
window: `fraction · P / long_window`. For P = 30 d this gives the workbook's 14.4, 6, 3 and 1.
"""

import re
from dataclasses import dataclass

import numpy as np

from slo_pipelines.catalog.models import SLO, BurnRateCondition

LOOKBACKS: dict[str, int] = {
    "5m": 300,
    "30m": 1800,
    "1h": 3600,
    "2h": 7200,
    "6h": 21600,
    "1d": 86400,
    "3d": 259200,
}
MAX_LOOKBACK_SECONDS = max(LOOKBACKS.values())


@dataclass(frozen=True)
class AlertRule:
    severity: str
    long_window: str
    short_window: str
    budget_fraction: float

    def threshold(self, period_seconds: int) -> float:
        return self.budget_fraction * period_seconds / LOOKBACKS[self.long_window]


ALERT_RULES: tuple[AlertRule, ...] = (
    AlertRule("page", "1h", "5m", 0.02),
    AlertRule("page", "6h", "30m", 0.05),
    AlertRule("ticket", "1d", "2h", 0.10),
    AlertRule("ticket", "3d", "6h", 0.10),
)


def firing(burn: dict[str, np.ndarray], rule: AlertRule, period_seconds: int) -> np.ndarray:
    """Both windows strictly above the threshold; a null burn rate (NaN) never fires."""
    thr = rule.threshold(period_seconds)
    with np.errstate(invalid="ignore"):
        return np.asarray((burn[rule.long_window] > thr) & (burn[rule.short_window] > thr))


_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def window_label(seconds: int) -> str:
    """`300` → `5m`, `3600` → `1h`: the largest whole unit, as the lookback labels above are spelt."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def window_seconds(label: str) -> int:
    """Inverse of `window_label` (also `1w`); raises ValueError on anything else."""
    match = re.fullmatch(r"([0-9]+)([smhdw])", label)
    if match is None:
        raise ValueError(f"not a window such as 5m, 1h or 3d (got {label!r})")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def max_lookback_seconds(slo: SLO) -> int:
    """How far before an instant an evaluation of `slo` reads: the longest default lookback, or a
    policy condition's lookback plus its `alertAfter`, whichever is longer."""
    return max(
        [MAX_LOOKBACK_SECONDS, *(c.lookback_seconds + c.alert_after_seconds for c in slo.policy_alerts)]
    )


def compare(burn: np.ndarray, condition: BurnRateCondition) -> np.ndarray:
    """`burn <op> threshold` per OpenSLO's `op`; a null burn rate (NaN) never fires."""
    thr = condition.threshold
    with np.errstate(invalid="ignore"):
        if condition.op == "gt":
            out = burn > thr
        elif condition.op == "gte":
            out = burn >= thr
        elif condition.op == "lt":
            out = burn < thr
        else:
            out = burn <= thr
    return np.asarray(out & ~np.isnan(burn))
