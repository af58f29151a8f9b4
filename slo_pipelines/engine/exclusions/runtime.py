"""Exclusions recorded at runtime: an append-only event log folded into current `ExclusionRule`s.

Auditors must be able to see what was excluded, who asked, who approved and when it was declared, so the
log is never edited: adding appends an `add` event, revoking appends a `revoke` event, and the current
state is always recomputed from the whole log. Folding the log `as_of` an instant gives the exclusions a
report computed at that instant used, so a past report can be reproduced after a later revocation.

An `add` event's payload uses the catalog's field names where they exist (so the catalog's validation
applies unchanged) plus who and why::

    {"scope": {"slo": NAME} | {"service": NAME} | {},
     "start": ISO-with-offset, "end": ISO-with-offset            # one-off (or "duration" instead of end)
     # or recurring: "start": local ISO, "rrule", "duration", "timeZone", "until" (optional, with offset)
     "category": maintenance|dependency_outage|security_patch|regulatory|other,
     "reason", "requester", "approver", "ticket" (optional link), "reviewPeriodSeconds" (optional)}

Whether an exclusion was declared in advance is never taken from the payload: it is computed from the
time the event was recorded, which the warehouse sets.
"""

import bisect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from dateutil.rrule import rrulestr

from slo_pipelines.catalog.errors import CatalogIssue
from slo_pipelines.catalog.exclusions import ALL_CATEGORIES, exclusion_rule
from slo_pipelines.catalog.fields import Reporter, show
from slo_pipelines.catalog.models import Catalog, Document, ExclusionRule, Scope
from slo_pipelines.catalog.registry import Registry
from slo_pipelines.engine.budgets.buckets import SLOBuckets
from slo_pipelines.engine.common.timeutil import format_instant, local_to_epoch, zone
from slo_pipelines.engine.exclusions.intervals import ExclusionInterval, expand_rule, merge

DEFAULT_MAX_SHARE = 0.05
DEFAULT_REVIEW_PERIOD_SECONDS = 28 * 86400
DEFAULT_MIN_INTERVAL_SECONDS = 15 * 60
RUNTIME_SOURCE = "warehouse:exclusions"
PAYLOAD_FIELDS = (
    "scope",
    "start",
    "end",
    "duration",
    "rrule",
    "timeZone",
    "until",
    "category",
    "reason",
    "requester",
    "approver",
    "ticket",
    "reviewPeriodSeconds",
)
# Enough occurrences to see the shortest gap of any realistic rule (BYHOUR/BYMINUTE lists repeat daily).
_GAP_SAMPLE = 500
# How far ahead the largest share of a period is looked for in a recurring exclusion.
_SHARE_HORIZON_SECONDS = 366 * 86400


