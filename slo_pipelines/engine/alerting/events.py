"""Collapse per-step alert flags from the time-series mode into alert events with start and end."""

from collections.abc import Sequence

import numpy as np
import pandas as pd

from slo_pipelines.catalog.models import BurnRateCondition
from slo_pipelines.engine.alerting.rules import ALERT_RULES, window_label


def alert_events(
    slo: str,
    objective: str,
    period_seconds: int,
    series: pd.DataFrame,
    conditions: Sequence[BurnRateCondition] = (),
) -> pd.DataFrame:
    """One row per contiguous firing run; `ended_at` is null when it still fires at the last step.

    The default pairs give their two windows; an AlertPolicy condition (`conditions`, the SLO's
    `policy_alerts`, flagged in `policy_alert_<i>`) gives its lookback as both windows."""
    rows = []
    ats = series["at"].to_numpy(dtype=np.int64)
    flagged: list[tuple[str, str, str, float, np.ndarray]] = [
        (
            rule.severity,
            rule.long_window,
            rule.short_window,
            rule.threshold(period_seconds),
            series[f"alert_{rule.severity}_{rule.long_window}_{rule.short_window}"].to_numpy(dtype=bool),
        )
        for rule in ALERT_RULES
    ]
    for i, c in enumerate(conditions):
        lookback = window_label(c.lookback_seconds)
        flags = series[f"policy_alert_{i}"].to_numpy(dtype=bool)
        flagged.append((c.severity, lookback, lookback, c.threshold, flags))
    for severity, long_window, short_window, threshold, flags in flagged:
        if not flags.any():
            continue
        edges = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
        for s, e in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
            rows.append(
                {
                    "slo": slo,
                    "objective": objective,
                    "severity": severity,
                    "long_window": long_window,
                    "short_window": short_window,
                    "threshold": threshold,
                    "started_at": int(ats[s]),
                    "ended_at": int(ats[e]) if e < len(ats) else None,
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "slo",
            "objective",
            "severity",
            "long_window",
            "short_window",
            "threshold",
            "started_at",
            "ended_at",
        ],
    )
