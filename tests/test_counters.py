"""Exact per-bucket counter increases, against DESIGN.md §3 examples and a slow reference."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slo_pipelines.engine.sli.counters import CounterSeries, bucket_increases, credited_bucket, pair_increases
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
    a = _series([(T + 10, 1), (T + 50, 4), (T + 250, 10)], instance="a")  # gap over 2 buckets
    b = _series([(T + 30, 0), (T + 90, 2)], instance="b")  # disappears
    c = _series([(T + 150, 50), (T + 210, 55)], instance="c")  # appears: 50 is its baseline
    got = _as_dict(bucket_increases([a, b, c], T, T + 300, 60))
    assert got == {T: 3.0, T + 60: 2.0, T + 180: 5.0, T + 240: 6.0}
    assert T + 120 not in got


def test_only_buckets_in_range_are_credited_and_nan_quarantines_its_bucket() -> None:
    s = _series([(T - 30, 1), (T + 30, 2), (T + 90, float("nan")), (T + 150, 8), (T + 400, 9)])
    found = bucket_increases([s], T, T + 180, 60)
    assert _as_dict(found) == {T: 1.0, T + 120: 6.0}
    assert found.quarantined["start"].tolist() == [T + 60]
    assert "NaN sample in series x_total{}" in found.quarantined["reason"][0]


def _reference(series: list[list[tuple[int, int]]], start: int, end: int, b: int) -> dict[int, float]:
    """Obviously correct: walk each series' pairs one by one."""
    out: dict[int, float] = {}
    for points in series:
        for (_, v0), (t1, v1) in itertools.pairwise(points):
            inc = v1 - v0 if v1 >= v0 else v1
            bucket = b * ((t1 - 1) // (1000 * b))
            if start <= bucket < end:
                out[bucket] = out.get(bucket, 0.0) + inc
    return out


points_st = st.lists(st.tuples(st.integers(1, 90_000), st.integers(0, 1000)), min_size=0, max_size=40).map(
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
