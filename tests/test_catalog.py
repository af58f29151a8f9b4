"""Catalog loading: every kind loads, values are normalised, and each bad input yields one exact line."""

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from slo_pipelines.catalog import (
    CatalogError,
    CatalogIssue,
    Duration,
    DurationError,
    Scope,
    fixed_seconds,
    load_catalog,
    parse_duration,
)

ROOT = Path(__file__).resolve().parent.parent
FLEET = ROOT / "examples" / "fleet"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

# ---------------------------------------------------------------- helpers

BASE_DOCS: list[dict[str, Any]] = [
    {"apiVersion": "openslo/v1", "kind": "Service", "metadata": {"name": "checkout"}, "spec": {}},
    {
        "apiVersion": "openslo/v1",
        "kind": "DataSource",
        "metadata": {"name": "prom"},
        "spec": {"type": "Prometheus", "connectionDetails": {"url": "http://prom:9090"}},
    },
    {
        "apiVersion": "openslo/v1",
        "kind": "SLI",
        "metadata": {"name": "checkout-requests"},
        "spec": {
            "ratioMetric": {
                "counter": True,
                "good": {"metricSource": {"metricSourceRef": "prom", "spec": {"query": "sum(ok)"}}},
                "total": {"metricSource": {"metricSourceRef": "prom", "spec": {"query": "sum(all)"}}},
            }
        },
    },
    {
        "apiVersion": "openslo/v1",
        "kind": "SLI",
        "metadata": {"name": "checkout-p99"},
        "spec": {"thresholdMetric": {"metricSource": {"metricSourceRef": "prom", "spec": {"query": "p99"}}}},
    },
]


def slo_doc(name: str = "checkout-availability", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "service": "checkout",
        "indicatorRef": "checkout-requests",
        "timeWindow": [{"duration": "28d", "isRolling": True}],
        "budgetingMethod": "Occurrences",
        "objectives": [{"displayName": "availability", "target": 0.999}],
    }
    for key, value in spec.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return {"apiVersion": "openslo/v1", "kind": "SLO", "metadata": {"name": name}, "spec": body}


def write_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *docs: dict[str, Any]) -> str:
    """A catalog dir `catalog/` (base.yaml + case.yaml) under a cwd of tmp_path; returns "catalog"."""
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "catalog"
    folder.mkdir()
    (folder / "base.yaml").write_text(yaml.safe_dump_all(BASE_DOCS, sort_keys=False))
    (folder / "case.yaml").write_text(yaml.safe_dump_all(list(docs), sort_keys=False))
    return "catalog"


def issues_of(path: str | Path) -> list[str]:
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    lines = str(caught.value).splitlines()
    assert len(lines) == len(caught.value.issues)
    return lines


def case_issues(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *docs: dict[str, Any]) -> list[str]:
    return issues_of(write_catalog(tmp_path, monkeypatch, *docs))


def epoch(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


# ---------------------------------------------------------------- errors and durations


def test_issue_renders_file_index_path_and_message() -> None:
    issue = CatalogIssue("catalog/checkout.yaml", 2, "spec.objectives[0].target", "must be < 1 (got 1.5)")
    assert str(issue) == "catalog/checkout.yaml[2] spec.objectives[0].target: must be < 1 (got 1.5)"
    assert str(CatalogIssue("catalog", None, "", "no such file or directory")) == (
        "catalog: no such file or directory"
    )
    assert str(CatalogIssue("a.yaml", 0, "", "m")) == "a.yaml[0]: m"


def test_catalog_error_holds_every_issue_one_per_line() -> None:
    issues = [CatalogIssue("a.yaml", 0, "kind", "is required"), CatalogIssue("b.yaml", 3, "x", "bad")]
    error = CatalogError(issues)
    assert error.issues == tuple(issues)
    assert str(error) == "a.yaml[0] kind: is required\nb.yaml[3] x: bad"


@pytest.mark.parametrize(
    ("text", "count", "unit", "seconds"),
    [
        ("30s", 30, "s", 30),
        ("5m", 5, "m", 300),
        ("6h", 6, "h", 21600),
        ("28d", 28, "d", 2419200),
        ("2w", 2, "w", 1209600),
    ],
)
def test_fixed_durations(text: str, count: int, unit: str, seconds: int) -> None:
    duration = parse_duration(text)
    assert duration == Duration(count, unit)
    assert fixed_seconds(duration) == seconds
    assert str(duration) == text


@pytest.mark.parametrize("text", ["1M", "1Q", "1Y"])
def test_calendar_durations_have_no_fixed_length(text: str) -> None:
    duration = parse_duration(text)
    assert duration.is_calendar_unit
    with pytest.raises(DurationError, match="varies with the calendar"):
        fixed_seconds(duration)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("28 days", 'such as 5m, 28d or 1M (got "28 days")'),
        ("0d", 'must be positive (got "0d")'),
        ("1.5h", 'got "1.5h")'),
        ("10x", 'got "10x")'),
        (30, "must be a duration string such as 5m, 28d or 1M (got 30)"),
        (None, "(got null)"),
    ],
)
def test_bad_durations(value: object, message: str) -> None:
    with pytest.raises(DurationError) as caught:
        parse_duration(value)
    assert str(caught.value).endswith(message)


# ---------------------------------------------------------------- the example fleet


def test_fleet_loads_with_every_expected_part() -> None:
    catalog = load_catalog(FLEET)
    assert len(catalog.services) >= 10
    objectives = sum(len(s.objectives) for s in catalog.slos.values())
    assert 12 <= objectives <= 15
    methods = {s.budgeting_method for s in catalog.slos.values()}
    assert methods == {"Occurrences", "Timeslices", "RatioTimeslices"}
    assert all(s.service in catalog.services for s in catalog.slos.values())
    assert all(name == name.lower() and " " not in name for name in catalog.slos)
    assert {d.kind for d in catalog.documents} >= {
        "Service",
        "SLI",
        "SLO",
        "DataSource",
        "AlertPolicy",
        "AlertCondition",
        "AlertNotificationTarget",
        "MaintenanceWindow",
        "Exclusion",
        "BudgetPolicy",
        "Team",
        "Dependency",
        "UserJourney",
        "SLAContract",
    }
    assert set(catalog.budget_policies) == {"default", "payments-strict"}
    assert catalog.budget_policies["default"]["warningBelow"] == 0.25
    other_kinds = {d.kind for d in catalog.other}
    assert "Team" in other_kinds and "SLAContract" in other_kinds
    assert not other_kinds & {"SLO", "Service", "MaintenanceWindow", "Exclusion", "BudgetPolicy"}