class ExclusionInputError(ValueError):
    """One unusable field of an exclusion; `field` is the payload key, so a CLI can name its option."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class ExclusionLogError(ValueError):
    """The event log itself is inconsistent (an event that cannot be applied); names the event."""


@dataclass(frozen=True)
class ReviewPolicy:
    """When an exclusion needs a second look: it covers too much of a period, or it came after the fact."""

    max_share: float = DEFAULT_MAX_SHARE
    default_period_seconds: int = DEFAULT_REVIEW_PERIOD_SECONDS


@dataclass(frozen=True)
class Revocation:
    event_id: int
    recorded_at: datetime
    recorded_by: str
    reason: str


@dataclass(frozen=True)
class Review:
    """The second approval (or rejection) of a flagged exclusion, by someone other than its requester
    and approver (segregation of duties)."""

    event_id: int
    recorded_at: datetime
    reviewer: str
    decision: str  # approve | reject
    reason: str


@dataclass(frozen=True)
class RuntimeExclusion:
    """One exclusion as the log says it stands: its rule, its provenance and its review flags."""

    id: str
    rule: ExclusionRule
    requester: str
    approver: str
    ticket: str | None
    added_event: int
    recorded_at: datetime
    recorded_by: str
    first_start: int  # epoch seconds of the first occurrence
    declared_in_advance: bool
    largest_share: float  # most of any review period the exclusion covers, in [0, 1]
    review_period_seconds: int
    review_reasons: tuple[str, ...]
    revocation: Revocation | None = None
    review: Review | None = None

    @property
    def state(self) -> str:
        return "revoked" if self.revocation is not None else "active"

    @property
    def review_state(self) -> str:
        """`not_required`, `pending` (flagged, waiting for a second approval), `approved` or `rejected`."""
        if self.review is not None:
            return "approved" if self.review.decision == "approve" else "rejected"
        return "pending" if self.needs_review else "not_required"

    @property
    def applies(self) -> bool:
        """Whether budgets honour it: not revoked, and approved a second time when it was flagged."""
        return self.revocation is None and self.review_state in ("not_required", "approved")

    @property
    def retroactive(self) -> bool:
        return not self.declared_in_advance

    @property
    def needs_review(self) -> bool:
        return bool(self.review_reasons)

    def to_json(self) -> dict[str, Any]:
        rule = self.rule
        timing: dict[str, Any]
        if rule.is_recurring:
            timing = {
                "start_local": rule.start_local,
                "rrule": rule.rrule,
                "duration_seconds": rule.duration_seconds,
                "time_zone": rule.time_zone,
                "until": None if rule.until is None else format_instant(rule.until),
            }
        else:
            assert rule.start is not None and rule.end is not None
            timing = {"start": format_instant(rule.start), "end": format_instant(rule.end)}
        revoked = self.revocation
        return {
            "id": self.id,
            "state": self.state,
            "category": rule.category,
            "scope": scope_text(rule.scope),
            **timing,
            "first_start": format_instant(self.first_start),
            "reason": rule.reason,
            "requester": self.requester,
            "approver": self.approver,
            "ticket": self.ticket,
            "recorded_at": _iso(self.recorded_at),
            "recorded_by": self.recorded_by,
            "declared_in_advance": self.declared_in_advance,
            "retroactive": self.retroactive,
            "largest_share": self.largest_share,
            "needs_review": self.needs_review,
            "review_reasons": list(self.review_reasons),
            "review_state": self.review_state,
            "reviewed_by": None if self.review is None else self.review.reviewer,
            "reviewed_at": None if self.review is None else _iso(self.review.recorded_at),
            "review_reason": None if self.review is None else self.review.reason,
            "applies": self.applies,
            "revoked_at": None if revoked is None else _iso(revoked.recorded_at),
            "revoked_by": None if revoked is None else revoked.recorded_by,
            "revoke_reason": None if revoked is None else revoked.reason,
        }


# ---- validation ---------------------------------------------------------------------------------


class _AnyName(Registry):
    """Without a catalog every scope name is accepted; only the shape is checked."""

    def has(self, kind: str, name: str) -> bool:
        return True


def catalog_registry(catalog: Catalog) -> Registry:
    registry = Registry()
    for document in catalog.documents:
        registry.add(document)
    return registry


def parse_add_payload(
    exclusion_id: str,
    payload: Mapping[str, Any],
    *,
    registry: Registry | None = None,
    min_interval_seconds: int = DEFAULT_MIN_INTERVAL_SECONDS,
) -> ExclusionRule:
    """The rule an `add` payload describes, or `ExclusionInputError` for its first unusable field.

    Timing, zone, RRULE and scope checks are the catalog's own, so a runtime exclusion and a catalog
    document are held to the same rules. `registry` checks scope names; None accepts any name.
    """
    body = dict(payload)
    unknown = sorted(str(key) for key in body if key not in PAYLOAD_FIELDS)
    if unknown:
        raise ExclusionInputError(unknown[0], f"unknown field; use {', '.join(PAYLOAD_FIELDS)}")
    category = body.get("category")
    if category not in ALL_CATEGORIES:
        raise ExclusionInputError(
            "category", f"must be one of {', '.join(ALL_CATEGORIES)} (got {show(category)})"
        )
    for key in ("reason", "requester", "approver"):
        value = body.get(key)
        if not isinstance(value, str) or not value.strip():
            raise ExclusionInputError(key, f"must be a non-empty string (got {show(value)})")
    ticket = body.get("ticket")
    if ticket is not None and (not isinstance(ticket, str) or not ticket.strip()):
        raise ExclusionInputError("ticket", f"must be a non-empty string when given (got {show(ticket)})")
    if body.get("rrule") is None:
        for key in ("timeZone", "until"):
            if body.get(key) is not None:
                raise ExclusionInputError(
                    key, f"only applies to a recurring exclusion (with rrule) (got {show(body[key])})"
                )
    spec: dict[str, Any] = {
        key: body[key]
        for key in ("scope", "start", "end", "duration", "rrule", "timeZone", "until")
        if key in body
    }
    spec["reason"] = body["reason"]
    spec["approvedBy"] = body["approver"]
    if ticket is not None:
        spec["evidence"] = ticket
    kind = "MaintenanceWindow" if category == "maintenance" else "Exclusion"
    if kind == "Exclusion":
        spec["category"] = category
    document = Document(RUNTIME_SOURCE, 0, "slo-pipelines/v1", kind, exclusion_id, {"spec": spec})
    r = Reporter(RUNTIME_SOURCE, None)
    rule = exclusion_rule(r, registry if registry is not None else _AnyName(), document)
    if r.sink:
        raise _input_error(r.sink[0])
    assert rule is not None
    rule = replace(rule, source_file=RUNTIME_SOURCE)
    if rule.is_recurring:
        _check_recurrence(rule, body, min_interval_seconds)
    return rule


def _input_error(issue: CatalogIssue) -> ExclusionInputError:
    path = issue.path.removeprefix("spec.")
    field = {"approvedBy": "approver", "evidence": "ticket"}.get(path, path)
    if field.startswith("scope"):
        field = "scope"
    # the catalog speaks of spec.<field>; here the payload's own field names apply
    return ExclusionInputError(field, issue.message.replace("spec.", ""))


def occurrence_starts(rule: ExclusionRule, limit: int) -> list[int]:
    """Epoch starts of a recurring rule's first `limit` occurrences (before `until`)."""
    assert rule.start_local is not None and rule.rrule is not None
    tz = zone(rule.time_zone)
    dtstart = datetime.fromisoformat(rule.start_local)
    out: list[int] = []
    for local in rrulestr(rule.rrule, dtstart=dtstart):
        start = local_to_epoch(local, tz)
        if (rule.until is not None and start >= rule.until) or len(out) >= limit:
            break
        out.append(start)
    return out


