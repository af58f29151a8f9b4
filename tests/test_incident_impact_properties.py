"""Property tests: incident impact and attribution agree with the slow reference in tests/, and
attribution conserves the bad units of the union of the incident windows (DESIGN.md §9)."""

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slo_pipelines.catalog.incidents import Incident
from slo_pipelines.engine.incidents.impact import incident_impacts
from tests.engine_helpers import close, frame, make_catalog, make_slo
from tests.reference import RefSLO
from tests.reference_incidents import impacts, union_bad

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z


@st.composite
def scenarios(draw: st.DrawFn) -> tuple:
    method = draw(st.sampled_from(["Occurrences", "Timeslices", "RatioTimeslices"]))
    bucket = draw(st.sampled_from([60, 60, 300]))
    calendar = ("week", "UTC") if draw(st.integers(0, 3)) == 0 else None
    window_seconds = draw(st.sampled_from([3 * 3600, 6 * 3600, 86400]))
    ref = RefSLO(
        method=method,
        target=draw(st.sampled_from([0.9, 0.99, 0.999, 0.5])),
        window_seconds=window_seconds,
        calendar=calendar,
        period_seconds=7 * 86400 if calendar else window_seconds,
        slice_seconds=bucket * draw(st.sampled_from([1, 2, 5])),
        slice_target=draw(st.sampled_from([0.5, 0.9, 1.0])),
        no_data=draw(st.sampled_from(["ignore", "good", "bad"])),
        bucket=bucket,
    )
    base = T0 + draw(st.integers(0, 3 * 86400))
    rows: dict[int, tuple[float, float, float]] = {}
    for _ in range(draw(st.integers(0, 80))):
        t = (base + draw(st.integers(-2 * 3600, 5 * 3600))) // bucket * bucket
        n_total = draw(st.integers(0, 500))
        weight = draw(st.sampled_from([1.0, 1.0, 2.5, 1 / 3]))
        rows[t] = (draw(st.integers(0, n_total)) * weight, n_total * weight, math.nan)
    excl = []
    for _ in range(draw(st.integers(0, 2))):
        s = base + draw(st.integers(-3600, 4 * 3600))
        excl.append((s, s + draw(st.integers(1, 2 * 3600))))
    windows = []
    for _ in range(draw(st.integers(1, 4))):
        s = base + draw(st.integers(0, 3 * 3600))
        windows.append((s, s + draw(st.integers(1, 3 * 3600))))
    return ref, rows, excl, windows


def _incidents(windows: list[tuple[int, int]]) -> list[Incident]:
    return [
        Incident(name=f"INC-{i}", title="t", severity="SEV3", start=s, end=e, services=("svc",))
        for i, (s, e) in enumerate(windows)
    ]


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(scenarios())
def test_impact_matches_reference_and_attribution_conserves(case: tuple) -> None:
    ref, rows, excl, windows = case
    slo = make_slo(ref)
    catalog = make_catalog([slo], excl)
    got = incident_impacts(catalog, frame(slo.name, rows, ref.bucket), _incidents(windows))
    want = impacts(ref, rows, excl, windows)
    for g, w in zip(got, want, strict=True):
        [s] = g.slos
        for key in ("bad", "total", "allowed_bad", "attributed_bad", "peak_burn_rate_1h"):
            assert close(getattr(s, key), getattr(w, key)), (key, getattr(s, key), getattr(w, key))
        assert close(s.budget_consumed_ratio, w.ratio), (s.budget_consumed_ratio, w.ratio)
    total_attributed = math.fsum(g.slos[0].attributed_bad for g in got)
    assert close(total_attributed, union_bad(ref, rows, excl, windows))