def test_fleet_slo_details() -> None:
    slos = load_catalog(FLEET).slos
    payments = slos["payments-availability"]
    assert payments.objectives[0].target == 0.9995
    assert payments.indicator.name == "payments-api-successful-requests"  # resolved indicatorRef
    assert payments.indicator.counter is True
    assert payments.alert_policies == ("page-on-fast-burn", "ticket-on-slow-burn")
    assert payments.source_file.endswith("examples/fleet/payments.yaml")

    frontend = slos["frontend-latency"]
    assert frontend.indicator.kind == "ratio"
    assert frontend.indicator.good_query is not None
    assert frontend.indicator.good_query["type"] == "Prometheus"  # filled in from the DataSource
    assert 'le="0.3"' in frontend.indicator.good_query["spec"]["query"]
    assert frontend.time_window.duration == Duration(28, "d") and frontend.time_window.is_rolling

    catalog_api = slos["catalog-api-latency"]
    assert catalog_api.indicator.kind == "threshold"
    assert [(o.name, o.op, o.value, o.target) for o in catalog_api.objectives] == [
        ("p99-under-400ms", "lt", 0.4, 0.99),
        ("p99-under-1s", "lt", 1.0, 0.999),
    ]

    assert slos["cdn-availability"].objectives[0].target == 0.9999  # targetPercent 99.99
    assert slos["cdn-availability"].objectives[0].name == "objective-0"
    assert slos["cdn-availability"].indicator.bad_query is not None
    assert slos["legacy-billing-availability"].objectives[0].target == 0.99

    pipeline = slos["order-pipeline-freshness"]
    assert pipeline.budgeting_method == "Timeslices"
    assert pipeline.no_data_policy == "bad"
    assert {o.time_slice_window_seconds for o in pipeline.objectives} == {300}
    assert {o.time_slice_target for o in pipeline.objectives} == {0.8}

    search = slos["search-availability"]
    assert search.budgeting_method == "RatioTimeslices"
    assert search.objectives[0].time_slice_window_seconds == 300

    invoicing = slos["invoicing-availability"].time_window
    assert (invoicing.is_rolling, str(invoicing.duration)) == (False, "1M")
    assert invoicing.calendar_start == "2026-01-01T00:00:00"
    assert invoicing.time_zone == "Europe/Berlin"


def test_fleet_exclusions() -> None:
    rules = {r.name: r for r in load_catalog(FLEET).exclusions}
    upgrade = rules["catalog-db-major-upgrade"]
    assert (upgrade.kind, upgrade.category) == ("MaintenanceWindow", "maintenance")
    assert (upgrade.start, upgrade.end) == (
        epoch("2026-10-18T01:00:00+00:00"),
        epoch("2026-10-18T03:00:00+00:00"),
    )
    assert upgrade.scope == Scope(service="catalog-api")
    assert not upgrade.is_recurring

    weekly = rules["legacy-billing-weekly-patching"]
    assert weekly.is_recurring
    assert (weekly.start_local, weekly.rrule, weekly.duration_seconds, weekly.time_zone) == (
        "2026-01-04T02:00:00",
        "FREQ=WEEKLY;BYDAY=SU",
        7200,
        "Europe/London",
    )
    assert weekly.until == epoch("2027-07-01T00:00:00+00:00")
    assert weekly.start is None and weekly.end is None

    outage = rules["psp-outage-2026-11-10"]
    assert (outage.kind, outage.category) == ("Exclusion", "dependency_outage")
    assert outage.scope == Scope(slo="payments-availability")
    assert outage.end is not None and outage.start is not None and outage.end - outage.start == 45 * 60
    assert outage.evidence is not None and "status.example-psp.com" in outage.evidence
    assert outage.approved_by == "change-board"


def test_digest_ignores_file_order_but_not_content(tmp_path: Path) -> None:
    one = tmp_path / "one"
    one.mkdir()
    (one / "a.yaml").write_text(yaml.safe_dump_all([*BASE_DOCS, slo_doc()]))
    two = tmp_path / "two"
    two.mkdir()
    (two / "z.yaml").write_text(yaml.safe_dump_all([slo_doc()]))
    (two / "b.yaml").write_text(yaml.safe_dump_all(list(reversed(BASE_DOCS))))
    assert load_catalog(one).digest() == load_catalog(two).digest()
    (two / "z.yaml").write_text(yaml.safe_dump_all([slo_doc(objectives=[{"target": 0.99}])]))
    assert load_catalog(one).digest() != load_catalog(two).digest()


# ---------------------------------------------------------------- OpenSLO shapes