def _check_recurrence(rule: ExclusionRule, body: Mapping[str, Any], min_interval_seconds: int) -> None:
    starts = occurrence_starts(rule, _GAP_SAMPLE)
    if not starts:
        raise ExclusionInputError(
            "rrule", f"has no occurrence before until {body.get('until')} (got {show(rule.rrule)})"
        )
    gaps = np.diff(np.asarray(starts, dtype=np.int64))
    if gaps.size and int(gaps.min()) < min_interval_seconds:
        raise ExclusionInputError(
            "rrule",
            f"occurs every {duration_text(int(gaps.min()))}; at most once every "
            f"{duration_text(min_interval_seconds)} is allowed (got {show(rule.rrule)})",
        )


def first_start(rule: ExclusionRule) -> int:
    if not rule.is_recurring:
        assert rule.start is not None
        return rule.start
    starts = occurrence_starts(rule, 1)
    assert starts, "validated rules occur at least once"
    return starts[0]


# ---- review flags -------------------------------------------------------------------------------


def largest_share(rule: ExclusionRule, period_seconds: int) -> float:
    """The largest fraction of any `period_seconds`-long stretch the rule's occurrences cover.

    For a union of intervals the worst stretch starts where an interval starts, so only those anchors
    are tried; recurring rules are looked at over their first year.
    """
    start = first_start(rule)
    horizon_end = start + max(period_seconds, _SHARE_HORIZON_SECONDS)
    if rule.is_recurring and rule.until is not None:
        horizon_end = min(horizon_end, rule.until + (rule.duration_seconds or 0))
    merged = merge((iv.start, iv.end) for iv in expand_rule(rule, start, horizon_end))
    if not merged:
        return 0.0
    ends = [e for _, e in merged]
    prefix = [0]
    for s, e in merged:
        prefix.append(prefix[-1] + (e - s))
    best = 0
    for i, (s, _) in enumerate(merged):
        stop = s + period_seconds
        j = bisect.bisect_left(ends, stop)  # intervals before j end before `stop`
        covered = prefix[j] - prefix[i]
        if j < len(merged):
            covered += max(0, stop - merged[j][0])
        best = max(best, covered)
    return min(1.0, best / period_seconds)


