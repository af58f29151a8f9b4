"""Typed view of a loaded catalog: what the engine, the assets and the reports consume.

The loader turns YAML documents into these frozen dataclasses once, so everything downstream works
with validated, normalised values (targets as ratios, durations in seconds, zones as IANA names).
"""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from slo_pipelines.catalog.errors import CatalogIssue

BudgetingMethod = Literal["Occurrences", "Timeslices", "RatioTimeslices"]
NoDataPolicy = Literal["ignore", "good", "bad"]
ThresholdOp = Literal["lt", "lte", "gt", "gte"]
ExclusionCategory = Literal["maintenance", "dependency_outage", "security_patch", "regulatory", "other"]

DEFAULT_BUCKET_SECONDS = 60


@dataclass(frozen=True)
class Duration:
    """An OpenSLO duration such as `28d` or `1M`: a count and a unit among m, h, d, w, M, Q, Y."""

    count: int
    unit: str

    def __str__(self) -> str:
        return f"{self.count}{self.unit}"

    @property
    def is_calendar_unit(self) -> bool:
        return self.unit in ("M", "Q", "Y")

    def nominal_seconds(self) -> int:
        """Length used for scaling alert thresholds: a month counts as 30 d, a quarter 90 d, a year 365 d."""
        per_unit = {
            "s": 1,
            "m": 60,
            "h": 3600,
            "d": 86400,
            "w": 7 * 86400,
            "M": 30 * 86400,
            "Q": 90 * 86400,
            "Y": 365 * 86400,
        }
        return self.count * per_unit[self.unit]


@dataclass(frozen=True)
class TimeWindow:
    """`rolling` windows end at the evaluation instant; calendar windows start at a period boundary."""

    duration: Duration
    is_rolling: bool
    calendar_start: str | None = None  # local wall-clock ISO time without offset, e.g. 2026-01-01T00:00:00
    time_zone: str = "UTC"


@dataclass(frozen=True)
class Indicator:
    """The SLI definition after resolving `indicatorRef`; metric queries are kept for ingestion."""

    name: str
    kind: Literal["ratio", "threshold"]
    good_query: dict[str, Any] | None = None
    bad_query: dict[str, Any] | None = None
    total_query: dict[str, Any] | None = None
    threshold_query: dict[str, Any] | None = None
    counter: bool = False
    raw_query: dict[str, Any] | None = None  # ratioMetric.raw: the source already reports a ratio
    raw_type: Literal["success", "failure"] | None = None


def budget_fraction(target: float) -> float:
    """1 − target computed in decimal from the target's shortest representation (see Objective)."""
    return float(Decimal(1) - Decimal(repr(float(target))))


@dataclass(frozen=True)
class Objective:
    """One objective of an SLO; each objective is evaluated and reported separately."""

    name: str  # displayName, or "objective-<index>" when unnamed
    index: int
    target: float  # ratio in [0, 1)
    op: ThresholdOp | None = None  # thresholdMetric objectives
    value: float | None = None
    time_slice_target: float | None = None  # Timeslices: minimum slice ratio for a good slice
    time_slice_window_seconds: int | None = None
    indicator: Indicator | None = None  # an objective's own indicator; None means the SLO's

    @property
    def budget_fraction(self) -> float:
        """The error budget as a fraction of the events (or slices): 1 − target, taken in decimal from the
        target as written, so 0.999 gives 0.001 exactly and budgets print without float noise
        (0.001 × 1,443,249 = 1443.249, where 1.0 − 0.999 would give 1443.248999999841)."""
        return budget_fraction(self.target)


@dataclass(frozen=True)
class BurnRateCondition:
    """An OpenSLO AlertCondition of kind `burnrate`, reached through one of the SLO's AlertPolicies.

    It fires when the burn rate over `lookback_seconds` compares with `threshold` by `op` and has done so
    for `alert_after_seconds` (OpenSLO `alertAfter`, Prometheus `for:`)."""

    policy: str
    condition: str
    severity: str
    op: ThresholdOp
    threshold: float
    lookback_seconds: int
    alert_after_seconds: int = 0
    notification_targets: tuple[str, ...] = ()


