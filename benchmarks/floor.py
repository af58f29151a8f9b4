"""The pure-numpy floor: the engine's Occurrences arithmetic with nothing but prefix sums and slices.

Every instant is a step of a regular minute grid, so each window sum is a difference of two shifted
slices of a prefix sum (no gathers, no DataFrame). This is the least work any implementation can do
for window SLI, remaining budget, seven burn rates, four alert pairs and a status code per minute.
"""

from dataclasses import dataclass

import numpy as np

from slo_pipelines.engine.alerting.rules import ALERT_RULES, LOOKBACKS

STATUS_OK, STATUS_WARNING, STATUS_BREACH, STATUS_NO_DATA = 0, 1, 2, 3


@dataclass
class FloorSeries:
    """Per-instant results; instant k is `first_at + k·bucket_seconds`."""

    sli: np.ndarray
    remaining_ratio: np.ndarray
    burn: dict[str, np.ndarray]
    alerts: dict[str, np.ndarray]
    status: np.ndarray


def _prefix(x: np.ndarray) -> np.ndarray:
    out = np.zeros(x.size + 1)
    np.cumsum(x, out=out[1:])
    return out


def _window(p: np.ndarray, lead: int, span: int, steps: int) -> np.ndarray:
    """Sums over the `span` buckets before each instant; instant k ends at grid index `lead + k`."""
    return p[lead : lead + steps] - p[lead - span : lead - span + steps]


def floor_series(
    starts: np.ndarray,
    good: np.ndarray,
    total: np.ndarray,
    first_at: int,
    last_at: int,
    window_seconds: int,
    target: float,
    bucket_seconds: int = 60,
    warning_threshold: float = 0.25,
) -> FloorSeries:
    lead = max(window_seconds, max(LOOKBACKS.values())) // bucket_seconds
    origin = first_at - lead * bucket_seconds
    steps = (last_at - first_at) // bucket_seconds + 1
    n = lead + steps
    idx = (starts - origin) // bucket_seconds
    g = np.zeros(n)
    t = np.zeros(n)
    g[idx] = good
    t[idx] = total
    p_good, p_total, p_bad = _prefix(g), _prefix(t), _prefix(t - g)
    miss = 1.0 - target

    w = window_seconds // bucket_seconds
    w_good, w_total, w_bad = (_window(p, lead, w, steps) for p in (p_good, p_total, p_bad))
    has = w_total > 0
    safe = np.where(has, w_total, 1.0)
    sli = np.where(has, w_good / safe, np.nan)
    remaining = np.where(has, 1.0 - w_bad / (miss * safe), np.nan)

    burn: dict[str, np.ndarray] = {}
    for label, seconds in LOOKBACKS.items():
        span = seconds // bucket_seconds
        l_total = _window(p_total, lead, span, steps)
        l_bad = _window(p_bad, lead, span, steps)
        l_has = l_total > 0
        burn[label] = np.where(l_has, l_bad / np.where(l_has, l_total, 1.0), np.nan) / miss

    alerts: dict[str, np.ndarray] = {}
    with np.errstate(invalid="ignore"):
        for rule in ALERT_RULES:
            thr = rule.threshold(window_seconds)
            key = f"alert_{rule.severity}_{rule.long_window}_{rule.short_window}"
            alerts[key] = (burn[rule.long_window] > thr) & (burn[rule.short_window] > thr)
        status = np.full(steps, STATUS_OK, dtype=np.int8)
        status[remaining < warning_threshold] = STATUS_WARNING
        status[remaining < 0] = STATUS_BREACH
    status[~has] = STATUS_NO_DATA
    return FloorSeries(sli, remaining, burn, alerts, status)
