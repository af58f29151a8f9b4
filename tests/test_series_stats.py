"""Per-series collection consistency: resets, churn and region coverage from hand-made counter series,
checked against counts known by construction and against a slow per-instant reference."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slo_pipelines.engine.sli.counters import CounterSeries
from slo_pipelines.engine.sli.series_stats import (
    SERIES_STATS_COLUMNS,
    SeriesStatsOptions,
    combine_series_stats,
    concurrent_series,
    series_stats,
)
from slo_pipelines.quality.series_consistency import (
    RULE_NAMES,
    SeriesConsistencyThresholds,
    audit_series_consistency,
)

D0 = 1_793_491_200  # 2026-11-01T00:00:00Z
DAY = 86400
B = 60


def counter(
    labels: dict[str, str], times: list[int] | np.ndarray, values: list[float] | np.ndarray
) -> CounterSeries:
    return CounterSeries(
        labels, np.asarray(times, dtype=np.int64) * 1000, np.asarray(values, dtype=np.float64)
    )


def steady(
    labels: dict[str, str], first: int, last: int, every: int = 15, step: float = 2.0
) -> CounterSeries:
    times = np.arange(first, last + 1, every)
    return counter(labels, times, np.arange(len(times)) * step)


def test_resets_are_counted_per_series_and_once_per_restarted_instance() -> None:
    times = np.arange(D0 - 300, D0 + 2 * DAY + 1, 60)
    values = np.arange(len(times), dtype=np.float64) * 5
    restart = np.searchsorted(times, D0 + 3600 + 30)  # first scrape after 01:00:30
    day2_restart = np.searchsorted(times, D0 + DAY + 7200)
    before_start = np.searchsorted(times, D0 - 120)  # inside the baseline read: not this range's reset
    a = values.copy()
    a[restart:] -= a[restart] - 1
    a[day2_restart:] -= a[day2_restart] - 2
    a_err = values.copy() * 0.1
    a_err[restart:] -= a_err[restart]
    b = values.copy()
    b[before_start:] -= b[before_start]
    b[restart:] -= b[restart] - 3  # instance b restarts in the same scrape as a: a second restart
    series = [
        counter({"__name__": "req_total", "instance": "a", "code": "200"}, times, a),
        counter({"__name__": "req_total", "instance": "a", "code": "500"}, times, a_err),
        counter({"__name__": "req_total", "instance": "b", "code": "200"}, times, b),
    ]
    stats = series_stats("s", series, D0, D0 + 2 * DAY, B, read_start=D0 - 300)
    assert list(stats.columns) == SERIES_STATS_COLUMNS
    assert list(stats["day"]) == ["2026-11-01", "2026-11-02"]
    day1, day2 = stats.iloc[0], stats.iloc[1]
    assert day1["resets"] == 3 and day1["restarts"] == 2
    assert day1["reset_instances"] == ["a", "b"]
    assert day1["reset_series"] == [
        'req_total{code="200",instance="a"}',
        'req_total{code="200",instance="b"}',
        'req_total{code="500",instance="a"}',
    ]
    assert day2["resets"] == 1 and day2["restarts"] == 1 and day2["reset_instances"] == ["a"]
    # no churn: every series reports the whole time
    assert (stats["series_started"] == 0).all() and (stats["series_ended"] == 0).all()
    assert (stats["max_concurrent"] == 3).all() and (stats["min_concurrent"] == 3).all()
    assert stats["region_label"].isna().all() and stats["region_gap_minutes"].isna().all()


def test_churn_starts_ends_and_concurrency() -> None:
    end = D0 + 4 * 3600
    series = [
        steady({"instance": "base"}, D0 - 290, end),
        steady({"instance": "scaled-in"}, D0 - 200, D0 + 3600),  # gone: stale from 01:05
        steady({"instance": "scaled-out"}, D0 + 5400, end),  # new at 01:30
        # flaps: silent for 10 minutes, so it ends (at 02:05) and starts again (at 02:10)
        counter(
            {"instance": "flaky"},
            [*range(D0 - 100, D0 + 7200 + 1, 30), *range(D0 + 7800, end + 1, 30)],
            np.arange(len(range(D0 - 100, D0 + 7201, 30)) + len(range(D0 + 7800, end + 1, 30))),
        ),
        # first sample a minute into the range, but reading began only 2 minutes before the range:
        # nobody can say it was silent for 5 minutes before, so it is not a start
        steady({"instance": "unknown-past"}, D0 + 60, end),
        # silent for exactly the staleness window: a query at any instant still sees a sample
        counter(
            {"instance": "slow"},
            [*range(D0 - 300, D0 + 3601, 60), *range(D0 + 3900, end + 1, 60)],
            np.arange(len(range(D0 - 300, D0 + 3601, 60)) + len(range(D0 + 3900, end + 1, 60))),
        ),
        # last sample 2 minutes before the end: it may still be alive, so it is not an end
        steady({"instance": "unknown-future"}, D0 - 100, end - 120),
    ]
    stats = series_stats("s", series, D0, end, B, read_start=D0 - 120)
    row = stats.iloc[0]
    assert row["series"] == 7
    assert row["series_started"] == 2 and row["started_series"] == [
        '{instance="flaky"}',
        '{instance="scaled-out"}',
    ]
    assert row["series_ended"] == 2 and row["ended_series"] == [
        '{instance="flaky"}',
        '{instance="scaled-in"}',
    ]
    assert row["churn_ratio"] == pytest.approx(4 / 7)
    # at 00:00 unknown-past has no sample yet; 01:05 .. 01:30 loses scaled-in, and flaky is away
    # between 02:05 and 02:10, while scaled-out is there
    assert row["max_concurrent"] == 6 and row["min_concurrent"] == 5
    assert row["observed_seconds"] == 4 * 3600


def _two_region_series(eu_last: int, us_first: int, end: int, standby_flat: bool) -> list[CounterSeries]:
    eu = steady({"instance": "eu-1", "region": "eu"}, D0 - 300, eu_last, every=30)
    us_times = np.arange(D0 - 300, end + 1, 30)
    serving = us_times > us_first
    us_values = np.cumsum(np.where(serving, 3.0, 0.0 if standby_flat else 1.0))
    us = counter({"instance": "us-1", "region": "us"}, us_times, us_values)
    return [eu, us]


def test_region_gap_is_minutes_without_data_from_any_region() -> None:
    end = D0 + 3 * 3600
    eu = steady({"instance": "eu-1", "region": "eu"}, D0 - 300, D0 + 3600, every=30)
    us = steady({"instance": "us-1", "region": "us"}, D0 + 3600 + 600, end, every=30)
    stats = series_stats("s", [eu, us], D0, end, B, read_start=D0 - 300)
    row = stats.iloc[0]
    assert row["regions"] == ["eu", "us"] and row["region_label"] == "region"
    # eu's last pair (sample at 01:00:00) credits 00:59; us' first sample at 01:10:00 is a baseline,
    # its next (01:10:30) credits 01:10: 01:00 .. 01:10 has no data
    assert row["region_gaps"] == [["2026-11-01T01:00:00Z", "2026-11-01T01:10:00Z"]]
    assert row["region_gap_minutes"] == 10.0
    assert row["region_overlap_minutes"] == 0.0 and row["region_overlaps"] == []
    assert row["failovers"] == [
        {"at": "2026-11-01T01:10:00Z", "from": "eu", "to": "us", "handover_seconds": 600}
    ]


def test_overlap_counts_serving_regions_not_a_flat_standby() -> None:
    end = D0 + 2 * 3600
    # eu serves until 01:20, us serves from 01:00: twenty minutes of both
    split = _two_region_series(D0 + 4800, D0 + 3600, end, standby_flat=True)
    row = series_stats("s", split, D0, end, B, read_start=D0 - 300).iloc[0]
    assert row["region_overlap_minutes"] == 20.0
    assert row["region_overlaps"] == [["2026-11-01T01:00:00Z", "2026-11-01T01:20:00Z"]]
    assert row["region_gap_minutes"] == 0.0
    assert [f["at"] for f in row["failovers"]] == ["2026-11-01T01:20:00Z"]
    assert row["failovers"][0]["handover_seconds"] == 1200
    # the same hand-over with a clean cut: us' standby counters are flat (scraped, but serving nothing)
    clean = _two_region_series(D0 + 3600, D0 + 3600, end, standby_flat=True)
    row = series_stats("s", clean, D0, end, B, read_start=D0 - 300).iloc[0]
    assert row["region_overlap_minutes"] == 0.0 and row["region_gap_minutes"] == 0.0
    assert row["failovers"] == [
        {"at": "2026-11-01T01:00:00Z", "from": "eu", "to": "us", "handover_seconds": 0}
    ]
    # a standby that keeps serving a trickle overlaps the whole time eu serves, and never fails over
    trickle = _two_region_series(D0 + 3600, end, end, standby_flat=False)
    row = series_stats("s", trickle, D0, end, B, read_start=D0 - 300).iloc[0]
    assert row["region_overlap_minutes"] == 60.0 and row["failovers"] == []


def test_region_label_is_configurable_and_unlabelled_series_cover_nothing() -> None:
    end = D0 + 3600
    zoned = steady({"zone": "z1"}, D0 - 300, D0 + 1800)
    bare = steady({"instance": "x"}, D0 - 300, end)
    options = SeriesStatsOptions(region_label="zone")
    row = series_stats("s", [zoned, bare], D0, end, B, D0 - 300, options).iloc[0]
    assert row["regions"] == ["z1"] and row["region_label"] == "zone"
    assert row["region_gap_minutes"] == 30.0
    default = series_stats("s", [zoned, bare], D0, end, B, D0 - 300).iloc[0]
    assert default["regions"] == [] and math.isnan(default["region_gap_minutes"])


def test_nan_samples_are_skipped_and_no_series_still_gives_each_day() -> None:
    times = np.arange(D0 - 300, D0 + 3601, 60)
    values = np.arange(len(times), dtype=np.float64)
    values[20] = np.nan  # a NaN between two rising samples is no reset
    row = series_stats("s", [counter({"i": "1"}, times, values)], D0, D0 + 3600, B, D0 - 300).iloc[0]
    assert row["resets"] == 0 and row["series"] == 1
    empty = series_stats("s", [], D0, D0 + 2 * DAY, B)
    assert list(empty["series"]) == [0, 0] and list(empty["max_concurrent"]) == [0, 0]
    assert combine_series_stats([empty.iloc[0:0], empty]).equals(empty)
    with pytest.raises(ValueError, match="bucket-aligned"):
        series_stats("s", [], D0 + 30, D0 + 3600, B)


def _present_reference(series: list[CounterSeries], m: int, stale_ms: int) -> int:
    return sum(bool(((s.timestamps_ms > m - stale_ms) & (s.timestamps_ms <= m)).any()) for s in series)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["eu", "us", "ap"]),
            # milliseconds on a 250 ms grid land both exactly on and just off bucket and staleness edges
            st.lists(st.integers(min_value=-2400, max_value=28800), min_size=1, max_size=40, unique=True),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_concurrency_and_region_minutes_match_a_slow_reference(
    raw: list[tuple[str, list[int]]],
) -> None:
    start, end, stale = D0, D0 + 7200, 300
    series = []
    for i, (region, offsets) in enumerate(raw):
        times_ms = np.sort(np.asarray(offsets, dtype=np.int64)) * 250 + D0 * 1000
        values = np.arange(len(times_ms)) * 1.0 + 1
        series.append(CounterSeries({"i": str(i), "region": region}, times_ms, values))
    row = series_stats("s", series, start, end, B, read_start=D0 - 600).iloc[0]
    grid = range(start * 1000, end * 1000, B * 1000)
    counts = [_present_reference(series, m, stale * 1000) for m in grid]
    assert concurrent_series(series, start, end, B).tolist() == counts
    assert row["max_concurrent"] == max(counts) and row["min_concurrent"] == min(counts)
    reported: dict[int, set[str]] = {}
    for s in series:
        for t in s.timestamps_ms[1:]:  # every later sample of a pair credits the bucket before it
            bucket = (int(t) - 1) // 1000 // B * B
            if start <= bucket < end:
                reported.setdefault(bucket, set()).add(s.labels["region"])
    buckets = range(start, end, B)
    assert row["region_gap_minutes"] == sum(1 for k in buckets if k not in reported)
    assert row["region_overlap_minutes"] == sum(1 for k in buckets if len(reported.get(k, ())) >= 2)


def _stats_frame() -> pd.DataFrame:
    end = D0 + 2 * 3600
    crashy = counter(
        {"instance": "c", "region": "eu"},
        np.arange(D0 - 300, end + 1, 60),
        np.tile(np.arange(1, 21, dtype=np.float64), 7)[: len(range(D0 - 300, end + 1, 60))],
    )
    split = _two_region_series(D0 + 4800, D0 + 3600, end, standby_flat=True)
    return combine_series_stats(
        [
            series_stats("crashy", [crashy], D0, end, B, D0 - 300),
            series_stats("split", split, D0, end, B, D0 - 300),
            series_stats("split-ok", split, D0, end, B, D0 - 300),
        ]
    )


def test_audit_names_the_failing_slo_days() -> None:
    stats = _stats_frame()
    by = stats.set_index("slo")
    assert by.loc["crashy", "restarts"] == 6
    thresholds = SeriesConsistencyThresholds(max_restarts_per_day=3, active_passive=frozenset({"split"}))
    findings = {f.name: f for f in audit_series_consistency(stats, thresholds)}
    assert tuple(findings) == RULE_NAMES
    resets = findings["counter_resets"]
    assert not resets.success and resets.unexpected_count == 1
    assert [(s["slo"], s["day"], s["restarts"]) for s in resets.failing_slos] == [("crashy", "2026-11-01", 6)]
    # overlap is judged only for the SLO declared active/passive
    overlap = findings["region_overlap"]
    assert not overlap.success and [s["slo"] for s in overlap.failing_slos] == ["split"]
    assert overlap.failing_slos[0]["region_overlaps"] == [["2026-11-01T01:00:00Z", "2026-11-01T01:20:00Z"]]
    assert findings["region_gaps"].success and findings["series_churn"].success
    lenient = SeriesConsistencyThresholds(
        max_restarts_per_day=10, max_overlap_minutes=30, active_passive=frozenset({"split"})
    )
    assert all(f.success for f in audit_series_consistency(stats, lenient))


def test_audit_of_nothing_passes_and_bad_thresholds_are_refused() -> None:
    findings = audit_series_consistency(combine_series_stats([]))
    assert [f.name for f in findings] == list(RULE_NAMES) and all(f.success for f in findings)
    with pytest.raises(ValueError, match="max_churn_ratio must be >= 0"):
        SeriesConsistencyThresholds(max_churn_ratio=-0.1)
