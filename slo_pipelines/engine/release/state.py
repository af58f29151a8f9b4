"""The budget state of one SLO objective at one instant, as release decisions read it.

It comes either from an evaluation (`SLOResult`, `slo gate --samples`) or from a stored budget snapshot
row (`slo gate --warehouse`); both carry the same numbers (DESIGN.md §3), so every release rule sees one
shape.
"""

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slo_pipelines.engine.budgets.results import SLOResult


@dataclass(frozen=True)
class PageAlert:
    """A firing page-severity multi-window alert (Google SRE workbook pair)."""

    long_window: str
    short_window: str
    threshold: float

    def describe(self) -> str:
        return f"burn rate over {self.long_window} and {self.short_window} > {self.threshold:g}"


@dataclass(frozen=True)
class ObjectiveState:
    """Budget numbers of one objective: `remaining_ratio` is the fraction of the error budget left
    (1 untouched, 0 spent, negative overspent; None without data); burn rates are multiples of the
    sustainable rate, keyed by lookback (`5m` ... `3d`)."""

    slo: str
    service: str
    objective: str
    target: float
    at: int
    remaining_ratio: float | None
    allowed_bad: float
    consumed_bad: float
    burn_rates: Mapping[str, float | None]
    page_alerts: tuple[PageAlert, ...]
    status: str
    period_seconds: int

    def to_json(self) -> dict[str, Any]:
        return {
            "slo": self.slo,
            "objective": self.objective,
            "target": self.target,
            "remaining_ratio": self.remaining_ratio,
            "allowed_bad": self.allowed_bad,
            "consumed_bad": self.consumed_bad,
            "burn_rates": dict(self.burn_rates),
            "page_alerts": [a.describe() for a in self.page_alerts],
            "status": self.status,
        }


def _number(x: Any) -> float | None:
    if x is None:
        return None
    f = float(x)
    return None if math.isnan(f) else f


def from_result(result: SLOResult, period_seconds: int) -> ObjectiveState:
    return ObjectiveState(
        slo=result.name,
        service=result.service,
        objective=result.objective,
        target=result.target,
        at=result.at,
        remaining_ratio=_number(result.remaining_ratio),
        allowed_bad=float(result.allowed_bad),
        consumed_bad=float(result.consumed_bad),
        burn_rates=dict(result.burn_rates),
        page_alerts=tuple(
            PageAlert(a.long_window, a.short_window, a.threshold)
            for a in result.alerts
            if a.severity == "page"
        ),
        status=result.status,
        period_seconds=period_seconds,
    )


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def from_snapshot(row: Mapping[str, Any], service: str, target: float, period_seconds: int) -> ObjectiveState:
    """A `budget_snapshots` row (DESIGN.md §4); `burn_rates` and `alerts` may be JSON text."""
    burns = {str(k): _number(v) for k, v in (_json(row.get("burn_rates")) or {}).items()}
    alerts = _json(row.get("alerts")) or []
    return ObjectiveState(
        slo=str(row["slo"]),
        service=service,
        objective=str(row["objective"]),
        target=target,
        at=int(row["at"]),
        remaining_ratio=_number(row.get("remaining_ratio")),
        allowed_bad=float(row["allowed_bad"]),
        consumed_bad=float(row["consumed_bad"]),
        burn_rates=burns,
        page_alerts=tuple(
            PageAlert(str(a["long_window"]), str(a["short_window"]), float(a["threshold"]))
            for a in alerts
            if a.get("severity") == "page"
        ),
        status=str(row["status"]),
        period_seconds=period_seconds,
    )