def test_every_openslo_kind_loads_with_inline_and_referenced_parts(tmp_path: Path) -> None:
    text = """
apiVersion: openslo/v1
kind: Service
metadata: {name: api, displayName: API}
spec: {description: The API}
---
apiVersion: openslo/v1
kind: DataSource
metadata: {name: prom}
spec: {type: Prometheus, connectionDetails: {url: "http://prom:9090"}}
---
apiVersion: openslo/v1
kind: AlertCondition
metadata: {name: fast}
spec:
  severity: page
  condition: {kind: burnrate, op: gte, threshold: 14.4, lookbackWindow: 1h, alertAfter: 5m}
---
apiVersion: openslo/v1
kind: AlertNotificationTarget
metadata: {name: pager}
spec: {target: pagerduty, description: on-call}
---
apiVersion: openslo/v1
kind: AlertPolicy
metadata: {name: page}
spec:
  alertWhenBreaching: true
  conditions:
    - conditionRef: fast
  notificationTargets:
    - targetRef: pager
---
apiVersion: openslo/v1
kind: SLI
metadata: {name: api-latency}
spec:
  thresholdMetric:
    metricSource:
      metricSourceRef: prom
      spec: {query: "histogram_quantile(0.99, rate(x[1m]))"}
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: api-latency
  annotations:
    slo-pipelines.io/bucket-seconds: "300"
    slo-pipelines.io/no-data-policy: good
    team: core
spec:
  description: p99 under limits
  service: api
  indicatorRef: api-latency
  timeWindow:
    - duration: 1w
      isRolling: false
      calendar: {startTime: "2026-01-05 00:00:00", timeZone: Asia/Tokyo}
  budgetingMethod: Timeslices
  objectives:
    - {displayName: fast, op: lte, value: 0.25, target: 0.95, timeSliceTarget: 0.9, timeSliceWindow: 10m}
    - {op: lt, value: 1, targetPercent: 99.5, timeSliceTarget: 1, timeSliceWindow: 900}
  alertPolicies:
    - page
    - alertPolicyRef: page
    - kind: AlertPolicy
      metadata: {name: inline-ticket}
      spec:
        conditions:
          - kind: AlertCondition
            metadata: {name: slow}
            spec: {severity: ticket, condition: {kind: burnrate, op: gte, threshold: 1, lookbackWindow: 3d}}
        notificationTargets:
          - kind: AlertNotificationTarget
            metadata: {name: mail}
            spec: {target: email}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: api-availability}
spec:
  service: api
  indicator:
    metadata: {name: api-errors}
    spec:
      ratioMetric:
        bad: {metricSource: {type: Prometheus, spec: {query: "sum(errors)"}}}
        total: {metricSource: {type: Prometheus, spec: {query: "sum(requests)"}}}
  timeWindow: [{duration: 30d, isRolling: true}]
  budgetingMethod: RatioTimeslices
  objectives:
    - {target: 0.99, timeSliceWindow: 5m}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: api-raw}
spec:
  service: api
  indicator:
    metadata: {name: api-raw-ratio}
    spec:
      ratioMetric:
        rawType: success
        raw: {metricSource: {metricSourceRef: prom, spec: {query: "avg(success_ratio)"}}}
  timeWindow: [{duration: 12h}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.9}]
"""
    path = tmp_path / "openslo.yml"
    path.write_text(text)
    catalog = load_catalog(path)  # a single file works as a catalog
    assert [d.index for d in catalog.documents] == list(range(9))
    assert catalog.services["api"].description == "The API"

    latency = catalog.slos["api-latency"]
    assert latency.indicator.kind == "threshold" and latency.indicator.threshold_query is not None
    assert latency.indicator.threshold_query == {
        "metricSourceRef": "prom",
        "type": "Prometheus",
        "spec": {"query": "histogram_quantile(0.99, rate(x[1m]))"},
    }
    assert latency.bucket_seconds == 300 and latency.no_data_policy == "good"
    assert latency.annotations["team"] == "core"
    window = latency.time_window
    assert (window.is_rolling, window.calendar_start, window.time_zone) == (
        False,
        "2026-01-05T00:00:00",
        "Asia/Tokyo",
    )
    first, second = latency.objectives
    assert (first.name, first.index, first.op, first.value, first.target) == ("fast", 0, "lte", 0.25, 0.95)
    assert (first.time_slice_target, first.time_slice_window_seconds) == (0.9, 600)
    assert (second.name, second.index, second.target, second.time_slice_window_seconds) == (
        "objective-1",
        1,
        0.995,
        900,
    )
    assert latency.alert_policies == ("page", "page", "inline-ticket")

    availability = catalog.slos["api-availability"]
    assert availability.indicator.name == "api-errors"
    assert availability.indicator.good_query is None
    assert availability.indicator.bad_query == {
        "metricSourceRef": None,
        "type": "Prometheus",
        "spec": {"query": "sum(errors)"},
    }
    assert availability.indicator.counter is False
    assert availability.bucket_seconds == 60 and availability.no_data_policy == "ignore"

    raw = catalog.slos["api-raw"]
    assert raw.indicator.raw_type == "success" and raw.indicator.raw_query is not None
    assert raw.time_window.is_rolling and fixed_seconds(raw.time_window.duration) == 12 * 3600
    assert {d.kind for d in catalog.other} == {
        "DataSource",
        "AlertCondition",
        "AlertNotificationTarget",
        "AlertPolicy",
        "SLI",
    }


def test_per_objective_indicator_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    objectives = [
        {"displayName": "main", "target": 0.99},
        {"displayName": "p99", "target": 0.9, "op": "lt", "value": 0.5, "indicatorRef": "checkout-p99"},
    ]
    catalog = load_catalog(write_catalog(tmp_path, monkeypatch, slo_doc(objectives=objectives)))
    main, p99 = catalog.slos["checkout-availability"].objectives
    assert main.indicator is None
    assert p99.indicator is not None and p99.indicator.kind == "threshold"


def test_directory_is_read_recursively_sorted_and_skips_hidden(tmp_path: Path) -> None:
    (tmp_path / "b" / "deep").mkdir(parents=True)
    (tmp_path / ".git").mkdir()
    (tmp_path / "b" / "deep" / "slo.yml").write_text(yaml.safe_dump(slo_doc()))
    (tmp_path / "a.yaml").write_text(yaml.safe_dump_all(BASE_DOCS) + "---\n")
    (tmp_path / "notes.txt").write_text("not yaml: [")
    (tmp_path / ".git" / "junk.yaml").write_text("kind: [")
    catalog = load_catalog(tmp_path)
    assert [Path(d.file).name for d in catalog.documents] == ["a.yaml"] * 4 + ["slo.yml"]
    assert (
        catalog.slos["checkout-availability"].source_file == (tmp_path / "b" / "deep" / "slo.yml").as_posix()
    )


def test_timestamps_stay_strings_in_document_bodies() -> None:
    catalog = load_catalog(FLEET)
    window = next(d for d in catalog.documents if d.name == "catalog-db-major-upgrade")
    assert window.body["spec"]["start"] == "2026-10-18T01:00:00Z"


# ---------------------------------------------------------------- one exact line per bad input

