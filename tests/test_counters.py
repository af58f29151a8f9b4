"""Exact per-bucket counter increases, against DESIGN.md §3 examples and a slow reference."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slo_pipelines.engine.sli.counters import (
    CounterSeries,
    bucket_increases,
    canonical_le,
    credited_bucket,
    pair_increases,
)
from slo_pipelines.engine.sli.promql import parse_series_selector, substitute_bucket

T = 1_800_000_000  # a minute boundary (12:00 in these examples)


def _series(points: list[tuple[float, float]], **labels: str) -> CounterSeries:
    return CounterSeries(
        {"__name__": "x_total", **labels},
        np.array([round(t * 1000) for t, _ in points], dtype=np.int64),
        np.array([v for _, v in points], dtype=np.float64),
    )


def _as_dict(frame: object) -> dict[int, float]:
    f = frame.increases  # type: ignore[attr-defined]
    return dict(zip(f["start"].astype(int), f["increase"].astype(float), strict=True))


def test_sample_on_the_boundary_credits_the_bucket_before_it() -> None:
    assert credited_bucket(np.array([(T + 60) * 1000]), 60).tolist() == [T]
    assert credited_bucket(np.array([(T + 67) * 1000]), 60).tolist() == [T + 60]
    assert credited_bucket(np.array([(T + 60) * 1000 + 1]), 60).tolist() == [T + 60]


def test_reset_counts_the_new_value_and_first_sample_is_baseline() -> None:
    s = _series([(T - 10, 100), (T + 20, 110), (T + 50, 3), (T + 80, 9)])
    got = _as_dict(bucket_increases([s], T, T + 120, 60))
    assert got == {T: 13.0, T + 60: 6.0}
    assert pair_increases(np.array([5.0, 2.0, 2.0, 7.0])).tolist() == [2.0, 0.0, 5.0]


def test_scrape_gap_leaves_buckets_without_rows_and_churned_series_are_summed() -> None:
    a = _series([(T - 600, 0), (T + 10, 1), (T + 50, 4), (T + 250, 10)], instance="a")  # gap: 2 buckets
    b = _series([(T - 30, 0), (T + 30, 0), (T + 90, 2)], instance="b")  # disappears
    c = _series([(T - 3400, 40), (T + 150, 50), (T + 210, 55)], instance="c")  # seen 59 min before
    got = _as_dict(bucket_increases([a, b, c], T, T + 300, 60))
    assert got == {T: 4.0, T + 60: 2.0, T + 120: 10.0, T + 180: 5.0, T + 240: 6.0}
    assert bucket_increases([a, b, c], T, T + 300, 60).new_series == ()


def test_new_series_start_from_zero_and_are_listed() -> None:
    """No sample in the hour before its first sample in the range: its first value is traffic."""
    a = _series([(T + 10, 1), (T + 50, 4)], code="200")
    c = _series([(T - 3601, 40), (T + 150, 50), (T + 210, 55)], code="500")  # silent for over an hour
    found = bucket_increases([a, c], T, T + 300, 60)
    assert _as_dict(found) == {T: 4.0, T + 120: 50.0, T + 180: 5.0}
    assert [(n.series, n.first_value, n.bucket) for n in found.new_series] == [
        ('x_total{code="200"}', 1.0, T),
        ('x_total{code="500"}', 50.0, T + 120),
    ]
    assert found.new_series[1].to_json()["first_sample"] == "2027-01-15T08:02:30Z"


def test_le_is_compared_numerically_for_series_identity() -> None:
    """`le="1"` relabelled `le="1.0"` mid-range is one series: the increase across the switch counts."""
    old = _series([(T - 60, 100), (T + 30, 110)], le="1")
    new = _series([(T + 90, 125), (T + 150, 130)], le="1.0")
    found = bucket_increases([old, new], T, T + 180, 60)
    assert _as_dict(found) == {T: 10.0, T + 60: 15.0, T + 120: 5.0}
    assert found.new_series == ()
    assert canonical_le("1") == canonical_le("1.0") == canonical_le("1e0") != canonical_le("10")
    assert canonical_le("+Inf") == canonical_le("inf") == "+Inf"


def test_only_buckets_in_range_are_credited_and_nan_quarantines_its_bucket() -> None:
    s = _series([(T - 30, 1), (T + 30, 2), (T + 90, float("nan")), (T + 150, 8), (T + 400, 9)])
    found = bucket_increases([s], T, T + 180, 60)
    assert _as_dict(found) == {T: 1.0, T + 120: 6.0}
    assert found.quarantined["start"].tolist() == [T + 60]
    assert "NaN sample in series x_total{}" in found.quarantined["reason"][0]


def _reference(series: list[list[tuple[int, int]]], start: int, end: int, b: int) -> dict[int, float]:
    """Obviously correct: walk each series' samples one by one; the first sample crediting the range
    of a series silent for the hour before it counts from 0."""
    out: dict[int, float] = {}
    for points in series:
        previous: tuple[int, int] | None = None
        first_seen = False
        for t1, v1 in points:
            bucket = b * ((t1 - 1) // (1000 * b))
            in_range = start <= bucket < end
            inc: float | None = None
            if in_range and not first_seen:
                first_seen = True
                if previous is None or previous[0] < t1 - 3_600_000:
                    inc = v1
            if inc is None and previous is not None:
                inc = v1 - previous[1] if v1 >= previous[1] else v1
            if inc is not None and in_range:
                out[bucket] = out.get(bucket, 0.0) + inc
            previous = (t1, v1)
    return out


points_st = st.lists(st.tuples(st.integers(1, 1_500_000), st.integers(0, 1000)), min_size=0, max_size=40).map(
    lambda steps: _accumulate(steps)
)


def _accumulate(steps: list[tuple[int, int]]) -> list[tuple[int, int]]:
    t, out = T * 1000 - 200_000, []
    for dt, v in steps:
        t += dt
        out.append((t, v))
    return out


@settings(max_examples=200, deadline=None)
@given(
    st.lists(points_st, min_size=1, max_size=4),
    st.integers(-3, 3),
    st.integers(1, 10),
    st.sampled_from([10, 60, 300]),
)
def test_matches_reference(series: list[list[tuple[int, int]]], shift: int, n: int, b: int) -> None:
    start = T + shift * b
    end = start + n * b
    objs = [
        CounterSeries(
            {"i": str(i)},
            np.array([t for t, _ in p], dtype=np.int64),
            np.array([v for _, v in p], dtype=np.float64),
        )
        for i, p in enumerate(series)
    ]
    got = _as_dict(bucket_increases(objs, start, end, b))
    assert got == pytest.approx(_reference(series, start, end, b))
    assert set(got) == set(_reference(series, start, end, b))


@pytest.mark.parametrize(
    ("query", "selector", "summed"),
    [
        ('http_requests_total{code!~"5.."}', 'http_requests_total{code!~"5.."}', False),
        ('sum(http_requests_total{job="a"})', 'http_requests_total{job="a"}', True),
        ('sum by (le) (h_bucket{job="a"})', 'h_bucket{job="a"}', True),
        ('sum(x{a=")"}) by (le)', 'x{a=")"}', True),
        ('{__name__="x",job="a"}', '{__name__="x",job="a"}', False),
    ],
)
def test_selectors_are_recognised(query: str, selector: str, summed: bool) -> None:
    parsed = parse_series_selector(query)
    assert parsed is not None and parsed.text == selector and parsed.summed is summed


@pytest.mark.parametrize(
    "query",
    ["sum(rate(x[5m]))", "x offset 5m", "sum(x) + 1", "histogram_quantile(0.9, sum by (le)(x))", '{a!=""}'],
)
def test_other_queries_are_not_selectors(query: str) -> None:
    assert parse_series_selector(query) is None


def test_bucket_placeholder_is_substituted() -> None:
    assert substitute_bucket("sum(increase(x[$__bucket]))", 60) == "sum(increase(x[60s]))"
