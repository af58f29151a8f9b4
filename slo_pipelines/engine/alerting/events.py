"""Collapse per-step alert flags from the time-series mode into alert events with start and end."""

from collections.abc import Mapping, Sequence
from typing import Any

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


ALERT_KEY = ["slo", "objective", "severity", "long_window"]


def join_stored_alerts(events: pd.DataFrame, stored: pd.DataFrame, start: int, end: int) -> pd.DataFrame:
    """Events replayed over the instants `[start, end]`, joined to the alerts already stored, so
    re-running a range that cuts through a firing alert recognises the same alert.

    - An event firing at `start` continues a stored alert of the same (slo, objective, severity,
      long_window) that began before `start` and had not ended before `start`: it keeps that alert's
      `started_at` (its identity, and its notification dedup key), so it is neither duplicated nor
      notified again.
    - An event still firing at `end` (`ended_at` null) keeps the `ended_at` a stored copy of the same
      alert has beyond `end`: the run of a later range saw it end, this range cannot. When that later
      range ran first, it stored the alert as starting at `end`; the event takes that row's end, and
      `replace_alert_events` (which replaces the rows starting in `[start, end]`) drops the stand-in.

    `stored` has the `alert_events` columns (`ended_at` nullable). Returns a frame of `events`' shape.
    """
    if events.empty or stored.empty:
        return events

    def key(row: Mapping[Any, Any]) -> tuple[str, ...]:
        return tuple(str(row[k]) for k in ALERT_KEY)

    earlier: dict[tuple[str, ...], int] = {}
    later: dict[tuple[tuple[str, ...], int], int] = {}
    continued: dict[tuple[str, ...], int | None] = {}
    for row in stored.to_dict(orient="records"):
        began, ended = int(row["started_at"]), row["ended_at"]
        ended = None if pd.isna(ended) else int(ended)
        if began < start and (ended is None or ended >= start):
            earlier[key(row)] = began
        if ended is not None and ended > end:
            later[(key(row), began)] = ended
        if began == end:
            continued[key(row)] = ended
    rows = events.to_dict(orient="records")
    for row in rows:
        if int(row["started_at"]) == start and key(row) in earlier:
            row["started_at"] = earlier[key(row)]
        if pd.isna(row["ended_at"]):
            own = (key(row), int(row["started_at"]))
            row["ended_at"] = later[own] if own in later else continued.get(key(row))
    return pd.DataFrame(rows, columns=events.columns)
