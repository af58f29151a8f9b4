"""Per-minute up/down observations of a third-party service, and their conversion to SLI buckets.

Services without metrics (a payment provider, a SaaS dependency) still publish whether they are up.
Each observed minute becomes one event: good = 1 when up, total = 1. A minute without a verdict
(under maintenance, or never observed) produces no bucket at all, so it is "no data" downstream,
never silently good.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

MINUTE = 60


@dataclass(frozen=True)
class StatusObservation:
    """The state of a service during `[minute, minute + 60)`; `up` is None when there is no verdict."""

    minute: int
    up: bool | None
    status: str


def observed_minutes(since: int, until: int, state_since: float, observed_at: float) -> range:
    """Minute starts in `[since, until)` a single status reading can vouch for.

    A reading at `observed_at` of a state unchanged since `state_since` covers the whole minutes from
    the first minute starting at or after `state_since` to the last minute ending by `observed_at`;
    the minute in which the state changed is mixed and claimed by nobody.
    """
    first = max(math.ceil(max(since, state_since) / MINUTE) * MINUTE, 0)
    end = min(math.floor(observed_at / MINUTE) * MINUTE, math.ceil(until / MINUTE) * MINUTE)
    return range(first, max(first, end), MINUTE)


def status_buckets(observations: Iterable[StatusObservation], slo: str) -> pd.DataFrame:
    """Samples-format buckets (slo, start, good, total); the last observation of a minute wins."""
    latest: dict[int, bool] = {}
    for obs in observations:
        if obs.minute % MINUTE:
            raise ValueError(f"observation minute {obs.minute} is not aligned to a minute")
        if obs.up is None:
            latest.pop(obs.minute, None)
        else:
            latest[obs.minute] = obs.up
    starts = sorted(latest)
    return pd.DataFrame(
        {
            "slo": pd.Series([slo] * len(starts), dtype="object"),
            "start": pd.Series(starts, dtype="int64"),
            "good": pd.Series([1.0 if latest[s] else 0.0 for s in starts], dtype="float64"),
            "total": pd.Series([1.0] * len(starts), dtype="float64"),
        }
    )
