"""The engine's output records; `to_json` is the `slo evaluate` contract of DESIGN.md §6."""

import math
from dataclasses import dataclass, field
from typing import Any

from slo_pipelines.engine.common.timeutil import format_instant


def _num(x: float | None) -> float | None:
    if x is None or isinstance(x, int):  # an int is an exact sum beyond float64's exact range
        return x
    f = float(x)
    return None if math.isnan(f) else f


@dataclass(frozen=True)
class FiringAlert:
    severity: str
    long_window: str
    short_window: str
    threshold: float
    # set for an AlertPolicy's burnrate condition (one window: long_window = short_window = lookback)
    policy: str | None = None
    condition: str | None = None
    op: str | None = None
    alert_after: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "severity": self.severity,
            "long_window": self.long_window,
            "short_window": self.short_window,
            "threshold": self.threshold,
        }
        if self.policy is not None:
            out.update(
                lookback=self.long_window,
                op=self.op,
                alert_after=self.alert_after,
                policy=self.policy,
                condition=self.condition,
            )
        return out


@dataclass(frozen=True)
class AppliedExclusion:
    """An exclusion occurrence that touched a window, with the time it removed from that window."""

    name: str
    kind: str
    category: str
    reason: str
    approved_by: str
    start: int
    end: int
    excluded_seconds: int

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "category": self.category,
            "reason": self.reason,
            "approved_by": self.approved_by,
            "start": format_instant(self.start),
            "end": format_instant(self.end),
            "excluded_seconds": self.excluded_seconds,
        }


@dataclass(frozen=True)
class SLOResult:
    name: str
    service: str
    objective: str
    budgeting_method: str
    target: float
    at: int
    window_start: int
    window_end: int
    good: float
    total: float
    sli: float | None
    excluded_seconds: int
    coverage: float | None
    allowed_bad: float
    consumed_bad: float
    remaining_ratio: float | None
    burn_rates: dict[str, float | None]
    alerts: tuple[FiringAlert, ...]
    status: str
    bucket_seconds: int
    catalog_digest: str
    buckets_digest: str
    exclusions: tuple[AppliedExclusion, ...] = field(default=())
    not_measured_seconds: int = 0  # window time before the SLO's measurement starts (DESIGN.md §3)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "service": self.service,
            "objective": self.objective,
            "budgeting_method": self.budgeting_method,
            "target": self.target,
            "window": {"start": format_instant(self.window_start), "end": format_instant(self.window_end)},
            "good": _num(self.good),
            "total": _num(self.total),
            "sli": _num(self.sli),
            "excluded_seconds": self.excluded_seconds,
            "not_measured_seconds": self.not_measured_seconds,
            "coverage": _num(self.coverage),
            "error_budget": {
                "allowed_bad": _num(self.allowed_bad),
                "consumed_bad": _num(self.consumed_bad),
                "remaining_ratio": _num(self.remaining_ratio),
            },
            "burn_rates": {k: _num(v) for k, v in self.burn_rates.items()},
            "alerts": [a.to_json() for a in self.alerts],
            "status": self.status,
            "bucket_seconds": self.bucket_seconds,
            "digest": {"catalog": self.catalog_digest, "buckets": self.buckets_digest},
            "exclusions": [e.to_json() for e in self.exclusions],
        }
