"""Multi-window, multi-burn-rate alert rules (Google SRE workbook), scaled to the SLO's period.

A rule's threshold is the burn rate that spends `budget_fraction` of a period-`P` budget within the long
window: `fraction · P / long_window`. For P = 30 d this gives the workbook's 14.4, 6, 3 and 1.
"""

from dataclasses import dataclass

import numpy as np

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
