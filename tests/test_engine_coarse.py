"""Long Occurrences windows read from hourly rollups give exactly what reading every minute gives."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slo_pipelines.engine.budgets.coarse import CoarseHistory, CoarseHistoryError
from slo_pipelines.engine.budgets.evaluate import CatalogEvaluator
from tests.engine_helpers import make_catalog, make_slo
from tests.reference import RefSLO

DAY = 86400
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z


def split(
    frame: pd.DataFrame, fine_from: int, excluded: list[tuple[int, int]]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What the pipeline reads: raw hourly sums before `fine_from`, minutes after it and in exclusions."""
    old = frame[frame["start"] < fine_from]
    hourly = (
        old.assign(start=old["start"] // 3600 * 3600, rows=1)
        .groupby(["slo", "start"], as_index=False)[["good", "total", "rows"]]
        .sum()
    )
    in_exclusion = np.zeros(len(frame), dtype=bool)
    for s, e in excluded:
        in_exclusion |= frame["start"].between(s, e - 1).to_numpy()
    minutes = frame[(frame["start"] >= fine_from).to_numpy() | in_exclusion]
    return hourly, minutes


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**31),
    days=st.integers(3, 6),
    fractional=st.booleans(),
    n_excl=st.integers(0, 4),
    density=st.floats(0.3, 1.0),
)
def test_rollups_plus_minutes_equal_minutes(
    seed: int, days: int, fractional: bool, n_excl: int, density: float
) -> None:
    rng = np.random.default_rng(seed)
    window = days * DAY
    slo = make_slo(RefSLO(method="Occurrences", target=0.99, window_seconds=window), name="api")
    span = window + 5 * DAY
    starts = np.arange(T0, T0 + span, 60)
    starts = starts[rng.random(starts.size) < density]
    total = rng.integers(0, 500, starts.size).astype(float)
    good = np.minimum(total, total - rng.integers(0, 5, starts.size))
    if fractional:
        total, good = total / 3, good / 3
    frame = pd.DataFrame({"slo": "api", "start": starts, "good": good, "total": total, "bucket_seconds": 60})
    excluded = []
    for _ in range(n_excl):
        s = int(T0 + rng.integers(0, span - 7200))
        excluded.append((s, s + int(rng.integers(60, 6 * 3600))))
    catalog = make_catalog([slo], excluded)
    last = T0 + span
    first = last - 2 * DAY
    fine_from = (first - 3 * DAY) // 3600 * 3600
    hourly, minutes = split(frame, fine_from, excluded)

    exact = CatalogEvaluator(catalog, frame)
    coarse = CatalogEvaluator(catalog, minutes, coarse=CoarseHistory(fine_from, hourly, frozenset({"api"})))
    [(_, _, a)] = list(exact.series(first, last, 3600))
    assert days == 3 or int(a["window_start"].iloc[0]) < fine_from  # the rollup path is exercised
    [(_, _, b)] = list(coarse.series(first, last, 3600))
    for column in (
        "good",
        "total",
        "sli",
        "consumed_bad",
        "allowed_bad",
        "remaining_ratio",
        "coverage",
        "burn_1h",
        "burn_3d",
    ):
        np.testing.assert_allclose(
            b[column], a[column], rtol=1e-12, atol=1e-9, equal_nan=True, err_msg=column
        )
    assert list(a["status"]) == list(b["status"])
    [pa] = exact.evaluate(last)
    [pb] = coarse.evaluate(last)
    assert pa.remaining_ratio == pytest.approx(pb.remaining_ratio, abs=1e-12)
    assert pa.excluded_seconds == pb.excluded_seconds


def test_misuse_fails_loudly() -> None:
    slo = make_slo(RefSLO(method="Occurrences", target=0.99, window_seconds=10 * DAY), name="api")
    catalog = make_catalog([slo])
    frame = pd.DataFrame({"slo": ["api"], "start": [T0 + 20 * DAY], "good": [1.0], "total": [1.0]})
    hourly = pd.DataFrame(columns=["slo", "start", "good", "total", "rows"])
    fine_from = T0 + 15 * DAY
    ev = CatalogEvaluator(catalog, frame, coarse=CoarseHistory(fine_from, hourly, frozenset({"api"})))
    with pytest.raises(CoarseHistoryError, match="inside an hour"):
        ev.evaluate(T0 + 20 * DAY + 60)
    with pytest.raises(CoarseHistoryError, match="lookbacks"):
        ev.evaluate(fine_from + DAY)


def test_stored_day_digests_are_the_slos_days_in_range_in_order() -> None:
    rng = np.random.default_rng(3)
    days = rng.permutation(40)  # unordered, as a query may return them
    frame = pd.DataFrame(
        {
            "slo": np.where(days % 3 == 0, "b", "a"),
            "start": T0 + 86400 * days,
            "digest": [None if d % 7 == 0 else f"d{d}" for d in days],
        }
    )
    history = CoarseHistory(T0 + 40 * 86400, pd.DataFrame(), frozenset({"a", "b"}), day_digests=frame)
    for slo in ("a", "b", "absent"):
        for lo, hi in [(T0, T0 + 40 * 86400), (T0 + 5 * 86400 + 1, T0 + 9 * 86400), (T0 + 9 * 86400, T0)]:
            naive = frame[(frame["slo"] == slo) & (frame["start"] >= lo) & (frame["start"] < hi)]
            naive = naive.sort_values("start")
            expected = [(int(s), str(d)) for s, d in zip(naive["start"], naive["digest"], strict=True)]
            assert history.stored_day_digests(slo, lo, hi) == expected
    assert CoarseHistory(T0, pd.DataFrame(), frozenset()).stored_day_digests("a", 0, 2**40) == []