def catalog_review_periods(
    catalog: Catalog, default: int = DEFAULT_REVIEW_PERIOD_SECONDS
) -> Callable[[Scope], int]:
    """The shortest window among the SLOs a scope covers: the one where the exclusion weighs most."""

    def period(rule_scope: Scope) -> int:
        lengths = [
            slo.time_window.duration.nominal_seconds()
            for slo in catalog.slos.values()
            if rule_scope.applies_to(slo.name, slo.service)
        ]
        return min(lengths) if lengths else default

    return period


def review_reasons(
    rule: ExclusionRule, recorded_at: datetime, period_seconds: int, max_share: float
) -> tuple[tuple[str, ...], float, bool]:
    """(reasons to review, largest share of a period covered, declared in advance)."""
    begins = first_start(rule)
    in_advance = recorded_at.timestamp() <= begins
    share = largest_share(rule, period_seconds)
    reasons: list[str] = []
    if not in_advance:
        reasons.append(f"retroactive: recorded {_iso(recorded_at)}, after its start {format_instant(begins)}")
    if share > max_share:
        reasons.append(
            f"covers {share * 100:.1f}% of a {duration_text(period_seconds)} window "
            f"(more than {max_share * 100:g}%)"
        )
    return tuple(reasons), share, in_advance


# ---- segregation of duties ----------------------------------------------------------------------


def same_person(a: str, b: str) -> bool:
    """Names compare without case or surrounding space: `Bob` approving `bob`'s request is one person."""
    return a.strip().casefold() == b.strip().casefold()


def check_segregation(requester: str, approver: str, reviewer: str | None = None) -> None:
    """ExclusionInputError when one person holds two of the roles (SOC 2 CC6.1 / ISO 27001 A.5.3)."""
    if same_person(requester, approver):
        raise ExclusionInputError(
            "approver", f"must differ from the requester (segregation of duties; got {approver!r} for both)"
        )
    if reviewer is not None:
        for role, name in (("requester", requester), ("approver", approver)):
            if same_person(reviewer, name):
                raise ExclusionInputError(
                    "reviewer",
                    f"must differ from the exclusion's {role} (segregation of duties; got {reviewer!r})",
                )


# ---- folding the log ----------------------------------------------------------------------------