RATIO = {"displayName": "availability", "target": 0.999}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"objectives": [{"target": 1.5}]}, ["spec.objectives[0].target: must be < 1 (got 1.5)"]),
        ({"objectives": [{"target": 1}]}, ["spec.objectives[0].target: must be < 1 (got 1)"]),
        ({"objectives": [{"target": -0.1}]}, ["spec.objectives[0].target: must be >= 0 (got -0.1)"]),
        ({"objectives": [{"target": "0.99"}]}, ['spec.objectives[0].target: must be a number (got "0.99")']),
        (
            {"objectives": [{"targetPercent": 100}]},
            ["spec.objectives[0].targetPercent: must be < 100 (got 100)"],
        ),
        (
            {"objectives": [{"targetPercent": -5}]},
            ["spec.objectives[0].targetPercent: must be >= 0 (got -5)"],
        ),
        (
            {"objectives": [{"target": 0.9, "targetPercent": 90}]},
            ["spec.objectives[0]: set either target or targetPercent, not both"],
        ),
        (
            {"objectives": [{"displayName": "x"}]},
            ["spec.objectives[0].target: is required (or targetPercent)"],
        ),
        ({"objectives": []}, ["spec.objectives: must not be empty"]),
        ({"objectives": None}, ["spec.objectives: is required"]),
        (
            {"objectives": [RATIO, {**RATIO, "target": 0.99}]},
            ['spec.objectives[1].displayName: repeats objective 0 of this SLO (got "availability")'],
        ),
        (
            {"budgetingMethod": "Events"},
            ['spec.budgetingMethod: must be one of Occurrences, Timeslices, RatioTimeslices (got "Events")'],
        ),
        ({"budgetingMethod": None}, ["spec.budgetingMethod: is required"]),
        (
            {"budgetingMethod": "Timeslices"},
            [
                "spec.objectives[0].timeSliceTarget: is required when budgetingMethod is Timeslices",
                "spec.objectives[0].timeSliceWindow: is required when budgetingMethod is Timeslices",
            ],
        ),
        (
            {"budgetingMethod": "RatioTimeslices"},
            ["spec.objectives[0].timeSliceWindow: is required when budgetingMethod is RatioTimeslices"],
        ),
        (
            {
                "budgetingMethod": "Timeslices",
                "objectives": [{**RATIO, "timeSliceTarget": 1.2, "timeSliceWindow": "5m"}],
            },
            ["spec.objectives[0].timeSliceTarget: must be > 0 and <= 1 (got 1.2)"],
        ),
        (
            {
                "budgetingMethod": "Timeslices",
                "objectives": [{**RATIO, "timeSliceTarget": 0.9, "timeSliceWindow": "90s"}],
            },
            [
                "spec.objectives[0].timeSliceWindow: must be a multiple of the SLO's bucket of 60 s (got "
                '"90s")'
            ],
        ),
        (
            {
                "budgetingMethod": "Timeslices",
                "objectives": [{**RATIO, "timeSliceTarget": 0.9, "timeSliceWindow": "1M"}],
            },
            [
                "spec.objectives[0].timeSliceWindow: needs a fixed-length unit (s, m, h, d, w); "
                'M varies with the calendar (got "1M")'
            ],
        ),
        (
            {"indicatorRef": "checkout-p99"},
            [
                "spec.objectives[0].op: is required for a thresholdMetric indicator",
                "spec.objectives[0].value: is required for a thresholdMetric indicator",
            ],
        ),
        (
            {"indicatorRef": "checkout-p99", "objectives": [{**RATIO, "op": "eq", "value": 1}]},
            ['spec.objectives[0].op: must be one of lt, lte, gt, gte (got "eq")'],
        ),
        ({"service": None}, ["spec.service: is required"]),
        ({"indicatorRef": "nope"}, ['spec.indicatorRef: no SLI with this name in the catalog (got "nope")']),
        (
            {"indicatorRef": None},
            [
                "spec: needs indicator (inline SLI) or indicatorRef, or an indicator in every objective "
                "(a composite SLO)"
            ],
        ),
        (
            {"indicator": {"metadata": {"name": "x"}, "spec": {}}},
            ["spec: set either indicator or indicatorRef, not both"],
        ),
        (
            {"alertPolicies": ["missing-policy"]},
            ['spec.alertPolicies[0]: no AlertPolicy with this name in the catalog (got "missing-policy")'],
        ),
        (
            {"timeWindow": [{"duration": "28days", "isRolling": True}]},
            [
                "spec.timeWindow[0].duration: must be a whole number followed by one of the units "
                's, m, h, d, w, M, Q, Y such as 5m, 28d or 1M (got "28days")'
            ],
        ),
        ({"timeWindow": [{"duration": "0d"}]}, ['spec.timeWindow[0].duration: must be positive (got "0d")']),
        (
            {"timeWindow": [{"duration": "28d"}, {"duration": "7d"}]},
            ["spec.timeWindow: must hold exactly one window (got 2)"],
        ),
        (
            {"timeWindow": [{"duration": "1M", "isRolling": False}]},
            ["spec.timeWindow[0].calendar: is required when isRolling is false (startTime and timeZone)"],
        ),
        (
            {"timeWindow": [{"duration": "1M", "calendar": {"startTime": "2026-01-01 00:00:00"}}]},
            ["spec.timeWindow[0].calendar.timeZone: is required for calendar windows"],
        ),
        (
            {"timeWindow": [{"duration": "1M", "calendar": {"timeZone": "UTC"}}]},
            ["spec.timeWindow[0].calendar.startTime: is required for calendar windows"],
        ),
        (
            {
                "timeWindow": [
                    {"duration": "1M", "calendar": {"startTime": "2026-01-01", "timeZone": "Europe/Berln"}}
                ]
            },
            ['spec.timeWindow[0].calendar.timeZone: unknown time zone (got "Europe/Berln")'],
        ),
        (
            {
                "timeWindow": [
                    {"duration": "1M", "calendar": {"startTime": "2026-01-01T00:00:00Z", "timeZone": "UTC"}}
                ]
            },
            [
                "spec.timeWindow[0].calendar.startTime: must be a local wall-clock time without offset; "
                'the zone comes from calendar.timeZone (got "2026-01-01T00:00:00Z")'
            ],
        ),
        (
            {"timeWindow": [{"duration": "12h", "calendar": {"startTime": "2026-01-01", "timeZone": "UTC"}}]},
            [
                "spec.timeWindow[0].duration: calendar windows must be a positive count of d, w, M, Q or Y "
                'such as 1d, 2w, 1M (got "12h")'
            ],
        ),
        (
            {
                "timeWindow": [
                    {
                        "duration": "1M",
                        "isRolling": True,
                        "calendar": {"startTime": "2026-01-01", "timeZone": "UTC"},
                    }
                ]
            },
            ["spec.timeWindow[0].isRolling: must be false when calendar is set (got true)"],
        ),
    ],
)
def test_bad_slo_gives_exact_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spec: dict[str, Any], expected: list[str]
) -> None:
    lines = case_issues(tmp_path, monkeypatch, slo_doc(**copy.deepcopy(spec)))
    assert lines == [f"catalog/case.yaml[0] {line}" for line in expected]


