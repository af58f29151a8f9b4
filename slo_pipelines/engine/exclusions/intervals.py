"""Turn exclusion rules into concrete UTC intervals and answer which of them touch an SLO's window.

Recurring rules are expanded in local wall-clock time (RRULE semantics) and each occurrence is converted
to UTC on its own, so a Sunday 02:00 Europe/London window stays at 02:00 local across DST changes.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from dateutil.rrule import rrulestr

from slo_pipelines.catalog.models import ExclusionRule
from slo_pipelines.engine.common.timeutil import local_to_epoch, zone


@dataclass(frozen=True)
class ExclusionInterval:
    """One concrete occurrence `[start, end)` of a rule, in epoch seconds."""

    rule: ExclusionRule
    start: int
    end: int


def expand_rule(rule: ExclusionRule, start: int, end: int) -> list[ExclusionInterval]:
    """Occurrences of `rule` that overlap `[start, end)`."""
    if not rule.is_recurring:
        assert rule.start is not None and rule.end is not None
        if rule.start < end and rule.end > start:
            return [ExclusionInterval(rule, rule.start, rule.end)]
        return []
    assert rule.start_local is not None and rule.rrule is not None and rule.duration_seconds is not None
    tz = zone(rule.time_zone)
    dtstart = datetime.fromisoformat(rule.start_local).replace(tzinfo=None)
    recurrence = rrulestr(rule.rrule, dtstart=dtstart)
    # Search in local time with a margin wide enough for any UTC offset and the occurrence's duration.
    margin = timedelta(days=2) + timedelta(seconds=rule.duration_seconds)
    lo = datetime.fromtimestamp(start, UTC).replace(tzinfo=None) - margin
    hi = datetime.fromtimestamp(end, UTC).replace(tzinfo=None) + timedelta(days=2)
    out: list[ExclusionInterval] = []
    for occurrence in recurrence.between(lo, hi, inc=True):
        s = local_to_epoch(occurrence, tz)
        if rule.until is not None and s >= rule.until:
            continue
        e = s + rule.duration_seconds
        if s < end and e > start:
            out.append(ExclusionInterval(rule, s, e))
    return out


def expand_rules(rules: Iterable[ExclusionRule], start: int, end: int) -> list[ExclusionInterval]:
    return [iv for rule in rules for iv in expand_rule(rule, start, end)]


def applicable(intervals: Sequence[ExclusionInterval], slo: str, service: str) -> list[ExclusionInterval]:
    return [iv for iv in intervals if iv.rule.scope.applies_to(slo, service)]


def merge(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Union of half-open intervals, sorted, so overlapping exclusions are never counted twice."""
    merged: list[tuple[int, int]] = []
    for s, e in sorted(intervals):
        if e <= s:
            continue
        if merged and s <= merged[-1][1]:
            if e > merged[-1][1]:
                merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return merged


def covered_seconds(merged: Sequence[tuple[int, int]], start: int, end: int) -> int:
    """Seconds of `[start, end)` inside the (already merged) intervals."""
    return sum(max(0, min(e, end) - max(s, start)) for s, e in merged)


def covered_seconds_series(
    merged: Sequence[tuple[int, int]], starts: np.ndarray, ends: np.ndarray
) -> np.ndarray:
    """`covered_seconds` for many windows at once (few intervals, many windows)."""
    total = np.zeros(np.shape(starts), dtype=np.int64)
    for s, e in merged:
        total += np.maximum(0, np.minimum(e, ends) - np.maximum(s, starts))
    return total