def fold_events(
    events: Iterable[Mapping[str, Any]],
    *,
    as_of: datetime | None = None,
    policy: ReviewPolicy = ReviewPolicy(),
    period_for: Callable[[Scope], int] | None = None,
    reviews: Iterable[Mapping[str, Any]] = (),
) -> list[RuntimeExclusion]:
    """Every exclusion the log describes, in the order added, as it stood at `as_of` (default: now).

    Events are rows of the warehouse's `exclusions` table (id, exclusion_id, action, payload,
    recorded_by, recorded_at). A revoke hides its exclusion from then on; it never changes the add.
    `reviews` are rows of `exclusion_reviews` (id, exclusion_id, decision, reviewer, reason,
    recorded_at); the first one recorded for an exclusion decides, later ones change nothing.
    """
    folded = _fold_adds_and_revokes(events, as_of, policy, period_for)
    for row in sorted(reviews, key=lambda r: int(r["id"])):
        recorded_at = _aware(row["recorded_at"])
        current = folded.get(str(row["exclusion_id"]))
        if (
            current is None
            or current.review is not None
            or (as_of is not None and recorded_at > _aware(as_of))
        ):
            continue
        review = Review(
            int(row["id"]), recorded_at, str(row["reviewer"]), str(row["decision"]), str(row["reason"])
        )
        folded[current.id] = replace(current, review=review)
    return list(folded.values())


def _fold_adds_and_revokes(
    events: Iterable[Mapping[str, Any]],
    as_of: datetime | None,
    policy: ReviewPolicy,
    period_for: Callable[[Scope], int] | None,
) -> dict[str, RuntimeExclusion]:
    by_id: dict[str, RuntimeExclusion] = {}
    for event in sorted(events, key=lambda e: int(e["id"])):
        recorded_at = _aware(event["recorded_at"])
        if as_of is not None and recorded_at > _aware(as_of):
            continue
        event_id, exclusion_id, action = int(event["id"]), str(event["exclusion_id"]), event["action"]
        where = f"exclusions event {event_id} ({exclusion_id})"
        payload = event.get("payload") or {}
        if action == "add":
            if exclusion_id in by_id:
                raise ExclusionLogError(
                    f"{where}: exclusion already added by event {by_id[exclusion_id].added_event}"
                )
            try:
                rule = parse_add_payload(exclusion_id, payload, min_interval_seconds=1)
            except ExclusionInputError as exc:
                raise ExclusionLogError(f"{where} payload.{exc}") from None
            stored_period = payload.get("reviewPeriodSeconds")
            if period_for is not None:
                period = period_for(rule.scope)
            elif isinstance(stored_period, int) and stored_period > 0:
                period = stored_period
            else:
                period = policy.default_period_seconds
            reasons, share, in_advance = review_reasons(rule, recorded_at, period, policy.max_share)
            by_id[exclusion_id] = RuntimeExclusion(
                id=exclusion_id,
                rule=rule,
                requester=str(payload["requester"]),
                approver=str(payload["approver"]),
                ticket=payload.get("ticket"),
                added_event=event_id,
                recorded_at=recorded_at,
                recorded_by=str(event["recorded_by"]),
                first_start=first_start(rule),
                declared_in_advance=in_advance,
                largest_share=share,
                review_period_seconds=period,
                review_reasons=reasons,
            )
        elif action == "revoke":
            current = by_id.get(exclusion_id)
            if current is None:
                raise ExclusionLogError(f"{where}: revokes an exclusion that was never added")
            if current.revocation is None:  # a second, concurrent revoke changes nothing
                revocation = Revocation(
                    event_id, recorded_at, str(event["recorded_by"]), str(payload.get("reason", ""))
                )
                by_id[exclusion_id] = replace(current, revocation=revocation)
        else:
            raise ExclusionLogError(f"{where}: unknown action {show(action)}; expected add or revoke")
    return by_id


def active_rules(exclusions: Iterable[RuntimeExclusion]) -> list[ExclusionRule]:
    """The rules the engine applies: every exclusion not revoked, and approved twice when flagged."""
    return [x.rule for x in exclusions if x.applies]


# ---- budget restored ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RestoredBudget:
    """What one exclusion gave back inside a window: the events and time it alone is credited with."""

    rule: ExclusionRule
    occurrences: int
    excluded_seconds: int
    buckets: int
    good: float
    total: float

    @property
    def bad(self) -> float:
        """Bad events that no longer count against the budget: the budget this exclusion restored."""
        return self.total - self.good

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.rule.name,
            "category": self.rule.category,
            "reason": self.rule.reason,
            "approved_by": self.rule.approved_by,
            "occurrences": self.occurrences,
            "excluded_seconds": self.excluded_seconds,
            "buckets": self.buckets,
            "good": self.good,
            "total": self.total,
            "restored_bad": self.bad,
        }