@pytest.mark.parametrize(
    ("annotations", "expected"),
    [
        (
            {"slo-pipelines.io/no-data-policy": "skip"},
            "metadata.annotations[slo-pipelines.io/no-data-policy]: must be one of ignore, good, bad (got "
            '"skip")',
        ),
        (
            {"slo-pipelines.io/bucket-seconds": "0"},
            "metadata.annotations[slo-pipelines.io/bucket-seconds]: must be a positive whole number of "
            'seconds (got "0")',
        ),
        (
            {"slo-pipelines.io/bucket-seconds": "1m"},
            "metadata.annotations[slo-pipelines.io/bucket-seconds]: must be a positive whole number of "
            'seconds (got "1m")',
        ),
        (
            {"slo-pipelines.io/bucket-seconds": "7"},
            "metadata.annotations[slo-pipelines.io/bucket-seconds]: must divide a day (86400 s) evenly "
            "so buckets never straddle days (got 7)",
        ),
    ],
)
def test_bad_annotations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, annotations: dict[str, str], expected: str
) -> None:
    doc = slo_doc()
    doc["metadata"]["annotations"] = annotations
    assert case_issues(tmp_path, monkeypatch, doc) == [f"catalog/case.yaml[0] {expected}"]


def test_time_slice_window_must_fit_bucket_annotation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = slo_doc(
        budgetingMethod="Timeslices",
        objectives=[{"target": 0.99, "timeSliceTarget": 0.9, "timeSliceWindow": "7m"}],
    )
    doc["metadata"]["annotations"] = {"slo-pipelines.io/bucket-seconds": "300"}
    assert case_issues(tmp_path, monkeypatch, doc) == [
        "catalog/case.yaml[0] spec.objectives[0].timeSliceWindow: must be a multiple of the SLO's bucket "
        'of 300 s (got "7m")'
    ]


def _doc(kind: str, name: str, spec: dict[str, Any], api: str = "openslo/v1") -> dict[str, Any]:
    return {"apiVersion": api, "kind": kind, "metadata": {"name": name}, "spec": spec}


TARGET = {"kind": "AlertNotificationTarget", "metadata": {"name": "t"}, "spec": {"target": "email"}}


def _source(ref: str = "prom") -> dict[str, Any]:
    return {"metricSource": {"metricSourceRef": ref, "spec": {"query": "q"}}}


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        (
            _doc("SLI", "s", {"ratioMetric": {"good": _source("thanos"), "total": _source()}}),
            "spec.ratioMetric.good.metricSource.metricSourceRef: no DataSource with this name in the "
            'catalog (got "thanos")',
        ),
        (_doc("SLI", "s", {"ratioMetric": {"good": _source()}}), "spec.ratioMetric.total: is required"),
        (
            _doc("SLI", "s", {"ratioMetric": {"good": _source(), "bad": _source(), "total": _source()}}),
            "spec.ratioMetric: set either good or bad, not both",
        ),
        (_doc("SLI", "s", {}), "spec: needs ratioMetric or thresholdMetric"),
        (
            _doc("SLI", "s", {"thresholdMetric": {"metricSource": {"spec": {"query": "q"}}}}),
            "spec.thresholdMetric.metricSource: needs metricSourceRef or type to know which data source to "
            "query",
        ),
        (
            _doc("SLI", "s", {"thresholdMetric": {"metricSource": {"metricSourceRef": "prom"}}}),
            "spec.thresholdMetric.metricSource.spec: is required",
        ),
        (
            _doc(
                "AlertPolicy",
                "p",
                {"conditions": [{"conditionRef": "nope"}], "notificationTargets": [TARGET]},
            ),
            'spec.conditions[0].conditionRef: no AlertCondition with this name in the catalog (got "nope")',
        ),
        (
            _doc("AlertPolicy", "p", {"conditions": [], "notificationTargets": [TARGET]}),
            "spec.conditions: must not be empty",
        ),
        (
            _doc(
                "AlertPolicy",
                "p",
                {
                    "conditions": [
                        {
                            "kind": "AlertCondition",
                            "metadata": {"name": "c"},
                            "spec": {
                                "severity": "page",
                                "condition": {"op": "gte", "threshold": 1, "lookbackWindow": "1h"},
                            },
                        }
                    ],
                    "notificationTargets": [{"targetRef": "nobody"}],
                },
            ),
            "spec.notificationTargets[0].targetRef: no AlertNotificationTarget with this name in the "
            'catalog (got "nobody")',
        ),
        (
            _doc(
                "AlertCondition",
                "c",
                {"severity": "page", "condition": {"op": "gte", "threshold": "high", "lookbackWindow": "1h"}},
            ),
            'spec.condition.threshold: must be a number (got "high")',
        ),
        (
            _doc(
                "AlertCondition",
                "c",
                {"severity": "page", "condition": {"op": "gte", "threshold": 2, "lookbackWindow": "an hour"}},
            ),
            "spec.condition.lookbackWindow: must be a whole number followed by one of the units s, m, h, d, "
            "w, "
            'M, Q, Y such as 5m, 28d or 1M (got "an hour")',
        ),
        (_doc("AlertNotificationTarget", "t", {}), "spec.target: is required"),
        (_doc("DataSource", "d", {"connectionDetails": {}}), "spec.type: is required"),
    ],
)
def test_bad_openslo_documents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, doc: dict[str, Any], expected: str
) -> None:
    assert case_issues(tmp_path, monkeypatch, doc) == [f"catalog/case.yaml[0] {expected}"]


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        (
            {"kind": "Service", "metadata": {"name": "a"}},
            "apiVersion: is required (openslo/v1 or slo-pipelines/v1)",
        ),
        (
            {"apiVersion": "openslo/v1alpha", "kind": "Service", "metadata": {"name": "a"}},
            'apiVersion: must be openslo/v1 or slo-pipelines/v1 (got "openslo/v1alpha")',
        ),
        ({"apiVersion": "openslo/v1", "metadata": {"name": "a"}}, "kind: is required"),
        (
            {"apiVersion": "openslo/v1", "kind": "MaintenanceWindow", "metadata": {"name": "a"}},
            "kind: unknown kind for openslo/v1; MaintenanceWindow belongs to slo-pipelines/v1 (got "
            '"MaintenanceWindow")',
        ),
        ({"apiVersion": "openslo/v1", "kind": "Service"}, "metadata: is required"),
        ({"apiVersion": "openslo/v1", "kind": "Service", "metadata": {}}, "metadata.name: is required"),
        (
            {"apiVersion": "openslo/v1", "kind": "Service", "metadata": {"name": 7}},
            "metadata.name: must be a non-empty string (got 7)",
        ),
        (
            {"apiVersion": "openslo/v1", "kind": "Service", "metadata": {"name": "checkout"}},
            'metadata.name: Service "checkout" is already defined at catalog/base.yaml[0]',
        ),
        (
            [["a", "list"]],
            "a document must be a mapping with apiVersion, kind, metadata and spec (got a list)",
        ),
    ],
)
def test_bad_document_headers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, doc: Any, expected: str
) -> None:
    suffix = f" {expected}" if not expected.startswith("a document") else f": {expected}"
    assert case_issues(tmp_path, monkeypatch, doc) == [f"catalog/case.yaml[0]{suffix}"]