@dataclass(frozen=True)
class SLO:
    """An SLO; `indicator` is None for a composite SLO, whose objectives each carry their own."""

    name: str
    service: str
    description: str
    indicator: Indicator | None
    time_window: TimeWindow
    budgeting_method: BudgetingMethod
    objectives: tuple[Objective, ...]
    alert_policies: tuple[str, ...] = ()
    # the burn-rate conditions of those policies; `default_alerts` False when the SLO's
    # `slo-pipelines.io/alerting: policy` annotation turns the multi-window multi-burn-rate pairs off
    policy_alerts: tuple[BurnRateCondition, ...] = ()
    default_alerts: bool = True
    no_data_policy: NoDataPolicy = "ignore"
    bucket_seconds: int = DEFAULT_BUCKET_SECONDS
    measured_since: int | None = None  # epoch s; None: from the SLO's first bucket (DESIGN.md §3)
    annotations: dict[str, str] = field(default_factory=dict)
    source_file: str = ""

    @property
    def is_composite(self) -> bool:
        return self.indicator is None

    def indicator_of(self, objective: Objective) -> Indicator:
        """The indicator an objective is evaluated on: its own, else the SLO's."""
        found = objective.indicator or self.indicator
        assert found is not None, "the catalog gives every objective of a composite SLO an indicator"
        return found

    def data_key(self, objective: Objective) -> str:
        """The `slo` value of this objective's sample rows: the SLO name, or `SLO/objective` for an
        objective with its own indicator (a composite SLO's objectives measure different things)."""
        return self.name if objective.indicator is None else f"{self.name}/{objective.name}"

    def data_keys(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.data_key(o) for o in self.objectives))


@dataclass(frozen=True)
class Scope:
    """Which SLOs an exclusion applies to: all (both None), one service, or one SLO."""

    service: str | None = None
    slo: str | None = None

    def applies_to(self, slo_name: str, service: str) -> bool:
        if self.slo is not None:
            return self.slo == slo_name
        if self.service is not None:
            return self.service == service
        return True


@dataclass(frozen=True)
class ExclusionRule:
    """A MaintenanceWindow or Exclusion document, one-off (start/end, UTC epoch seconds) or recurring.

    Recurring rules keep `start_local` (wall-clock ISO without offset) + `rrule` + `duration_seconds`
    + `time_zone`; the engine expands them into concrete intervals.
    """

    name: str
    kind: Literal["MaintenanceWindow", "Exclusion"]
    category: str  # "maintenance" for MaintenanceWindow, else the Exclusion's spec.category
    scope: Scope
    reason: str
    approved_by: str
    start: int | None = None  # one-off: epoch seconds, UTC
    end: int | None = None
    start_local: str | None = None  # recurring
    rrule: str | None = None
    duration_seconds: int | None = None
    time_zone: str = "UTC"
    until: int | None = None  # epoch seconds
    evidence: str | None = None
    source_file: str = ""

    @property
    def is_recurring(self) -> bool:
        return self.rrule is not None


@dataclass(frozen=True)
class Service:
    name: str
    description: str = ""


@dataclass(frozen=True)
class Document:
    """One raw YAML document with where it came from, for error messages and digests."""

    file: str
    index: int
    api_version: str
    kind: str
    name: str
    body: dict[str, Any]


@dataclass(frozen=True)
class Catalog:
    documents: tuple[Document, ...]
    services: dict[str, Service]
    slos: dict[str, SLO]
    exclusions: tuple[ExclusionRule, ...]
    budget_policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    other: tuple[Document, ...] = ()  # kinds loaded and checked but consumed by later features
    warnings: tuple[CatalogIssue, ...] = ()  # valid but worth a look (missing Service, constant SLI)

    def slos_by_data_key(self) -> dict[str, SLO]:
        """Every `slo` value sample rows may carry, with its SLO: the SLO names, plus `SLO/objective` for
        each objective with its own indicator (`SLO.data_key`)."""
        return {key: slo for slo in self.slos.values() for key in slo.data_keys()}

    def digest(self) -> str:
        """sha256 over the canonical JSON of every document, order-independent."""
        import hashlib
        import json

        canon = sorted(
            json.dumps(
                {"apiVersion": d.api_version, "kind": d.kind, "name": d.name, "body": d.body},
                sort_keys=True,
                default=str,
                separators=(",", ":"),
            )
            for d in self.documents
        )
        return hashlib.sha256("\n".join(canon).encode()).hexdigest()
