"""The naive pandas implementation: time-based `.rolling()` sums on a DatetimeIndex, one SLO at a time.

Rolling windows in pandas are closed on the right, so the value at the row of bucket start `s` covers
starts in `(s − L, s]`, which is the engine's window `[at − L, at)` for `at = s + bucket_seconds`.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from slo_pipelines.engine.alerting.rules import ALERT_RULES, LOOKBACKS


@dataclass
class NaiveSeries:
    """Per-row results; row k is the instant `starts[k] + bucket_seconds`."""

    sli: pd.Series
    remaining_ratio: pd.Series
    burn: dict[str, pd.Series]
    alerts: dict[str, pd.Series]
    status: pd.Series


def naive_series(
    starts: np.ndarray,
    good: np.ndarray,
    total: np.ndarray,
    window_seconds: int,
    target: float,
    warning_threshold: float = 0.25,
) -> NaiveSeries:
    index = pd.to_datetime(starts, unit="s", utc=True)
    df = pd.DataFrame({"good": good, "total": total, "bad": total - good}, index=index)
    miss = 1.0 - target
    w = df.rolling(pd.Timedelta(seconds=window_seconds)).sum()
    total_w = w["total"].where(w["total"] > 0)
    sli = w["good"] / total_w
    remaining = 1.0 - w["bad"] / (miss * total_w)
    burn: dict[str, pd.Series] = {}
    for label, seconds in LOOKBACKS.items():
        r = df[["bad", "total"]].rolling(pd.Timedelta(seconds=seconds)).sum()
        burn[label] = r["bad"] / r["total"].where(r["total"] > 0) / miss
    alerts: dict[str, pd.Series] = {}
    for rule in ALERT_RULES:
        thr = rule.threshold(window_seconds)
        key = f"alert_{rule.severity}_{rule.long_window}_{rule.short_window}"
        alerts[key] = (burn[rule.long_window] > thr) & (burn[rule.short_window] > thr)
    status = pd.Series(
        np.select(
            [sli.isna(), remaining < 0, remaining < warning_threshold], ["no_data", "breach", "warning"], "ok"
        ),
        index=index,
    )
    return NaiveSeries(sli, remaining, burn, alerts, status)