def test_same_name_in_different_kinds_is_fine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = load_catalog(write_catalog(tmp_path, monkeypatch, slo_doc(name="checkout")))
    assert "checkout" in catalog.slos and "checkout" in catalog.services


# ---------------------------------------------------------------- exclusions


def _window(kind: str = "MaintenanceWindow", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "scope": {"service": "checkout"},
        "start": "2026-03-01T02:00:00Z",
        "end": "2026-03-01T04:00:00Z",
        "reason": "Primary database major upgrade",
        "approvedBy": "change-board",
    }
    if kind == "Exclusion":
        body["category"] = "security_patch"
    for key, value in spec.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return _doc(kind, "w", body, api="slo-pipelines/v1")


RECURRING: dict[str, Any] = {
    "start": "2026-03-01T02:00:00",
    "end": None,
    "rrule": "FREQ=WEEKLY;BYDAY=SU",
    "duration": "2h",
}


def test_one_off_window_with_offsets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = _window(start="2026-03-29T01:30:00+01:00", end="2026-03-29T04:00:00+02:00", scope=None)
    (rule,) = load_catalog(write_catalog(tmp_path, monkeypatch, doc)).exclusions
    assert rule.start == int(datetime(2026, 3, 29, 0, 30, tzinfo=UTC).timestamp())
    assert rule.end == int(datetime(2026, 3, 29, 2, 0, tzinfo=UTC).timestamp())
    assert rule.scope == Scope() and rule.category == "maintenance"
    assert rule.source_file == "catalog/case.yaml"


