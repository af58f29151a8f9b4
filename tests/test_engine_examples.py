"""Worked examples with hand-computed answers (Google SRE workbook, calendar periods, DST)."""

import numpy as np
import pandas as pd
import pytest

from slo_pipelines.catalog.models import Duration, ExclusionRule, Scope, TimeWindow
from slo_pipelines.engine.budgets.evaluate import CatalogEvaluator
from slo_pipelines.engine.budgets.windows import window_bounds
from slo_pipelines.engine.common.timeutil import format_instant, parse_instant
from slo_pipelines.engine.exclusions.intervals import expand_rule
from tests.engine_helpers import make_catalog, make_slo
from tests.reference import RefSLO

T = parse_instant("2026-03-10T00:00:00Z")
DAY = 86400


def traffic(
    slo: str, start: int, end: int, per_minute: int, error_rate_from: dict[int, float]
) -> pd.DataFrame:
    starts = np.arange(start, end, 60, dtype=np.int64)
    rate = np.zeros(starts.size)
    for since, r in sorted(error_rate_from.items()):
        rate[starts >= since] = r
    total = np.full(starts.size, float(per_minute))
    return pd.DataFrame({"slo": slo, "start": starts, "good": total - np.round(total * rate), "total": total})


def slo_999() -> tuple:
    slo = make_slo(RefSLO(method="Occurrences", target=0.999, window_seconds=30 * DAY), name="api")
    return slo, make_catalog([slo])


def test_total_outage_pages_within_the_first_minute() -> None:
    _, catalog = slo_999()
    data = traffic("api", T - 30 * DAY, T + 3600, 1000, {T: 1.0})
    [r] = CatalogEvaluator(catalog, data).evaluate(T + 60)
    assert r.burn_rates["1h"] == pytest.approx((1000 / 60000) / 0.001)
    assert r.burn_rates["5m"] == pytest.approx(1000.0 / 5000 / 0.001)
    assert ("page", "1h", "5m", 14.4) in [
        (a.severity, a.long_window, a.short_window, a.threshold) for a in r.alerts
    ]
    [before] = CatalogEvaluator(catalog, data).evaluate(T)
    assert before.alerts == () and before.status == "ok"


