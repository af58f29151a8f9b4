"""Sums exact at any magnitude (DESIGN.md §3 "Bucket"): int64 while it cannot overflow, Python ints
beyond, and rollups that float64 may have rounded are never read."""

import numpy as np
import pandas as pd

from slo_pipelines.engine.budgets.coarse import exact_rollups
from slo_pipelines.engine.budgets.evaluate import CatalogEvaluator
from slo_pipelines.engine.common.exact import count_dtype, exact_number, prefix_sums
from tests.engine_helpers import make_catalog, make_slo
from tests.reference import RefSLO

T0 = 1_777_593_600  # 2026-05-01T00:00:00Z


def test_dtype_switches_to_python_ints_before_int64_overflows() -> None:
    assert count_dtype(np.array([1.0, 2.0])) == np.int64
    assert count_dtype(np.array([0.5])) == np.longdouble
    big = np.full(10_080, 999_999_999_999_999.0)
    assert count_dtype(big).kind == "O"
    sums = prefix_sums(np.array([int(x) for x in big], dtype=object))
    assert sums[-1] == 10_080 * 999_999_999_999_999 and sums[-1] > 2**63
    assert exact_number(sums[-1]) == 10_079_999_999_999_989_920 and exact_number(np.int64(5)) == 5.0


def test_window_and_burn_rates_over_int64_range_are_exact() -> None:
    slo = make_slo(RefSLO(method="Occurrences", target=0.99, window_seconds=7 * 86400), name="big")
    total = 999_999_999_999_999.0
    starts = np.arange(T0, T0 + 7 * 86400, 60)
    rows = pd.DataFrame({"slo": "big", "start": starts, "good": total - 1000, "total": total})
    [r] = CatalogEvaluator(make_catalog([slo]), rows).evaluate(T0 + 7 * 86400)
    assert r.total == 10_079_999_999_999_989_920 and r.good == r.total - 10_080_000
    assert r.consumed_bad == 10_080_000.0 and abs(r.sli - 0.999999999999) < 1e-12  # type: ignore[operator]
    assert abs(r.burn_rates["1h"] - 1000 / total / 0.01) < 1e-15  # type: ignore[operator]
    assert r.to_json()["total"] == 10_079_999_999_999_989_920
    assert r.status == "ok"


def test_rollups_float64_may_have_rounded_are_not_read() -> None:
    hourly = pd.DataFrame(
        {
            "slo": ["small", "small", "huge"],
            "start": [T0, T0 + 3600, T0],
            "good": [10.0, 20.0, 6e16],
            "total": [10.0, 25.0, 6e16],
        }
    )
    exact = exact_rollups(hourly)
    assert bool(exact["small"]) and not bool(exact["huge"])