def budget_restored(
    buckets: SLOBuckets, intervals: Sequence[ExclusionInterval], start: int, end: int
) -> list[RestoredBudget]:
    """Per exclusion, the buckets and seconds of `[start, end)` it removed from one SLO's budget.

    `intervals` are the occurrences that apply to this SLO. Where exclusions overlap, the occurrence
    that started first owns the overlap (ties: the one listed first), so every excluded bucket and
    second is credited exactly once and the sums over exclusions equal the effect of the merged union.
    Every exclusion that touched the window is listed, even one that restored nothing.
    """
    window = buckets.between(start, end)
    starts = buckets.starts[window]
    claimed = np.zeros(starts.shape, dtype=bool)
    ordered = sorted(enumerate(intervals), key=lambda pair: (pair[1].start, pair[0]))
    covered: list[tuple[int, int]] = []  # merged seconds already credited
    per_rule: dict[ExclusionRule, dict[str, Any]] = {}
    for _, iv in ordered:
        lo, hi = max(iv.start, start), min(iv.end, end)
        if hi <= lo:
            continue
        acc = per_rule.setdefault(iv.rule, {"n": 0, "seconds": 0, "mask": np.zeros(starts.shape, dtype=bool)})
        acc["n"] += 1
        acc["seconds"] += (hi - lo) - _overlap(covered, lo, hi)
        covered = merge([*covered, (lo, hi)])
        inside = (starts >= lo) & (starts < hi) & ~claimed
        claimed |= inside
        acc["mask"] |= inside
    out: list[RestoredBudget] = []
    for rule, acc in per_rule.items():
        mask = acc["mask"]
        out.append(
            RestoredBudget(
                rule=rule,
                occurrences=acc["n"],
                excluded_seconds=acc["seconds"],
                buckets=int(mask.sum()),
                good=float(buckets.good[window][mask].sum()),
                total=float(buckets.total[window][mask].sum()),
            )
        )
    return out


def _overlap(merged: Sequence[tuple[int, int]], lo: int, hi: int) -> int:
    return sum(max(0, min(e, hi) - max(s, lo)) for s, e in merged)


# ---- text helpers -------------------------------------------------------------------------------


def scope_text(rule_scope: Scope) -> str:
    if rule_scope.slo is not None:
        return f"slo:{rule_scope.slo}"
    if rule_scope.service is not None:
        return f"service:{rule_scope.service}"
    return "all"


def duration_text(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _iso(value: datetime) -> str:
    moment = _aware(value)
    return (moment - timedelta(microseconds=moment.microsecond)).strftime("%Y-%m-%dT%H:%M:%SZ")


def with_runtime_exclusions(
    catalog: Catalog, events: Iterable[Mapping[str, Any]], reviews: Iterable[Mapping[str, Any]] = ()
) -> Catalog:
    """The catalog as evaluations must see it: its own exclusions plus the runtime ones that apply
    (active, and approved a second time when flagged for review).

    Runtime exclusions also join the documents, so the catalog digest of every result changes when an
    exclusion is added or revoked: a recomputed number always says which exclusions it honoured.
    """
    runtime = [
        r
        for r in fold_events(events, period_for=catalog_review_periods(catalog), reviews=reviews)
        if r.applies
    ]
    if not runtime:
        return catalog
    documents = tuple(
        Document(
            file="warehouse:exclusions",
            index=r.added_event,
            api_version="slo-pipelines/v1",
            kind="Exclusion",
            name=r.id,
            body=r.to_json(),
        )
        for r in runtime
    )
    return replace(
        catalog,
        exclusions=catalog.exclusions + tuple(active_rules(runtime)),
        documents=catalog.documents + documents,
    )
