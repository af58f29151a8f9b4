"""Exact per-bucket increases of Prometheus counters from their raw samples (DESIGN.md §3 "Counters").

`increase()` in PromQL extrapolates to the edges of its range and so never equals the count of events
that really happened; SLO budgets need that count. Here each pair of consecutive samples of one series
contributes `later - earlier` (or `later` alone after a counter reset, when the value dropped) to the
bucket holding the instant just before the later sample. Sums over any span of buckets therefore equal
the true increase of the counter, whatever the scrape interval, restarts or series churn.

A series with no sample in the hour before its first sample in the range is new (a new pod, an error
code seen for the first time): it starts from 0, so its first value counts. Series identity compares
`le` numerically, so a histogram bucket relabelled from `le="1"` to `le="1.0"` stays one series.
"""

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from slo_pipelines.engine.common.timeutil import format_instant

INCREASE_COLUMNS = ("start", "increase", "pairs")
# DESIGN.md §3 "Counters": a series silent for this long before its first sample in the range is new.
NEW_SERIES_SECONDS = 3600
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
class NewSeries:
    """A series counted from 0: its first sample in the range, credited whole to `bucket`."""

    series: str  # CounterSeries.describe()
    timestamp_ms: int
    first_value: float
    bucket: int  # epoch s of the bucket credited with the first value

    def to_json(self) -> dict[str, object]:
        return {
            "series": self.series,
            "first_sample": format_instant(self.timestamp_ms // 1000),
            "first_value": self.first_value,
        }


@dataclass(frozen=True)
class BucketIncreases:
    """Per-bucket sums (`start`, `increase`, `pairs` = sample pairs credited), quarantined buckets and
    the series counted from 0 because they are new."""

    increases: pd.DataFrame
    quarantined: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(QUARANTINE_COLUMNS)))
    new_series: tuple[NewSeries, ...] = ()


def canonical_le(text: str) -> str:
    """`le` as a number (`1`, `1.0` and `1e0` are one boundary; `+Inf` and `inf` too); else as given."""
    try:
        bound = float(text)
    except ValueError:
        return text
    return "+Inf" if bound == math.inf else repr(bound)


def series_identity(labels: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """The labels that make a series one series, with `le` compared numerically."""
    return tuple(sorted((k, canonical_le(v) if k == "le" else v) for k, v in labels.items()))


def merge_same_series(series: Iterable[CounterSeries]) -> list[CounterSeries]:
    """One series per identity: samples of `le="1"` and of `le="1.0"` are joined in time order (at
    a timestamp both carry, the later-read series wins), labelled as the series read last."""
    groups: dict[tuple[tuple[str, str], ...], list[CounterSeries]] = {}
    for s in series:
        groups.setdefault(series_identity(s.labels), []).append(s)
    out = []
    for members in groups.values():
        if len(members) == 1:
            out.append(members[0])
            continue
        ts = np.concatenate([np.asarray(m.timestamps_ms, dtype=np.int64) for m in members])
        vs = np.concatenate([np.asarray(m.values, dtype=np.float64) for m in members])
        order = np.argsort(ts, kind="stable")
        ts, vs = ts[order], vs[order]
        last = np.append(ts[1:] != ts[:-1], True)
        out.append(CounterSeries(dict(members[-1].labels), ts[last], vs[last]))
    return out


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


def _first_in_range(ts: np.ndarray, start: int, end: int, new_series_seconds: int) -> int | None:
    """Index of a new series' first sample crediting `[start, end)`, or None when it is not new."""
    i0 = int(np.searchsorted(ts, np.int64(start) * 1000, side="right"))
    if i0 >= ts.size or ts[i0] > np.int64(end) * 1000:
        return None
    if i0 > 0 and ts[i0 - 1] >= ts[i0] - np.int64(new_series_seconds) * 1000:
        return None
    return i0


def bucket_increases(
    series: Iterable[CounterSeries],
    start: int,
    end: int,
    bucket_seconds: int,
    new_series_seconds: int = NEW_SERIES_SECONDS,
) -> BucketIncreases:
    """Sum of every series' increases per bucket whose start lies in `[start, end)`.

    A series' first sample is its baseline, so callers read from at least `new_series_seconds` before
    `start`. A series with no sample in the `new_series_seconds` before its first sample in the range
    is new: it starts from 0, its first value credited to the bucket holding the instant just before
    that sample, and it is listed in `new_series`. Series are first merged by identity (`le` compared
    numerically). A bucket with no credited pair has no row (a scrape gap is not zero traffic). A NaN
    sample is skipped, so the pair around it spans the gap like a missed scrape, and the bucket it would
    have credited is quarantined with the series and time named, since nobody can say what happened
    inside it.
    """
    starts: list[np.ndarray] = []
    amounts: list[np.ndarray] = []
    bad_starts: list[int] = []
    bad_reasons: list[str] = []
    new: list[NewSeries] = []
    for s in merge_same_series(series):
        ts = np.asarray(s.timestamps_ms, dtype=np.int64)
        vs = np.asarray(s.values, dtype=np.float64)
        nan = np.isnan(vs)
        if nan.any():
            for t, b in zip(ts[nan], credited_bucket(ts[nan], bucket_seconds), strict=True):
                if start <= b < end:
                    bad_starts.append(int(b))
                    bad_reasons.append(f"NaN sample in series {s.describe()} at {t / 1000:g}")
            ts, vs = ts[~nan], vs[~nan]
        pair_starts = credited_bucket(ts[1:], bucket_seconds)
        pair_amounts = pair_increases(vs)
        i0 = _first_in_range(ts, start, end, new_series_seconds)
        if i0 is not None:
            first_bucket = int(credited_bucket(ts[i0 : i0 + 1], bucket_seconds)[0])
            new.append(NewSeries(s.describe(), int(ts[i0]), float(vs[i0]), first_bucket))
            if i0 == 0:
                pair_starts = np.concatenate([[first_bucket], pair_starts])
                pair_amounts = np.concatenate([[vs[0]], pair_amounts])
            else:
                pair_amounts[i0 - 1] = vs[i0]  # from 0, not from a sample more than an hour older
        if len(pair_amounts) == 0:
            continue
        starts.append(pair_starts)
        amounts.append(pair_amounts)
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
    return BucketIncreases(increases=increases, quarantined=quarantined, new_series=tuple(new))