def test_two_percent_errors_page_after_44_minutes() -> None:
    _, catalog = slo_999()
    data = traffic("api", T - 30 * DAY, T + 2 * 3600, 1000, {T: 0.02})
    [(_, _, series)] = list(CatalogEvaluator(catalog, data).series(T, T + 3600))
    fired = series.loc[series["alert_page_1h_5m"], "at"]
    assert int((fired.iloc[0] - T) // 60) == 44
    assert series.loc[series["at"] == T + 44 * 60, "burn_1h"].iloc[0] == pytest.approx(20 * 44 / 60)


def test_thresholds_scale_with_the_period() -> None:
    slo = make_slo(RefSLO(method="Occurrences", target=0.99, window_seconds=7 * DAY), name="weekly")
    catalog = make_catalog([slo])
    # a 100 % outage: every pair fires on a 7 d window whose page threshold is 0.02 * 168 h / 1 h = 3.36
    data = traffic("weekly", T - 7 * DAY, T + 3 * DAY, 100, {T: 1.0})
    [r] = CatalogEvaluator(catalog, data).evaluate(T + 3 * DAY)
    thresholds = {(a.long_window, a.short_window): a.threshold for a in r.alerts}
    assert thresholds[("1h", "5m")] == pytest.approx(3.36)
    assert thresholds[("3d", "6h")] == pytest.approx(0.10 * 7 / 3)


def test_budget_numbers_occurrences() -> None:
    _, catalog = slo_999()
    data = traffic("api", T - 30 * DAY, T, 1000, {T - DAY: 0.0005})
    [r] = CatalogEvaluator(catalog, data).evaluate(T)
    total = 30 * 1440 * 1000
    bad = 1440 * round(1000 * 0.0005)
    assert r.total == total and r.consumed_bad == bad
    assert r.allowed_bad == pytest.approx(0.001 * total, rel=1e-12)
    assert r.remaining_ratio == pytest.approx(1 - bad / (0.001 * total), rel=1e-12)
    assert r.coverage == 1.0 and r.status == "ok"


def test_calendar_month_in_berlin_at_the_boundary_is_the_closed_period() -> None:
    tw = TimeWindow(
        Duration(1, "M"), is_rolling=False, calendar_start="2026-01-01T00:00:00", time_zone="Europe/Berlin"
    )
    at = parse_instant("2026-11-01T00:00:00+01:00")
    w = window_bounds(tw, at)
    assert format_instant(w.start) == "2026-09-30T22:00:00Z"  # Oct 1, 00:00 CEST
    assert w.end - w.start == 745 * 3600  # October has the DST fall-back hour
    mid = window_bounds(tw, parse_instant("2026-11-15T12:00:00Z"))
    assert (
        format_instant(mid.start) == "2026-10-31T23:00:00Z"
        and format_instant(mid.full_end) == "2026-11-30T23:00:00Z"
    )


def test_quarter_and_year_windows() -> None:
    q = TimeWindow(Duration(1, "Q"), is_rolling=False, calendar_start="2026-01-01T00:00:00", time_zone="UTC")
    w = window_bounds(q, parse_instant("2026-05-05T00:00:00Z"))
    assert (
        format_instant(w.start) == "2026-04-01T00:00:00Z"
        and format_instant(w.full_end) == "2026-07-01T00:00:00Z"
    )
    y = TimeWindow(
        Duration(1, "Y"), is_rolling=False, calendar_start="2025-07-01T00:00:00", time_zone="America/New_York"
    )
    w = window_bounds(y, parse_instant("2026-07-01T04:00:00Z"))  # exactly the fiscal-year boundary
    assert format_instant(w.start) == "2025-07-01T04:00:00Z" and w.end == parse_instant(
        "2026-07-01T04:00:00Z"
    )


def test_recurring_window_keeps_local_time_across_dst() -> None:
    rule = ExclusionRule(
        name="sunday-maintenance",
        kind="MaintenanceWindow",
        category="maintenance",
        scope=Scope(service="checkout"),
        reason="weekly patching",
        approved_by="change-board",
        start_local="2026-10-04T02:00:00",
        rrule="FREQ=WEEKLY;BYDAY=SU",
        duration_seconds=7200,
        time_zone="Europe/London",
    )
    occ = expand_rule(rule, parse_instant("2026-10-17T00:00:00Z"), parse_instant("2026-11-02T00:00:00Z"))
    assert [format_instant(o.start) for o in occ] == [
        "2026-10-18T01:00:00Z",  # 02:00 BST
        "2026-10-25T02:00:00Z",  # 02:00 GMT (clocks went back at 02:00 BST that morning)
        "2026-11-01T02:00:00Z",
    ]
    assert all(o.end - o.start == 7200 for o in occ)


def test_exclusion_scope_and_reporting() -> None:
    a = make_slo(RefSLO(method="Occurrences", target=0.99, window_seconds=DAY), name="a", service="checkout")
    b = make_slo(RefSLO(method="Occurrences", target=0.99, window_seconds=DAY), name="b", service="search")
    catalog = make_catalog([a, b], [(T - 7200, T - 3600)], scope=Scope(service="checkout"))
    data = pd.concat([traffic(n, T - DAY, T, 100, {T - 7200: 1.0, T - 3600: 0.0}) for n in ("a", "b")])
    ra, rb = CatalogEvaluator(catalog, data).evaluate(T)
    assert ra.excluded_seconds == 3600 and ra.consumed_bad == 0 and ra.sli == 1.0
    assert ra.exclusions[0].approved_by == "tester" and ra.exclusions[0].excluded_seconds == 3600
    assert rb.excluded_seconds == 0 and rb.consumed_bad == 6000 and rb.exclusions == ()


@pytest.mark.parametrize(
    ("policy", "sli", "bad"), [("ignore", 1.0, 0), ("good", 1.0, 0), ("bad", 10 / 12, 2)]
)
def test_timeslices_no_data_policy(policy: str, sli: float, bad: int) -> None:
    slo = make_slo(
        RefSLO(
            method="Timeslices",
            target=0.9,
            window_seconds=3600,
            slice_seconds=300,
            slice_target=0.95,
            no_data=policy,
        ),
        name="batch",
    )
    data = traffic("batch", T - 3600, T, 10, {})
    data = data[~data["start"].between(T - 1200, T - 601)]  # slices [T-20m, T-10m) have no rows
    [r] = CatalogEvaluator(make_catalog([slo]), data).evaluate(T)
    assert r.sli == pytest.approx(sli) and r.consumed_bad == bad
    assert r.allowed_bad == pytest.approx(0.1 * 12)
    assert r.coverage == pytest.approx(50 / 60)


def test_no_data_is_reported_as_such() -> None:
    _, catalog = slo_999()
    [r] = CatalogEvaluator(catalog, pd.DataFrame(columns=["slo", "start", "good", "total"])).evaluate(T)
    # no bucket and no measured-since annotation: nothing of the window is measured (DESIGN.md §3)
    assert r.status == "no_data" and r.sli is None and r.coverage is None
    assert r.not_measured_seconds == 30 * 86400 and r.excluded_seconds == 0
    assert all(v is None for v in r.burn_rates.values())


def test_digest_is_reproducible_and_input_sensitive() -> None:
    _, catalog = slo_999()
    data = traffic("api", T - 30 * DAY, T, 1000, {T - DAY: 0.001})
    [r1] = CatalogEvaluator(catalog, data).evaluate(T)
    [r2] = CatalogEvaluator(catalog, data.sample(frac=1.0, random_state=3)).evaluate(T)
    assert r1.buckets_digest == r2.buckets_digest and r1.to_json() == r2.to_json()
    changed = data.copy()
    changed.loc[changed.index[-1], "good"] -= 1
    [r3] = CatalogEvaluator(catalog, changed).evaluate(T)
    assert r3.buckets_digest != r1.buckets_digest


def test_history_starting_inside_the_window_is_not_bad_time() -> None:
    """A 28-day Timeslices SLO with no-data policy `bad` whose history starts 2 days before `at`:
    the 26 days before its first bucket are not measured, so every measured slice being good leaves
    the whole budget and nothing pages (DESIGN.md §3 "Measured since")."""
    slo = make_slo(
        RefSLO(method="Timeslices", target=0.99, window_seconds=28 * DAY, slice_seconds=300, no_data="bad"),
        name="freshness",
    )
    data = traffic("freshness", T - 2 * DAY, T, 10, {})
    [r] = CatalogEvaluator(make_catalog([slo]), data).evaluate(T)
    assert r.status == "ok" and r.alerts == () and r.remaining_ratio == 1.0
    assert r.good == r.total == 2 * DAY / 300
    assert r.allowed_bad == pytest.approx(0.01 * 2 * DAY / 300)
    assert r.not_measured_seconds == 26 * DAY and r.excluded_seconds == 0
    assert r.coverage == 1.0


def test_measured_since_annotation_and_gaps_after_it() -> None:
    """With the annotation 1 h after the first row, rows before it are outside the window, and
    an hour without rows after it counts as bad slices under policy `bad`."""
    since = T - 3 * 3600
    slo = make_slo(
        RefSLO(
            method="Timeslices",
            target=0.9,
            window_seconds=DAY,
            slice_seconds=300,
            no_data="bad",
            measured_since=since,
        ),
        name="batch",
    )
    data = traffic("batch", T - 4 * 3600, T, 10, {T - 4 * 3600: 0.5, since: 0.0})
    data = data[~data["start"].between(T - 3600, T - 1)]
    [r] = CatalogEvaluator(make_catalog([slo]), data).evaluate(T)
    assert r.not_measured_seconds == DAY - 3 * 3600
    assert (r.good, r.total, r.consumed_bad) == (24.0, 36.0, 12.0)
    assert r.allowed_bad == pytest.approx(0.1 * 36)
    assert r.coverage == pytest.approx(120 / 180)