def test_one_off_window_with_duration_and_exclusion_category(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = _window(
        "Exclusion", end=None, duration="90m", scope={"slo": "checkout-availability"}, evidence="CVE-2026-1"
    )
    (rule,) = load_catalog(write_catalog(tmp_path, monkeypatch, slo_doc(), doc)).exclusions
    assert rule.end is not None and rule.start is not None and rule.end - rule.start == 5400
    assert (rule.kind, rule.category, rule.evidence) == ("Exclusion", "security_patch", "CVE-2026-1")
    assert rule.scope.applies_to("checkout-availability", "other") and not rule.scope.applies_to(
        "x", "checkout"
    )


def test_recurring_window(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = _window(**RECURRING, timeZone="Europe/London", until="2027-01-01T00:00:00Z")
    (rule,) = load_catalog(write_catalog(tmp_path, monkeypatch, doc)).exclusions
    assert rule.is_recurring
    assert (rule.start_local, rule.rrule, rule.duration_seconds, rule.time_zone) == (
        "2026-03-01T02:00:00",
        "FREQ=WEEKLY;BYDAY=SU",
        7200,
        "Europe/London",
    )
    assert rule.until == epoch("2027-01-01T00:00:00+00:00")
    assert rule.start is None and rule.end is None


@pytest.mark.parametrize(
    ("kind", "spec", "expected"),
    [
        (
            "MaintenanceWindow",
            {"end": "2026-03-01T02:00:00Z"},
            ['spec.end: must be after start (got "2026-03-01T02:00:00Z")'],
        ),
        (
            "MaintenanceWindow",
            {"start": "2026-03-01T02:00:00"},
            ['spec.start: needs a UTC offset such as Z or +01:00 (got "2026-03-01T02:00:00")'],
        ),
        (
            "MaintenanceWindow",
            {"end": "March 1st"},
            ['spec.end: must be an ISO 8601 date-time such as 2026-03-01T02:00:00Z (got "March 1st")'],
        ),
        (
            "MaintenanceWindow",
            {"end": None},
            ["spec.end: is required (or duration, or rrule for a recurring window)"],
        ),
        (
            "Exclusion",
            {"category": "act_of_god"},
            [
                "spec.category: must be one of dependency_outage, security_patch, regulatory, other (got "
                '"act_of_god")'
            ],
        ),
        (
            "Exclusion",
            {"category": "maintenance"},
            [
                "spec.category: must be one of dependency_outage, security_patch, regulatory, other "
                '(maintenance belongs in a MaintenanceWindow) (got "maintenance")'
            ],
        ),
        ("Exclusion", {"category": None}, ["spec.category: is required"]),
        (
            "MaintenanceWindow",
            {"reason": None, "approvedBy": ""},
            ["spec.reason: is required", "spec.approvedBy: must not be empty"],
        ),
        (
            "MaintenanceWindow",
            {"scope": {"service": "shop"}},
            ['spec.scope.service: no Service with this name in the catalog (got "shop")'],
        ),
        (
            "MaintenanceWindow",
            {"scope": {"slo": "shop-speed"}},
            ['spec.scope.slo: no SLO with this name in the catalog (got "shop-speed")'],
        ),
        (
            "MaintenanceWindow",
            {"scope": {"team": "x"}},
            ["spec.scope.team: unknown scope field; use service or slo"],
        ),
        (
            "MaintenanceWindow",
            {"scope": {"service": "checkout", "slo": "x"}},
            ["spec.scope: set either service or slo, not both"],
        ),
        (
            "MaintenanceWindow",
            {"evidence": 42},
            ["spec.evidence: must be a string or a list of strings (got 42)"],
        ),
        (
            "MaintenanceWindow",
            {**RECURRING, "rrule": "FREQ=FORTNIGHTLY"},
            ["spec.rrule: invalid 'FREQ': FORTNIGHTLY (got \"FREQ=FORTNIGHTLY\")"],
        ),
        (
            "MaintenanceWindow",
            {**RECURRING, "rrule": "every sunday"},
            ['spec.rrule: not a valid RRULE such as FREQ=WEEKLY;BYDAY=SU (got "every sunday")'],
        ),
        (
            "MaintenanceWindow",
            {**RECURRING, "rrule": "FREQ=WEEKLY;UNTIL=20270101T000000Z"},
            [
                "spec.rrule: UNTIL must be local time without Z; or give spec.until with an offset "
                '(got "FREQ=WEEKLY;UNTIL=20270101T000000Z")'
            ],
        ),
        (
            "MaintenanceWindow",
            {**RECURRING, "rrule": "FREQ=WEEKLY;COUNT=0"},
            ['spec.rrule: has no occurrence at or after spec.start (got "FREQ=WEEKLY;COUNT=0")'],
        ),
        (
            "MaintenanceWindow",
            {**RECURRING, "rrule": "DTSTART:20260101T000000\nRRULE:FREQ=DAILY"},
            [
                "spec.rrule: must not contain DTSTART; the first occurrence is spec.start "
                '(got "DTSTART:20260101T000000\\nRRULE:FREQ=DAILY")'
            ],
        ),
        (
            "MaintenanceWindow",
            {**RECURRING, "start": "2026-03-01T02:00:00Z"},
            [
                "spec.start: must be a local wall-clock time without offset; the zone comes from "
                "spec.timeZone "
                '(got "2026-03-01T02:00:00Z")'
            ],
        ),
        (
            "MaintenanceWindow",
            {**RECURRING, "duration": None},
            ["spec.duration: is required for a recurring window"],
        ),
        (
            "MaintenanceWindow",
            {**RECURRING, "timeZone": "Mars/Olympus"},
            ['spec.timeZone: unknown time zone (got "Mars/Olympus")'],
        ),
        (
            "MaintenanceWindow",
            {**RECURRING, "until": "2026-02-01T00:00:00Z"},
            ['spec.until: must be after the first occurrence (got "2026-02-01T00:00:00Z")'],
        ),
        (
            "MaintenanceWindow",
            {**RECURRING, "end": "2026-03-01T04:00:00Z"},
            ["spec.end: recurring windows take duration, not end"],
        ),
    ],
)
def test_bad_exclusions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, spec: dict[str, Any], expected: list[str]
) -> None:
    lines = case_issues(tmp_path, monkeypatch, _window(kind, **spec))
    assert lines == [f"catalog/case.yaml[0] {line}" for line in expected]


# ---------------------------------------------------------------- extension kinds


def _ext(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    return _doc(kind, "e", spec, api="slo-pipelines/v1")


CONTRACT = {
    "customer": "ACME",
    "slos": ["checkout-availability"],
    "period": {"calendar": "month", "timeZone": "UTC"},
    "downtime": {"sliBelow": 0.95},
    "target": 99.9,
    "credits": [{"below": 99.9, "credit": 10}],
    "honours": ["maintenance"],
}


def test_extension_kinds_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = [
        slo_doc(),
        _ext("SLAContract", CONTRACT),
        _ext("BudgetPolicy", {"thresholds": [{"remainingBelow": 0, "actions": ["freeze_deploys"]}]}),
        _ext("Team", {"owners": ["ana"], "services": ["checkout"]}),
        _ext("Dependency", {"service": "checkout", "upstream": "psp", "indicatorRef": "checkout-requests"}),
        _ext("UserJourney", {"slos": ["checkout-availability"]}),
        _ext("EdgeCasePolicy", {"retries": "final_attempt", "scope": {"service": "checkout"}}),
    ]
    catalog = load_catalog(write_catalog(tmp_path, monkeypatch, *docs))
    assert catalog.budget_policies == {
        "e": {"thresholds": [{"remainingBelow": 0, "actions": ["freeze_deploys"]}]}
    }
    kinds = [d.kind for d in catalog.other if d.file == "catalog/case.yaml"]
    assert kinds == ["SLAContract", "Team", "Dependency", "UserJourney", "EdgeCasePolicy"]


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        (
            _ext("SLAContract", {**CONTRACT, "slos": ["nope"]}),
            ['spec.slos[0]: no SLO with this name in the catalog (got "nope")'],
        ),
        (
            _ext("SLAContract", {**CONTRACT, "period": {"calendar": "week", "timeZone": "Nowhere/City"}}),
            [
                'spec.period.calendar: must be one of month, quarter (got "week")',
                'spec.period.timeZone: unknown time zone (got "Nowhere/City")',
            ],
        ),
        (
            _ext("SLAContract", {**CONTRACT, "target": 101, "honours": ["holidays"]}),
            [
                "spec.target: must be a percentage > 0 and <= 100 (got 101)",
                "spec.honours[0]: must be one of maintenance, dependency_outage, security_patch, regulatory, "
                'other (got "holidays")',
            ],
        ),
        (_ext("BudgetPolicy", {}), ["spec.thresholds: is required"]),
        (
            _ext("BudgetPolicy", {"thresholds": [{"remainingBelow": 2, "actions": []}]}),
            [
                "spec.thresholds[0].remainingBelow: must be <= 1 (got 2)",
                "spec.thresholds[0].actions: must not be empty",
            ],
        ),
        (
            _ext("Team", {"owners": ["ana"], "services": ["ghost"]}),
            ['spec.services[0]: no Service with this name in the catalog (got "ghost")'],
        ),
        (
            _ext("Dependency", {"service": "ghost", "upstream": "psp"}),
            ['spec.service: no Service with this name in the catalog (got "ghost")'],
        ),
        (_ext("UserJourney", {"slos": []}), ["spec.slos: must not be empty"]),
        (_ext("EdgeCasePolicy", {"retries": 3}), ["spec.retries: must be a string (got 3)"]),
    ],
)
def test_bad_extension_documents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, doc: dict[str, Any], expected: list[str]
) -> None:
    lines = case_issues(tmp_path, monkeypatch, slo_doc(), doc)
    assert lines == [f"catalog/case.yaml[1] {line}" for line in expected]


# ---------------------------------------------------------------- files, YAML and many errors at once


def test_missing_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert issues_of("nowhere") == ["nowhere: no such file or directory"]


def test_empty_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    assert issues_of("empty") == ["empty: no *.yaml or *.yml files found"]


def test_directory_with_only_empty_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / "a.yaml").write_text("# nothing yet\n")
    assert issues_of("cat") == ["cat: the catalog holds no documents"]


def test_duplicate_yaml_keys_are_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / "a.yaml").write_text(
        "apiVersion: openslo/v1\nkind: Service\nkind: SLO\nmetadata: {name: a}\n"
    )
    assert issues_of("cat") == [
        "cat/a.yaml[0]: malformed YAML: found duplicate key 'kind' at line 3, column 1"
    ]


