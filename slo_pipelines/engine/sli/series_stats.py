"""Per-series collection consistency of an SLO's raw counters, per UTC day.

Bucket sums hide how they were collected: the same numbers can come from one steady series or from a
fleet that restarted, scaled in and out, or failed over between regions. An auditor who trusts a day's
SLI should know which. From the raw counter series an SLO's ingestion read this computes, per UTC day:

- **counter resets**: pairs of consecutive samples whose value dropped (the counter restarted), credited
  to the bucket that pair feeds (DESIGN.md §3 "Counters"). `resets` counts series resets; `restarts`
  counts distinct (instance, bucket) pairs, because one container restart resets every series it
  exposes in the same scrape and an SRE counts that once.
- **series churn**: a series is *reporting* at instant `m` when it has a sample in `(m - stale, m]`,
  which is what Prometheus' own instant queries see (`stale` defaults to its 5-minute lookback). It
  *starts* at the first sample after more than `stale` of silence and *ends* `stale` after its last
  sample before such silence. A start or end is counted only when the samples read prove it (reading
  must reach `stale` before a start and after an end), so the edges of the read range never count as
  churn. `max_concurrent`/`min_concurrent` are over the bucket starts of the day.
- **new series**: filled in by ingestion, which decides which series are new (`counters.py`); each
  is listed with its first sample and first value, since that value is counted as traffic.
- **region coverage**, when series carry the region label: a region *reports* in a bucket when one of
  its series has a sample pair credited to it (the bucket has data from that region), and *serves* in it
  when such a pair shows an increase. `region_gap_minutes`: no region reported (data from nowhere).
  `region_overlap_minutes`: two or more regions served at once, a split brain for an active/passive
  SLO (a warm standby whose flat counters are still scraped is not serving, so it is not an overlap).
  `failovers`: instants where the region serving alone changed, with the handover between them.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from slo_pipelines.engine.common.timeutil import format_instant
from slo_pipelines.engine.sli.counters import CounterSeries, credited_bucket

DAY = 86400
DEFAULT_STALE_SECONDS = 300

SERIES_STATS_COLUMNS = [
    "slo",
    "day",
    "day_start",
    "bucket_seconds",
    "observed_seconds",
    "series",
    "max_concurrent",
    "min_concurrent",
    "series_started",
    "series_ended",
    "started_series",
    "ended_series",
    "churn_ratio",
    "resets",
    "restarts",
    "reset_series",
    "reset_instances",
    "region_label",
    "regions",
    "region_gap_minutes",
    "region_overlap_minutes",
    "region_gaps",
    "region_overlaps",
    "failovers",
    "new_series",  # series counted from 0 (DESIGN.md §3 "Counters"): series, first_sample, first_value
]


@dataclass(frozen=True)
class SeriesStatsOptions:
    """Which labels name a region and an instance, and when a silent series counts as gone."""

    region_label: str = "region"
    instance_label: str = "instance"
    stale_seconds: int = DEFAULT_STALE_SECONDS
    max_listed: int = 20

    def __post_init__(self) -> None:
        if self.stale_seconds <= 0:
            raise ValueError(f"stale_seconds must be positive (got {self.stale_seconds})")
        if not self.region_label:
            raise ValueError("region_label must not be empty")


DEFAULT_SERIES_OPTIONS = SeriesStatsOptions()


def empty_series_stats() -> pd.DataFrame:
    return pd.DataFrame(columns=SERIES_STATS_COLUMNS)


def combine_series_stats(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Several SLOs' stats as one frame (empty frames skipped, so dtypes stay those of real rows)."""
    kept = [f for f in frames if not f.empty]
    return pd.concat(kept, ignore_index=True)[SERIES_STATS_COLUMNS] if kept else empty_series_stats()


@dataclass(frozen=True)
class _Samples:
    """Every series' non-NaN samples concatenated in (series, time) order."""

    names: list[str]
    instances: list[str]
    region_of: np.ndarray  # per series: index into `regions`, -1 when unlabelled
    regions: list[str]
    sid: np.ndarray
    ts: np.ndarray  # ms
    values: np.ndarray


