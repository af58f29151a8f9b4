"""Property tests: the vectorised engine agrees with the slow reference on random inputs."""

import dataclasses
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slo_pipelines.catalog.models import DEFAULT_BUCKET_SECONDS, SLO
from slo_pipelines.engine.budgets.evaluate import CatalogEvaluator
from tests.engine_helpers import close, frame, make_catalog, make_slo
from tests.reference import RefSLO, evaluate

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z

methods = st.sampled_from(["Occurrences", "Timeslices", "RatioTimeslices"])


@st.composite
def scenarios(
    draw: st.DrawFn, bucket_sizes: tuple[int, ...] = (60, 60, 300), method_names: st.SearchStrategy = methods
) -> tuple[RefSLO, dict[int, tuple[float, float, float]], list[tuple[int, int]], int]:
    method = draw(method_names)
    bucket = draw(st.sampled_from(bucket_sizes))
    slice_mult = draw(st.sampled_from([1, 2, 5]))
    threshold = None
    if method != "Occurrences" and draw(st.booleans()):
        threshold = (draw(st.sampled_from(["lt", "lte", "gt", "gte"])), float(draw(st.integers(0, 10))))
    window_seconds = draw(st.sampled_from([3600, 2 * 3600, 6 * 3600, 86400])) if True else None
    calendar = None
    if draw(st.integers(0, 4)) == 0:
        calendar = (
            "week",
            draw(st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"])),
        )
    ref = RefSLO(
        method=method,
        target=draw(st.sampled_from([0.9, 0.99, 0.995, 0.999, 0.5, 0.0])),
        window_seconds=window_seconds,
        calendar=calendar,
        period_seconds=(7 * 86400) if calendar else window_seconds,
        slice_seconds=bucket * slice_mult,
        slice_target=draw(st.sampled_from([0.5, 0.9, 0.95, 1.0])),
        threshold=threshold,
        no_data=draw(st.sampled_from(["ignore", "good", "bad"])),
        bucket=bucket,
    )
    # `at` anywhere, not necessarily on a bucket or slice boundary
    at = T0 + draw(st.integers(0, 14 * 86400))
    if draw(st.booleans()):
        at = (at // bucket) * bucket
    horizon = 4 * 86400 + (window_seconds if not calendar else 8 * 86400)
    n_rows = draw(st.integers(0, 120))
    fractional = draw(st.booleans())
    rows: dict[int, tuple[float, float, float]] = {}
    dense_start = (at - draw(st.integers(0, 3 * 3600))) // bucket * bucket
    for _ in range(n_rows):
        if draw(st.booleans()):
            t = dense_start + bucket * draw(st.integers(0, 200))
        else:
            t = (at - draw(st.integers(-3600, horizon))) // bucket * bucket
        # fractional counts as re-weighted sampled logs produce them: event counts times 1/sample_rate
        weight = draw(st.sampled_from([1 / 3, 2.5, 10 / 7, 0.1])) if fractional else 1.0
        n_total = draw(st.integers(0, 1000))
        total = n_total * weight
        good = min(total, draw(st.integers(0, n_total)) * weight)
        value = float(draw(st.integers(0, 12))) if draw(st.integers(0, 5)) else math.nan
        rows[t] = (good, total, value)
    excl = []
    for _ in range(draw(st.integers(0, 3))):
        s = at - draw(st.integers(-600, horizon))
        excl.append((s, s + draw(st.integers(1, 6 * 3600))))
    if draw(st.integers(0, 3)) == 0:
        # the measured-since annotation, anywhere around the window (also inside a bucket or a slice)
        ref.measured_since = at - draw(st.integers(-3600, horizon))
    return ref, rows, excl, at


def engine_slo(ref: RefSLO, rows: dict) -> SLO:
    """The SLO as the catalog gives it: the bucket size comes from the rows' `bucket_seconds`, so the
    annotation is left out unless there are no rows to carry it (DESIGN.md §3 "Bucket")."""
    slo = make_slo(ref)
    return slo if not rows else dataclasses.replace(slo, bucket_seconds=DEFAULT_BUCKET_SECONDS)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(scenarios())
def test_engine_matches_reference(case: tuple) -> None:
    check_against_reference(case)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(scenarios(bucket_sizes=(300,), method_names=st.sampled_from(["Timeslices", "RatioTimeslices"])))
def test_five_minute_buckets_timeslices_match_reference(case: tuple) -> None:
    """5-minute buckets known only from the rows: slices, budget, burn rates and coverage."""
    check_against_reference(case)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(scenarios(bucket_sizes=(300,), method_names=st.just("Occurrences")))
def test_five_minute_buckets_occurrences_match_reference(case: tuple) -> None:
    check_against_reference(case)


def check_against_reference(case: tuple) -> None:
    ref, rows, excl, at = case
    slo = engine_slo(ref, rows)
    catalog = make_catalog([slo], excl)
    [result] = CatalogEvaluator(catalog, frame(slo.name, rows, ref.bucket)).evaluate(at)
    expected = evaluate(ref, rows, excl, at)
    assert (result.window_start, result.window_end) == expected["window"]
    for key in ("good", "total", "sli", "allowed_bad", "consumed_bad", "remaining_ratio", "coverage"):
        assert close(getattr(result, key), expected[key]), (key, getattr(result, key), expected[key])
    assert result.excluded_seconds == expected["excluded_seconds"]
    assert result.not_measured_seconds == expected["not_measured_seconds"]
    for label, value in expected["burn_rates"].items():
        assert close(result.burn_rates[label], value), (label, result.burn_rates[label], value)
    assert [(a.severity, a.long_window, a.short_window) for a in result.alerts] == expected["alerts"]
    assert result.status == expected["status"]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(scenarios(), st.integers(1, 30))
def test_series_equals_point_evaluations(case: tuple, steps: int) -> None:
    """The time-series mode gives, at every step, exactly what a point evaluation gives."""
    ref, rows, excl, at = case
    slo = engine_slo(ref, rows)
    catalog = make_catalog([slo], excl)
    ev = CatalogEvaluator(catalog, frame(slo.name, rows, ref.bucket))
    start = at - steps * ref.bucket
    [(_, _, series)] = list(ev.series(start, at, step=ref.bucket))
    for _, row in series.iloc[:: max(1, len(series) // 5)].iterrows():
        point = evaluate(ref, rows, excl, int(row["at"]))
        assert close(None if math.isnan(row["sli"]) else row["sli"], point["sli"])
        rr = None if math.isnan(row["remaining_ratio"]) else row["remaining_ratio"]
        assert close(rr, point["remaining_ratio"])
        for label, value in point["burn_rates"].items():
            b = row[f"burn_{label}"]
            assert close(None if math.isnan(b) else b, value)