def test_malformed_yaml_keeps_earlier_documents_and_other_files() -> None:
    lines = issues_of(FIXTURES / "bad_yaml")
    assert len(lines) == 1
    assert lines[0].startswith(f"{(FIXTURES / 'bad_yaml' / 'only.yaml').as_posix()}[1]: malformed YAML: ")
    assert "line" in lines[0]


def test_bad_catalog_fixture_reports_every_error_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES)
    yaml_problem, *lines = issues_of("bad_catalog")
    # The parser's wording differs between libyaml and pure Python; the location does not.
    assert yaml_problem.startswith("bad_catalog/broken.yml[1]: malformed YAML: ")
    assert yaml_problem.endswith("at line 9, column 1") and "',' or ']'" in yaml_problem
    assert lines == [
        'bad_catalog/exclusions.yaml[0] spec.end: must be after start (got "2026-03-01T02:00:00Z")',
        "bad_catalog/exclusions.yaml[1] spec.scope.slo: no SLO with this name in the catalog (got "
        '"checkout-speed")',
        'bad_catalog/exclusions.yaml[1] spec.timeZone: unknown time zone (got "Europe/Londn")',
        "bad_catalog/exclusions.yaml[1] spec.rrule: invalid 'FREQ': FORTNIGHTLY (got \"FREQ=FORTNIGHTLY\")",
        "bad_catalog/exclusions.yaml[2] spec.category: must be one of dependency_outage, security_patch, "
        'regulatory, other (got "act_of_god")',
        "bad_catalog/exclusions.yaml[2] spec.start: needs a UTC offset such as Z or +01:00 (got "
        '"2026-03-02T10:00:00")',
        'bad_catalog/services.yaml[1] metadata.name: Service "checkout" is already defined at '
        "bad_catalog/services.yaml[0]",
        'bad_catalog/services.yaml[2] apiVersion: must be openslo/v1 or slo-pipelines/v1 (got "openslo/v2")',
        "bad_catalog/services.yaml[3] kind: unknown kind for slo-pipelines/v1; known kinds: "
        "MaintenanceWindow, "
        "Exclusion, SLAContract, BudgetPolicy, Team, Dependency, UserJourney, EdgeCasePolicy, Incident, "
        'IncidentSeverityPolicy (got "Gadget")',
        "bad_catalog/slos.yaml[2] spec.objectives[0].target: must be < 1 (got 1.5)",
        "bad_catalog/slos.yaml[3] spec.indicatorRef: no SLI with this name in the catalog (got "
        '"basket-requests")',
        "bad_catalog/slos.yaml[3] spec.timeWindow[0].duration: must be a whole number followed by one of the "
        'units s, m, h, d, w, M, Q, Y such as 5m, 28d or 1M (got "4 weeks")',
        "bad_catalog/slos.yaml[3] spec.objectives[0].targetPercent: must be < 100 (got 100)",
        "bad_catalog/slos.yaml[3] spec.objectives[0].timeSliceTarget: is required when budgetingMethod is "
        "Timeslices",
        "bad_catalog/slos.yaml[3] spec.objectives[0].timeSliceWindow: is required when budgetingMethod is "
        "Timeslices",
    ]


def test_one_bad_objective_among_several_names_the_right_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    objectives = [{"target": 0.99}, {"target": 0.999}, {"targetPercent": 250}]
    docs = [slo_doc(name="a"), slo_doc(name="b", objectives=objectives, service="ghost")]
    assert case_issues(tmp_path, monkeypatch, *docs) == [
        "catalog/case.yaml[1] spec.objectives[2].targetPercent: must be < 100 (got 250)",
    ]


def test_invalid_sli_is_reported_once_not_again_by_each_slo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad_sli = _doc("SLI", "broken", {"ratioMetric": {"good": _source()}})
    docs = [bad_sli, slo_doc(name="a", indicatorRef="broken"), slo_doc(name="b", indicatorRef="broken")]
    assert case_issues(tmp_path, monkeypatch, *docs) == [
        "catalog/case.yaml[0] spec.ratioMetric.total: is required"
    ]


def test_misspelt_extension_annotation_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "slo.yaml").write_text(
        """apiVersion: openslo/v1
kind: Service
metadata: {name: svc}
spec: {}
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: svc-availability
  annotations: {slo-pipelines.io/no-data-polcy: bad, example.com/owner: team-a}
spec:
  service: svc
  indicator:
    metadata: {name: svc-requests}
    spec:
      ratioMetric:
        good: {metricSource: {type: Prometheus, spec: {query: good}}}
        total: {metricSource: {type: Prometheus, spec: {query: total}}}
  timeWindow: [{duration: 28d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.99}]
"""
    )
    with pytest.raises(CatalogError) as exc:
        load_catalog(tmp_path)
    [issue] = exc.value.issues
    assert str(issue).endswith(
        "slo.yaml[1] metadata.annotations[slo-pipelines.io/no-data-polcy]: unknown annotation; known: "
        "slo-pipelines.io/no-data-policy, slo-pipelines.io/bucket-seconds, slo-pipelines.io/measured-since, "
        "slo-pipelines.io/demo-rate, slo-pipelines.io/region-mode, slo-pipelines.io/alerting"
    )


@pytest.mark.parametrize(
    ("annotation", "duration", "expected"),
    [
        (
            "²",
            "28d",
            "metadata.annotations[slo-pipelines.io/bucket-seconds]: must be a positive whole number",
        ),
        ("60", "100000000d", "spec.timeWindow[0].duration: must be at most 5 years"),
    ],
)
def test_odd_numbers_are_field_errors(tmp_path: Path, annotation: str, duration: str, expected: str) -> None:
    (tmp_path / "slo.yaml").write_text(
        f"""apiVersion: openslo/v1
kind: Service
metadata: {{name: svc}}
spec: {{}}
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: svc-availability
  annotations: {{slo-pipelines.io/bucket-seconds: "{annotation}"}}
spec:
  service: svc
  indicator:
    metadata: {{name: svc-requests}}
    spec:
      ratioMetric:
        good: {{metricSource: {{type: Prometheus, spec: {{query: good}}}}}}
        total: {{metricSource: {{type: Prometheus, spec: {{query: total}}}}}}
  timeWindow: [{{duration: {duration}, isRolling: true}}]
  budgetingMethod: Occurrences
  objectives: [{{target: 0.99}}]
"""
    )
    with pytest.raises(CatalogError) as exc:
        load_catalog(tmp_path)
    assert any(expected in str(issue) for issue in exc.value.issues), str(exc.value)
