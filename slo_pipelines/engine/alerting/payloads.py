"""Turn a burn-rate alert event into a provider-neutral notification, and decide whether it may go out.

Everything an on-call engineer needs to act without opening another tool travels in the notification:
remaining budget, the seven burn rates, the SLO window, the hour that burnt most, runbook and dashboard
links. A notification that must not go out (low traffic, a known incident, a maintenance window) is
not dropped: `gate` returns a `Decision` with the reason, which the caller records like a delivery.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
import pandas as pd

from slo_pipelines.engine.alerting.rules import LOOKBACKS, window_seconds
from slo_pipelines.engine.exclusions.intervals import ExclusionInterval

Action = Literal["trigger", "resolve"]
ACTIONS: tuple[str, ...] = ("trigger", "resolve")
# Alert severity → PagerDuty Events v2 `severity`: the default pairs' page/ticket, and the words
# AlertCondition `severity` commonly uses (docs/prometheus-rules.md has the table, with Opsgenie's).
PROVIDER_SEVERITY: dict[str, str] = {
    "page": "critical",
    "critical": "critical",
    "high": "error",
    "error": "error",
    "ticket": "warning",
    "warning": "warning",
    "medium": "warning",
    "low": "info",
    "info": "info",
}
DEDUP_KEY_MAX = 255
SUMMARY_MAX = 1024
DEFAULT_MIN_EVENTS = 100
RUNBOOK_ANNOTATION = "runbook_url"
DASHBOARD_ANNOTATION = "dashboard_url"
"""Annotation names Prometheus alerting rules use; OpenSLO annotations are free-form and load unchanged."""
HOUR = 3600


class AlertPayloadError(ValueError):
    """An alert event or its context cannot make a notification; the message names the field and value."""


@dataclass(frozen=True)
class AlertEvent:
    """One firing run of one alert rule, as `engine.alert_events` emits and the warehouse stores it."""

    slo: str
    objective: str
    severity: str  # page | ticket, or an AlertCondition's severity (a PROVIDER_SEVERITY key)
    long_window: str
    short_window: str
    threshold: float
    started_at: int
    ended_at: int | None = None

    @classmethod
    def from_row(cls, row: "Mapping[str, Any] | pd.Series") -> "AlertEvent":
        """From an `alert_events` row (dict or pandas Series); a null `ended_at` (None, NaN, pd.NA) means
        still firing."""
        ended = row.get("ended_at")
        open_ = ended is None or bool(pd.isna(ended))
        event = cls(
            slo=str(row["slo"]),
            objective=str(row["objective"]),
            severity=str(row["severity"]),
            long_window=str(row["long_window"]),
            short_window=str(row["short_window"]),
            threshold=float(row["threshold"]),
            started_at=int(row["started_at"]),
            ended_at=None if open_ else int(ended),  # type: ignore[arg-type]
        )
        event.check()
        return event

    def check(self) -> None:
        where = f"alert event {self.slo}/{self.objective}"
        if self.severity not in PROVIDER_SEVERITY:
            raise AlertPayloadError(
                f"{where}: severity must be one of {', '.join(PROVIDER_SEVERITY)} (got {self.severity!r})"
            )
        for name, window in (("long_window", self.long_window), ("short_window", self.short_window)):
            try:
                window_seconds(window)
            except ValueError:
                raise AlertPayloadError(
                    f"{where}: {name} must be a window such as {', '.join(LOOKBACKS)} (got {window!r})"
                ) from None
        if self.ended_at is not None and self.ended_at < self.started_at:
            raise AlertPayloadError(
                f"{where}: ended_at must not be before started_at (got {self.ended_at} < {self.started_at})"
            )


@dataclass(frozen=True)
class Links:
    runbook_url: str | None = None
    dashboard_url: str | None = None


@dataclass(frozen=True)
class BudgetContext:
    """The budget state at the instant a notification describes (the event's start or end)."""

    service: str
    target: float
    remaining_ratio: float | None
    burn_rates: Mapping[str, float | None]
    window_start: int
    window_end: int
    long_window_events: float  # Σtotal over the alert's long window, for the low-traffic guard
    top_burning_hour: int | None = None  # start of the hour of the window with the most bad events
    top_burning_hour_bad: float | None = None
    links: Links = field(default_factory=Links)


@dataclass(frozen=True)
class Notification:
    """What every provider needs, in neutral terms; each notifier maps it to its own request."""

    action: Action
    dedup_key: str
    summary: str
    severity: str  # provider severity: critical | warning
    alert_severity: str  # page | ticket
    source: str
    slo: str
    objective: str
    service: str
    started_at: int
    ended_at: int | None
    occurred_at: int  # started_at for a trigger, ended_at for a resolve
    details: dict[str, Any]
    links: Links = field(default_factory=Links)


@dataclass(frozen=True)
class Decision:
    """Whether a notification may be sent; `rule` and `reason` say why not, for the delivery log."""

    send: bool
    rule: str = ""  # "" | low_traffic | incident | maintenance
    reason: str = ""


SEND = Decision(True)


@dataclass(frozen=True)
class KnownIncident:
    """An incident already open with responders on it (from PagerDuty/Opsgenie polling or the inbox)."""

    id: str
    service: str
    started_at: int
    ended_at: int | None = None  # None = still open
    title: str = ""

    def covers(self, service: str, at: int) -> bool:
        return (
            self.service == service
            and self.started_at <= at
            and (self.ended_at is None or at < self.ended_at)
        )


def dedup_key(event: AlertEvent) -> str:
    """Stable across runs and processes: the same rule of the same objective always maps to one key.

    Providers group a trigger and its resolve by this key, so it must not contain the start time.
    """
    rule = f"{event.severity}/{event.long_window}-{event.short_window}"
    key = f"slo-pipelines/{event.slo}/{event.objective}/{rule}"
    if len(key) > DEDUP_KEY_MAX:
        raise AlertPayloadError(
            f"alert event {event.slo}/{event.objective}: dedup key is {len(key)} characters, "
            f"over the {DEDUP_KEY_MAX} providers accept (shorten the SLO or objective name)"
        )
    return key


def links_from_annotations(annotations: Mapping[str, str], fallback: Links = Links()) -> Links:
    """Runbook/dashboard links from an SLO's `runbook_url`/`dashboard_url` annotations, else `fallback`.

    `{slo}` in a fallback URL is replaced by the SLO name, so one dashboard template serves the fleet.
    """
    return Links(
        runbook_url=annotations.get(RUNBOOK_ANNOTATION) or fallback.runbook_url,
        dashboard_url=annotations.get(DASHBOARD_ANNOTATION) or fallback.dashboard_url,
    )


def fill_links(links: Links, slo: str) -> Links:
    return Links(
        runbook_url=links.runbook_url.replace("{slo}", slo) if links.runbook_url else None,
        dashboard_url=links.dashboard_url.replace("{slo}", slo) if links.dashboard_url else None,
    )


def events_between(starts: np.ndarray, total: np.ndarray, start: int, end: int) -> float:
    """Σtotal of buckets whose start lies in `[start, end)`: the traffic the low-traffic guard weighs."""
    starts = np.asarray(starts, dtype=np.int64)
    inside = (starts >= start) & (starts < end)
    return float(np.asarray(total, dtype=np.float64)[inside].sum())


def top_burning_hour(
    starts: np.ndarray, good: np.ndarray, total: np.ndarray, start: int, end: int
) -> tuple[int, float] | None:
    """The UTC hour of `[start, end)` with the most bad events (earliest on ties), or None without any.

    Works on minute buckets or hourly rollups alike: buckets are summed per hour of their start.
    """
    starts = np.asarray(starts, dtype=np.int64)
    inside = (starts >= start) & (starts < end)
    if not inside.any():
        return None
    bad = np.asarray(total, dtype=np.float64)[inside] - np.asarray(good, dtype=np.float64)[inside]
    hours, index = np.unique(starts[inside] // HOUR * HOUR, return_inverse=True)
    per_hour = np.bincount(index, weights=bad, minlength=hours.size)
    best = int(np.argmax(per_hour))
    if per_hour[best] <= 0:
        return None
    return int(hours[best]), float(per_hour[best])


def low_traffic_decision(
    event: AlertEvent, context: BudgetContext, min_events: int = DEFAULT_MIN_EVENTS
) -> Decision:
    """Hold a page when its long window saw fewer than `min_events` events: a handful of failures out of a
    handful of requests burns fast without hurting many users. Tickets still go out."""
    if min_events < 0:
        raise AlertPayloadError(f"low-traffic guard: min_events must be >= 0 (got {min_events})")
    if PROVIDER_SEVERITY[event.severity] != "critical" or context.long_window_events >= min_events:
        return SEND
    return Decision(
        False,
        "low_traffic",
        f"{event.long_window} window had {context.long_window_events:g} events, fewer than the "
        f"{min_events} needed to page",
    )


def suppression_decision(
    event: AlertEvent,
    service: str,
    at: int,
    incidents: Sequence[KnownIncident] = (),
    maintenance: Sequence[ExclusionInterval] = (),
) -> Decision:
    """Suppressed while a known incident covers the service, or a maintenance window or exclusion that
    applies to the SLO is active at `at` — people are already on it, or the downtime is planned."""
    for incident in incidents:
        if incident.covers(service, at):
            title = f" ({incident.title})" if incident.title else ""
            return Decision(
                False, "incident", f"incident {incident.id}{title} already covers service {service}"
            )
    for interval in maintenance:
        if interval.start <= at < interval.end and interval.rule.scope.applies_to(event.slo, service):
            rule = interval.rule
            return Decision(
                False,
                "maintenance",
                f"{rule.kind} {rule.name} ({rule.category}) active "
                f"{_iso(interval.start)} to {_iso(interval.end)}",
            )
    return SEND


def gate(
    event: AlertEvent,
    context: BudgetContext,
    at: int,
    incidents: Sequence[KnownIncident] = (),
    maintenance: Sequence[ExclusionInterval] = (),
    min_events: int = DEFAULT_MIN_EVENTS,
) -> Decision:
    """The trigger gate: suppression first (it explains more), then the low-traffic guard."""
    decision = suppression_decision(event, context.service, at, incidents, maintenance)
    return decision if not decision.send else low_traffic_decision(event, context, min_events)


def build_notification(
    event: AlertEvent, context: BudgetContext, action: Action, source: str = "slo-pipelines"
) -> Notification:
    """The neutral notification for `event`; a resolve needs the event's `ended_at`."""
    event.check()
    if action not in ACTIONS:
        raise AlertPayloadError(f"notification action must be trigger or resolve (got {action!r})")
    if action == "resolve" and event.ended_at is None:
        raise AlertPayloadError(
            f"alert event {event.slo}/{event.objective}: cannot resolve an alert still firing"
        )
    occurred = event.started_at if action == "trigger" else int(event.ended_at)  # type: ignore[arg-type]
    links = fill_links(context.links, event.slo)
    return Notification(
        action=action,
        dedup_key=dedup_key(event),
        summary=_summary(event, context, action),
        severity=PROVIDER_SEVERITY[event.severity],
        alert_severity=event.severity,
        source=source,
        slo=event.slo,
        objective=event.objective,
        service=context.service,
        started_at=event.started_at,
        ended_at=event.ended_at,
        occurred_at=occurred,
        details=_details(event, context, links),
        links=links,
    )


def _summary(event: AlertEvent, context: BudgetContext, action: Action) -> str:
    verb = "burning error budget" if action == "trigger" else "burn subsided"
    burn = context.burn_rates.get(event.long_window)
    rate = f"{burn:.1f}x" if burn is not None and np.isfinite(burn) else "n/a"
    left = context.remaining_ratio
    remaining = f"{left * 100:.1f}% budget left" if left is not None and np.isfinite(left) else "budget n/a"
    text = (
        f"[{event.severity.upper()}] {event.slo}/{event.objective} ({context.service}) {verb}: "
        f"{rate} over {event.long_window} (threshold {event.threshold:g}, {event.long_window}/"
        f"{event.short_window}), {remaining}"
    )
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1] + "…"


def _details(event: AlertEvent, context: BudgetContext, links: Links) -> dict[str, Any]:
    return {
        "slo": event.slo,
        "objective": event.objective,
        "service": context.service,
        "severity": event.severity,
        "rule": f"{event.long_window}/{event.short_window}",
        "threshold": event.threshold,
        "target": context.target,
        "started_at": _iso(event.started_at),
        "ended_at": _iso(event.ended_at) if event.ended_at is not None else None,
        "remaining_budget_ratio": _clean(context.remaining_ratio),
        "burn_rates": {label: _clean(context.burn_rates.get(label)) for label in LOOKBACKS},
        "window": {"start": _iso(context.window_start), "end": _iso(context.window_end)},
        "long_window_events": context.long_window_events,
        "top_burning_hour": (
            {"start": _iso(context.top_burning_hour), "bad_events": context.top_burning_hour_bad}
            if context.top_burning_hour is not None
            else None
        ),
        "runbook_url": links.runbook_url,
        "dashboard_url": links.dashboard_url,
    }


def _finite(value: float | None) -> bool:
    return value is not None and bool(np.isfinite(value))


def _clean(value: float | None) -> float | None:
    """JSON has no NaN: a null burn rate or budget travels as null."""
    return float(value) if _finite(value) else None  # type: ignore[arg-type]


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")