def _samples(
    series: Sequence[CounterSeries], read_start_ms: int, read_end_ms: int, o: SeriesStatsOptions
) -> _Samples:
    unique: dict[tuple[tuple[str, str], ...], CounterSeries] = {}
    for s in series:
        unique.setdefault(tuple(sorted(s.labels.items())), s)
    kept = list(unique.values())
    regions = sorted({s.labels[o.region_label] for s in kept if s.labels.get(o.region_label)})
    index = {r: i for i, r in enumerate(regions)}
    sids, tss, vals = [], [], []
    for i, s in enumerate(kept):
        ts = np.asarray(s.timestamps_ms, dtype=np.int64)
        vs = np.asarray(s.values, dtype=np.float64)
        keep = ~np.isnan(vs) & (ts >= read_start_ms) & (ts <= read_end_ms)
        sids.append(np.full(int(keep.sum()), i, dtype=np.int64))
        tss.append(ts[keep])
        vals.append(vs[keep])
    return _Samples(
        names=[s.describe() for s in kept],
        instances=[s.labels.get(o.instance_label) or s.describe() for s in kept],
        region_of=np.asarray([index.get(s.labels.get(o.region_label, ""), -1) for s in kept], dtype=np.int64),
        regions=regions,
        sid=np.concatenate(sids) if sids else np.zeros(0, np.int64),
        ts=np.concatenate(tss) if tss else np.zeros(0, np.int64),
        values=np.concatenate(vals) if vals else np.zeros(0, np.float64),
    )


