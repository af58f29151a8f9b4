"""Exact per-bucket increases of Prometheus counters from their raw samples (DESIGN.md §3 "Counters").

`increase()` in PromQL extrapolates to the edges of its range and so never equals the count of events
that really happened; SLO budgets need that count. Here each pair of consecutive samples of one series
contributes `later - earlier` (or `later` alone after a counter reset, when the value dropped) to the
bucket holding the instant just before the later sample. Sums over any span of buckets therefore equal
the true increase of the counter, whatever the scrape interval, restarts or series churn.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

INCREASE_COLUMNS = ("start", "increase", "pairs")
QUARANTINE_COLUMNS = ("start", "reason")


@dataclass(frozen=True)
class CounterSeries:
    """One series' samples in time order: timestamps in integer milliseconds, as Prometheus stores them."""

    labels: Mapping[str, str]
    timestamps_ms: np.ndarray  # int64, strictly increasing
    values: np.ndarray  # float64; NaN where the source reported NaN

    def __post_init__(self) -> None:
        if len(self.timestamps_ms) != len(self.values):
            raise ValueError("timestamps and values differ in length")

    def describe(self) -> str:
        name = self.labels.get("__name__", "")
        rest = ",".join(f'{k}="{v}"' for k, v in sorted(self.labels.items()) if k != "__name__")
        return f"{name}{{{rest}}}"


@dataclass(frozen=True)
class BucketIncreases:
    """Per-bucket sums (`start`, `increase`, `pairs` = sample pairs credited) and quarantined buckets."""

    increases: pd.DataFrame
    quarantined: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(QUARANTINE_COLUMNS)))


def credited_bucket(timestamps_ms: np.ndarray, bucket_seconds: int) -> np.ndarray:
    """Start (epoch s) of the bucket holding the instant 1 ms before each timestamp."""
    if bucket_seconds <= 0:
        raise ValueError(f"bucket_seconds must be positive (got {bucket_seconds})")
    ts = np.asarray(timestamps_ms, dtype=np.int64)
    width = np.int64(bucket_seconds) * 1000
    return np.asarray(((ts - 1) // width) * bucket_seconds, dtype=np.int64)


def pair_increases(values: np.ndarray) -> np.ndarray:
    """Increase from each sample to the next; a drop means the counter restarted from zero."""
    v = np.asarray(values, dtype=np.float64)
    if len(v) < 2:
        return np.empty(0, dtype=np.float64)
    diff = v[1:] - v[:-1]
    return np.where(diff < 0, v[1:], diff)


def bucket_increases(
    series: Iterable[CounterSeries], start: int, end: int, bucket_seconds: int
) -> BucketIncreases:
    """Sum of every series' increases per bucket whose start lies in `[start, end)`.

    Each series' first sample is only its baseline, so callers read from before `start`. A bucket with
    no credited pair has no row (a scrape gap is not zero traffic). A NaN sample is skipped, so the pair
    around it spans the gap like a missed scrape, and the bucket it would have credited is quarantined
    with the series and time named, since nobody can say what happened inside it.
    """
    starts: list[np.ndarray] = []
    amounts: list[np.ndarray] = []
    bad_starts: list[int] = []
    bad_reasons: list[str] = []
    for s in series:
        ts = np.asarray(s.timestamps_ms, dtype=np.int64)
        vs = np.asarray(s.values, dtype=np.float64)
        nan = np.isnan(vs)
        if nan.any():
            for t, b in zip(ts[nan], credited_bucket(ts[nan], bucket_seconds), strict=True):
                if start <= b < end:
                    bad_starts.append(int(b))
                    bad_reasons.append(f"NaN sample in series {s.describe()} at {t / 1000:g}")
            ts, vs = ts[~nan], vs[~nan]
        if len(ts) < 2:
            continue
        starts.append(credited_bucket(ts[1:], bucket_seconds))
        amounts.append(pair_increases(vs))
    if starts:
        frame = pd.DataFrame({"start": np.concatenate(starts), "increase": np.concatenate(amounts)})
        frame = frame[(frame["start"] >= start) & (frame["start"] < end)]
        sums = frame.groupby("start", sort=True)["increase"].agg(["sum", "count"]).reset_index()
        increases = pd.DataFrame(
            {
                "start": sums["start"].to_numpy(dtype=np.int64),
                "increase": sums["sum"].to_numpy(dtype=np.float64),
                "pairs": sums["count"].to_numpy(dtype=np.int64),
            }
        )
    else:
        increases = pd.DataFrame(
            {
                "start": np.empty(0, np.int64),
                "increase": np.empty(0, np.float64),
                "pairs": np.empty(0, np.int64),
            }
        )
    quarantined = (
        pd.DataFrame({"start": np.asarray(bad_starts, dtype=np.int64), "reason": bad_reasons})
        .groupby("start", sort=True)["reason"]
        .agg("; ".join)
        .reset_index()
    )
    quarantined["start"] = quarantined["start"].astype(np.int64)
    return BucketIncreases(increases=increases, quarantined=quarantined)
