"""Which notifications are still owed, given the alert events and what the delivery log already holds.

The log is append-only: every attempt (delivered, failed, suppressed) is one `DeliveryRecord`. A trigger
is owed once per firing run (`started_at`) until one is delivered or suppressed; a failed one stays owed,
so the next run retries it. A resolve is owed once the run has an `ended_at` and its trigger was delivered;
a run whose trigger was suppressed has nothing open at the provider, so its resolve is recorded as
suppressed too instead of being sent.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from slo_pipelines.engine.alerting.payloads import Action, AlertEvent, dedup_key

Outcome = Literal["delivered", "failed", "suppressed"]
OUTCOMES: tuple[str, ...] = ("delivered", "failed", "suppressed")
FINAL: frozenset[str] = frozenset({"delivered", "suppressed"})


@dataclass(frozen=True)
class DeliveryRecord:
    """One attempt to hand one notification to one provider; natural key (provider, dedup_key,
    started_at, action, attempted_at)."""

    provider: str
    dedup_key: str
    started_at: int
    action: Action
    outcome: Outcome
    attempted_at: int
    attempts: int = 0  # HTTP requests made (0 when suppressed or misconfigured)
    reason: str = ""  # why it failed or was suppressed
    rule: str = ""  # suppression: low_traffic | incident | maintenance | stale | trigger_not_delivered
    status_code: int | None = None
    provider_reference: str = ""  # PagerDuty dedup_key echoed back / Opsgenie requestId
    slo: str = ""
    objective: str = ""
    severity: str = ""


@dataclass(frozen=True)
class Owed:
    """A notification still owed for `event`; `send` False means record it suppressed, don't send."""

    event: AlertEvent
    action: Action
    send: bool = True
    rule: str = ""
    reason: str = ""
    needs_trigger: bool = False  # a resolve whose trigger is owed too: send it only if that one got through

    @property
    def dedup_key(self) -> str:
        return dedup_key(self.event)

    @property
    def at(self) -> int:
        return self.event.started_at if self.action == "trigger" else int(self.event.ended_at)  # type: ignore[arg-type]


def owed_notifications(
    events: Iterable[AlertEvent],
    log: Sequence[DeliveryRecord],
    provider: str,
    stale_before: int | None = None,
) -> list[Owed]:
    """Notifications `provider` still has to receive, in the order they happened (a resolve of an earlier
    run precedes the trigger of a later run with the same key).

    A run that ended before `stale_before` and was never announced (a backfill replaying last year) is
    owed only as a suppressed record: paging someone for a burn that is long over helps nobody.
    """
    final: dict[tuple[str, int, str], str] = {}
    for record in log:
        if record.provider == provider and record.outcome in FINAL:
            seen = (record.dedup_key, record.started_at, str(record.action))
            if final.get(seen) != "delivered":  # a delivery outranks an earlier suppression
                final[seen] = record.outcome
    owed: list[Owed] = []
    for event in events:
        key = dedup_key(event)
        trigger = final.get((key, event.started_at, "trigger"))
        stale = stale_before is not None and event.ended_at is not None and event.ended_at < stale_before
        if trigger is None and stale:
            owed.append(
                Owed(event, "trigger", False, "stale", "the burn ended before notifications were due")
            )
            trigger = "suppressed"
        elif trigger is None:
            owed.append(Owed(event, "trigger"))
        if event.ended_at is None or (key, event.started_at, "resolve") in final:
            continue
        if trigger == "suppressed":
            owed.append(Owed(event, "resolve", False, "trigger_not_delivered", "its trigger was suppressed"))
        else:
            owed.append(Owed(event, "resolve", needs_trigger=trigger is None))
    return sorted(owed, key=lambda o: (o.at, o.action != "resolve", o.dedup_key))


def suppressed_record(owed: Owed, provider: str, rule: str, reason: str, attempted_at: int) -> DeliveryRecord:
    """The log line for a notification deliberately not sent (for an `Owed` with send False, pass its
    own rule and reason; for a gate's `Decision`, the decision's)."""
    return DeliveryRecord(
        provider=provider,
        dedup_key=owed.dedup_key,
        started_at=owed.event.started_at,
        action=owed.action,
        outcome="suppressed",
        attempted_at=attempted_at,
        reason=reason,
        rule=rule,
        slo=owed.event.slo,
        objective=owed.event.objective,
        severity=owed.event.severity,
    )
