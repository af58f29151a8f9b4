"""Collapse per-step alert flags from the time-series mode into alert events with start and end."""

import numpy as np
import pandas as pd

from slo_pipelines.engine.alerting.rules import ALERT_RULES


def alert_events(slo: str, objective: str, period_seconds: int, series: pd.DataFrame) -> pd.DataFrame:
    """One row per contiguous firing run; `ended_at` is null when it still fires at the last step."""
    rows = []
    ats = series["at"].to_numpy(dtype=np.int64)
    for rule in ALERT_RULES:
        flags = series[f"alert_{rule.severity}_{rule.long_window}_{rule.short_window}"].to_numpy(dtype=bool)
        if not flags.any():
            continue
        edges = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
        for s, e in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
            rows.append(
                {
                    "slo": slo,
                    "objective": objective,
                    "severity": rule.severity,
                    "long_window": rule.long_window,
                    "short_window": rule.short_window,
                    "threshold": rule.threshold(period_seconds),
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