def _runs(flags: np.ndarray, breaks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`[first, last]` bucket indices of runs of True in `flags`, also cut where `breaks` is True."""
    f = flags.astype(np.int8)
    edge = np.diff(np.concatenate([[0], f, [0]]))
    cut = flags & breaks
    starts = np.flatnonzero((edge[:-1] == 1) | (cut & np.concatenate([[False], flags[:-1]])))
    ends = np.flatnonzero((edge[1:] == -1) | np.concatenate([cut[1:] & flags[:-1], [False]]))
    return starts, ends


def _listed(values: pd.Series, days: pd.Series, limit: int) -> dict[int, list[str]]:
    """Distinct values per day, sorted, at most `limit` of them."""
    frame = pd.DataFrame({"d": days.to_numpy(dtype=np.int64), "v": values.to_numpy()}).drop_duplicates()
    grouped = frame.sort_values(["d", "v"]).groupby("d")["v"].agg(list)
    return {
        int(d): [str(v) for v in vs[:limit]]
        for d, vs in zip(grouped.index.to_numpy(dtype=np.int64), grouped.tolist(), strict=True)
    }


def _presence_runs(
    sid: np.ndarray, ts: np.ndarray, stale_ms: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First and last sample (ms) and series of each run of samples at most `stale_ms` apart."""
    new_run = np.ones(len(ts), dtype=bool)
    if len(ts) > 1:
        new_run[1:] = (sid[1:] != sid[:-1]) | (np.diff(ts) > stale_ms)
    first_idx = np.flatnonzero(new_run)
    last_idx = np.concatenate([first_idx[1:] - 1, [len(ts) - 1]]) if len(first_idx) else first_idx
    return ts[first_idx], ts[last_idx], sid[first_idx]


def _concurrency(
    run_first: np.ndarray, run_last: np.ndarray, start_ms: int, n_buckets: int, b_ms: int, stale_ms: int
) -> np.ndarray:
    """Series reporting at each bucket start: runs cover the instants `[first, last + stale)`."""
    lo = np.clip(-((start_ms - run_first) // b_ms), 0, n_buckets)  # first bucket start >= first
    hi = np.clip(-((start_ms - run_last - stale_ms) // b_ms), 0, n_buckets)  # first start >= stale end
    delta = np.zeros(n_buckets + 1, dtype=np.int64)
    np.add.at(delta, lo, 1)
    np.add.at(delta, hi, -1)
    return np.cumsum(delta)[:n_buckets]


def concurrent_series(
    series: Sequence[CounterSeries],
    start: int,
    end: int,
    bucket_seconds: int,
    options: SeriesStatsOptions = DEFAULT_SERIES_OPTIONS,
) -> np.ndarray:
    """Series reporting (a sample in `(m - stale, m]`) at each bucket start `m` of `[start, end)`."""
    data = _samples(series, 0, end * 1000, options)
    first, last, _ = _presence_runs(data.sid, data.ts, options.stale_seconds * 1000)
    n = (end - start) // bucket_seconds
    return _concurrency(first, last, start * 1000, n, bucket_seconds * 1000, options.stale_seconds * 1000)


def series_stats(
    slo: str,
    series: Sequence[CounterSeries],
    start: int,
    end: int,
    bucket_seconds: int,
    read_start: int | None = None,
    options: SeriesStatsOptions = DEFAULT_SERIES_OPTIONS,
) -> pd.DataFrame:
    """One row per UTC day meeting `[start, end)` (epoch s, bucket-aligned) for the series of one SLO.

    `read_start` is where reading began (before `start`, for the counters' baselines); samples are
    taken as read up to and including `end`. Rows exist for every day, also without any series.
    """
    b, o = bucket_seconds, options
    if b <= 0 or start % b or end % b or end <= start:
        raise ValueError(f"SLO {slo}: need bucket-aligned start < end (got {start}..{end}, bucket {b}s)")
    read_start = start if read_start is None else min(read_start, start)
    b_ms, stale_ms, start_ms, end_ms = b * 1000, o.stale_seconds * 1000, start * 1000, end * 1000
    data = _samples(series, read_start * 1000, end_ms, o)
    n_buckets = (end - start) // b
    grid = start + np.arange(n_buckets, dtype=np.int64) * b
    grid_day = grid // DAY
    days = np.arange(start // DAY, (end - 1) // DAY + 1, dtype=np.int64)

    # -- sample pairs: resets and per-region data ------------------------------------------------
    sid, ts, vs = data.sid, data.ts, data.values
    same = sid[1:] == sid[:-1]
    later_ts = ts[1:][same]
    pair_sid = sid[1:][same]
    dropped = (vs[1:] < vs[:-1])[same]
    rise = np.where(dropped, vs[1:][same], (vs[1:] - vs[:-1])[same]) > 0
    pair_bucket = credited_bucket(later_ts, b)
    in_range = (pair_bucket >= start) & (pair_bucket < end)
    k_pair = (pair_bucket[in_range] - start) // b

    reset = dropped & in_range
    resets = pd.DataFrame(
        {
            "day": pair_bucket[reset] // DAY,
            "bucket": pair_bucket[reset],
            "series": [data.names[i] for i in pair_sid[reset]],
            "instance": [data.instances[i] for i in pair_sid[reset]],
        }
    )
    reset_count = resets.groupby("day").size()
    restart_count = resets.drop_duplicates(["instance", "bucket"]).groupby("day").size()
    reset_series = _listed(resets["series"], resets["day"], o.max_listed)
    reset_instances = _listed(resets["instance"], resets["day"], o.max_listed)

    # -- runs of presence: churn and concurrency -------------------------------------------------
    run_first, run_last, run_sid = _presence_runs(sid, ts, stale_ms)
    concurrent = _concurrency(run_first, run_last, start_ms, n_buckets, b_ms, stale_ms)
    conc = pd.DataFrame({"day": grid_day, "n": concurrent}).groupby("day")["n"].agg(["max", "min"])

    started = (run_first - stale_ms >= read_start * 1000) & (run_first >= start_ms) & (run_first < end_ms)
    ended_at = run_last + stale_ms
    ended = (ended_at >= start_ms) & (ended_at < end_ms)
    start_days = pd.Series(run_first[started] // 1000 // DAY)
    end_days = pd.Series(ended_at[ended] // 1000 // DAY)
    started_names = _listed(pd.Series([data.names[i] for i in run_sid[started]]), start_days, o.max_listed)
    ended_names = _listed(pd.Series([data.names[i] for i in run_sid[ended]]), end_days, o.max_listed)
    in_window = (ts >= start_ms) & (ts < end_ms)
    seen = pd.DataFrame({"day": ts[in_window] // 1000 // DAY, "sid": sid[in_window]})
    series_per_day = seen.drop_duplicates().groupby("day").size()

    # -- regions -----------------------------------------------------------------------------------
    n_regions = len(data.regions)
    region_rows: dict[int, dict[str, object]] = {}
    if n_regions:
        pair_region = data.region_of[pair_sid[in_range]]
        labelled = pair_region >= 0
        reported = np.zeros((n_buckets, n_regions), dtype=bool)
        served = np.zeros((n_buckets, n_regions), dtype=bool)
        reported[k_pair[labelled], pair_region[labelled]] = True
        serving = labelled & rise[in_range]
        served[k_pair[serving], pair_region[serving]] = True
        gap = np.asarray(~reported.any(axis=1), dtype=bool)
        overlap = np.asarray(served.sum(axis=1) >= 2, dtype=bool)
        day_break = np.concatenate([[True], grid_day[1:] != grid_day[:-1]])
        spans: dict[str, dict[int, list[list[str]]]] = {}
        for kind, mask in (("gap", gap), ("overlap", overlap)):
            firsts, lasts = _runs(mask, day_break)
            spans[kind] = {}
            for f, last in zip(firsts, lasts, strict=True):
                listed = spans[kind].setdefault(int(grid_day[f]), [])
                if len(listed) < o.max_listed:
                    listed.append([format_instant(int(grid[f])), format_instant(int(grid[last]) + b)])
        solo = np.flatnonzero(served.sum(axis=1) == 1)
        who = served[solo].argmax(axis=1)
        change = np.flatnonzero(who[1:] != who[:-1])
        failovers: dict[int, list[dict[str, object]]] = {}
        for c in change:
            before, after = int(solo[c]), int(solo[c + 1])
            failovers.setdefault(int(grid_day[after]), []).append(
                {
                    "at": format_instant(int(grid[after])),
                    "from": data.regions[who[c]],
                    "to": data.regions[who[c + 1]],
                    "handover_seconds": (after - before - 1) * b,
                }
            )
        gap_per_day = np.bincount(grid_day[gap] - days[0], minlength=len(days))
        overlap_per_day = np.bincount(grid_day[overlap] - days[0], minlength=len(days))
        for i, day in enumerate(days):
            d = int(day)
            region_rows[d] = {
                "region_gap_minutes": gap_per_day[i] * b / 60,
                "region_overlap_minutes": overlap_per_day[i] * b / 60,
                "region_gaps": spans["gap"].get(d, []),
                "region_overlaps": spans["overlap"].get(d, []),
                "failovers": failovers.get(d, []),
            }

    rows = []
    for day in days:
        d = int(day)
        day_start = d * DAY
        n_series = int(series_per_day.get(d, 0))
        n_started, n_ended = int((start_days == d).sum()), int((end_days == d).sum())
        region = region_rows.get(d, {})
        rows.append(
            {
                "slo": slo,
                "day": format_instant(day_start)[:10],
                "day_start": day_start,
                "bucket_seconds": b,
                "observed_seconds": min(end, day_start + DAY) - max(start, day_start),
                "series": n_series,
                "max_concurrent": int(conc["max"].get(d, 0)),
                "min_concurrent": int(conc["min"].get(d, 0)),
                "series_started": n_started,
                "series_ended": n_ended,
                "started_series": started_names.get(d, []),
                "ended_series": ended_names.get(d, []),
                "churn_ratio": (n_started + n_ended) / n_series if n_series else 0.0,
                "resets": int(reset_count.get(d, 0)),
                "restarts": int(restart_count.get(d, 0)),
                "reset_series": reset_series.get(d, []),
                "reset_instances": reset_instances.get(d, []),
                "region_label": o.region_label if n_regions else None,
                "regions": list(data.regions),
                "region_gap_minutes": region.get("region_gap_minutes", np.nan),
                "region_overlap_minutes": region.get("region_overlap_minutes", np.nan),
                "region_gaps": region.get("region_gaps", []),
                "region_overlaps": region.get("region_overlaps", []),
                "failovers": region.get("failovers", []),
                "new_series": [],
            }
        )
    return pd.DataFrame(rows, columns=SERIES_STATS_COLUMNS)
