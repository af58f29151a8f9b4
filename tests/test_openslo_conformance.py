"""OpenSLO conformance (DESIGN.md section 2), one fixture per rule under tests/fixtures/openslo/.

`valid/` files load, with exactly the warnings named here; `invalid/` files are refused with exactly the
error lines named here. Composite SLOs are then evaluated per objective, each on its own rows.
"""

import subprocess
import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from slo_pipelines.catalog import CatalogError, load_catalog
from slo_pipelines.engine.alerting.prometheus_rules import export_rules
from slo_pipelines.engine.budgets.evaluate import CatalogEvaluator
from slo_pipelines.engine.budgets.windows import window_bounds

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "openslo"


def epoch(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


def errors_of(name: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.chdir(FIXTURES / "invalid")
    with pytest.raises(CatalogError) as caught:
        load_catalog(name)
    return [str(issue) for issue in caught.value.issues]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("condition_without_severity.yaml", ["[0] spec.severity: is required"]),
        ("policy_two_conditions.yaml", ["[0] spec.conditions: must hold exactly one condition (got 2)"]),
        ("policy_without_targets.yaml", ["[0] spec.notificationTargets: is required"]),
        (
            "long_description.yaml",
            ["[0] spec.description: must be at most 1050 characters (got 1051 characters)"],
        ),
        (
            "unknown_fields.yaml",
            [
                "[0] spec.markdown: unknown field; known: description, service, indicator, indicatorRef, "
                "timeWindow, budgetingMethod, objectives, alertPolicies",
                "[0] spec.objectives[0].compositeWeigth: unknown field; known: displayName, op, value, "
                "target, targetPercent, timeSliceTarget, timeSliceWindow, indicator, indicatorRef, "
                "compositeWeight",
            ],
        ),
        (
            "name_not_rfc1123.yaml",
            [
                "[0] metadata.name: must be an RFC 1123 label: at most 63 lower-case letters, digits and "
                "'-', starting and ending with a letter or digit (got \"My Service\")"
            ],
        ),
        (
            "calendar_minutes.yaml",
            [
                "[0] spec.timeWindow[0].duration: calendar windows must be a positive count of d, w, M, Q or "
                'Y such as 1d, 2w, 1M (got "1m")'
            ],
        ),
        (
            "dangling_condition.yaml",
            [
                "[0] spec.conditions[0].conditionRef: no AlertCondition with this name in the catalog "
                '(got "no-such-condition")'
            ],
        ),
        (
            "burnrate_without_op.yaml",
            [
                "[0] spec.condition.op: is required",
                "[0] spec.condition.lookbackWindow: is required for a burnrate condition",
            ],
        ),
    ],
)
def test_invalid_files_are_refused_naming_field_and_value(
    name: str, expected: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert errors_of(name, monkeypatch) == [f"{name}{line}" for line in expected]


def warnings_of(name: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.chdir(FIXTURES / "valid")
    return [str(w) for w in load_catalog(name).warnings]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("list_form.yaml", []),
        ("rolling_calendar_units.yaml", []),
        ("calendar_counts.yaml", []),
        ("spec_allowances.yaml", []),
        (
            "missing_service.yaml",
            # one warning per name, at its first use: cart is named twice, search once
            [
                "missing_service.yaml[0] spec.service: no Service document with this name; the name is used "
                'as is (got "cart")',
                "missing_service.yaml[2] spec.service: no Service document with this name; the name is used "
                'as is (got "search")',
            ],
        ),
        (
            "same_query.yaml",
            [
                "same_query.yaml[0] spec.ratioMetric.good: same query as total: the SLI is constant "
                '(always 100 %) (got "sum(orders_total)")',
                "same_query.yaml[1] spec.ratioMetric.bad: same query as total: the SLI is constant "
                '(always 0 %) (got "sum(orders_total)")',
            ],
        ),
    ],
)
def test_valid_files_load_with_exactly_their_warnings(
    name: str, expected: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert warnings_of(name, monkeypatch) == expected


def test_top_level_list_documents_get_their_own_index() -> None:
    catalog = load_catalog(FIXTURES / "valid" / "list_form.yaml")
    assert [(d.kind, d.index) for d in catalog.documents] == [("Service", 0), ("SLO", 1)]
    assert catalog.slos["shop-availability"].service == "shop"


def test_missing_service_keeps_the_name_and_the_slo() -> None:
    catalog = load_catalog(FIXTURES / "valid" / "missing_service.yaml")
    assert {s.name: s.service for s in catalog.slos.values()} == {
        "cart-availability": "cart",
        "cart-latency": "cart",
        "search-availability": "search",
    }
    assert [(e.name, e.scope.service) for e in catalog.exclusions] == [("cart-db-upgrade", "cart")]


def test_rolling_month_quarter_year_last_30_90_365_days() -> None:
    catalog = load_catalog(FIXTURES / "valid" / "rolling_calendar_units.yaml")
    at = epoch("2026-06-15T12:00:00+00:00")
    for name, days in (("rolling-month", 30), ("rolling-quarter", 90), ("rolling-year", 365)):
        bounds = window_bounds(catalog.slos[name].time_window, at)
        assert (bounds.start, bounds.end) == (at - days * 86400, at), name


@pytest.mark.parametrize(
    ("name", "at", "start", "full_end"),
    [
        # local midnight in Paris, also on the DST change day (23 h long)
        ("daily", "2026-03-29T15:00:00+00:00", "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00"),
        # two-week periods from Monday 2026-01-05: the third starts on 2026-02-02
        (
            "fortnightly",
            "2026-02-10T00:00:00+00:00",
            "2026-02-02T00:00:00+00:00",
            "2026-02-16T00:00:00+00:00",
        ),
        ("bimonthly", "2026-04-20T00:00:00+00:00", "2026-03-01T00:00:00+00:00", "2026-05-01T00:00:00+00:00"),
        (
            "leap-year-days",
            "2028-12-31T12:00:00+00:00",
            "2028-01-01T00:00:00+00:00",
            "2029-01-01T00:00:00+00:00",
        ),
    ],
)
def test_calendar_windows_of_any_count_are_anchored_at_start_time(
    name: str, at: str, start: str, full_end: str
) -> None:
    catalog = load_catalog(FIXTURES / "valid" / "calendar_counts.yaml")
    bounds = window_bounds(catalog.slos[name].time_window, epoch(at))
    assert (bounds.start, bounds.full_end) == (epoch(start), epoch(full_end))


def test_composite_slo_evaluates_each_objective_on_its_own_rows() -> None:
    catalog = load_catalog(FIXTURES / "valid" / "composite.yaml")
    slo = catalog.slos["checkout-journey"]
    assert slo.is_composite
    assert [slo.data_key(o) for o in slo.objectives] == [
        "checkout-journey/available",
        "checkout-journey/fast",
    ]
    at = epoch("2026-05-08T00:00:00+00:00")
    starts = np.arange(at - 7 * 86400, at, 60, dtype=np.int64)
    rng = np.random.default_rng(3)
    total_a = rng.integers(50, 150, starts.size)
    bad_a = rng.integers(0, 3, starts.size)
    total_f = rng.integers(20, 60, starts.size)
    slow_f = rng.integers(0, 10, starts.size)
    frame = pd.concat(
        [
            pd.DataFrame(
                {
                    "slo": "checkout-journey/available",
                    "start": starts,
                    "good": total_a - bad_a,
                    "total": total_a,
                }
            ),
            pd.DataFrame(
                {"slo": "checkout-journey/fast", "start": starts, "good": total_f - slow_f, "total": total_f}
            ),
        ],
        ignore_index=True,
    )
    results = {r.objective: r for r in CatalogEvaluator(catalog, frame).evaluate(at)}
    available, fast = results["available"], results["fast"]
    assert available.total == total_a.sum() and fast.total == total_f.sum()
    assert available.sli == pytest.approx(1 - bad_a.sum() / total_a.sum(), abs=1e-12)
    assert fast.sli == pytest.approx(1 - slow_f.sum() / total_f.sum(), abs=1e-12)
    assert fast.remaining_ratio == pytest.approx(1 - slow_f.sum() / (0.1 * total_f.sum()), abs=1e-9)
    # the rules export gives each objective its own indicator's queries
    export = export_rules(catalog)
    assert export.exported == ("checkout-checkout-journey-0", "checkout-checkout-journey-1")
    exprs = {
        g["name"]: g["rules"][0]["expr"] for g in export.groups["groups"] if "sli-recordings" in g["name"]
    }
    assert "checkout_total" in exprs["sloth-slo-sli-recordings-checkout-checkout-journey-0"]
    assert "checkout_duration_bucket" in exprs["sloth-slo-sli-recordings-checkout-checkout-journey-1"]


def test_slo_validate_prints_warnings_on_stderr_and_exits_0() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "slo_pipelines.cli", "validate", str(FIXTURES / "valid" / "same_query.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    warnings = done.stderr.strip().splitlines()
    assert len(warnings) == 2
    assert (
        warnings[0].startswith("slo: warning: ")
        and "spec.ratioMetric.good: same query as total" in warnings[0]
    )
    assert "valid (2 documents: 2 SLI)" in done.stdout
