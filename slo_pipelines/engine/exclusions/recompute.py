"""Which days to recompute when a runtime exclusion is added, approved or revoked (pure).

An exclusion changes the buckets it covers and every budget whose window contains them: from its first
occurrence to its last end plus the longest SLO window it applies to (later snapshots still hold the
excluded time in their windows), and never beyond `until` (the last day that exists).
"""

from slo_pipelines.catalog.models import Catalog, ExclusionRule
from slo_pipelines.engine.exclusions.runtime import first_start


def exclusion_recompute_span(rule: ExclusionRule, catalog: Catalog, until: int) -> tuple[int, int] | None:
    """`[start, end)` of instants whose budgets the exclusion changes, cut at `until`; None if empty."""
    start = first_start(rule)
    if rule.is_recurring:
        last_end = until if rule.until is None else rule.until + (rule.duration_seconds or 0)
    else:
        assert rule.end is not None
        last_end = rule.end
    windows = [
        s.time_window.duration.nominal_seconds()
        for s in catalog.slos.values()
        if rule.scope.applies_to(s.name, s.service)
    ]
    end = min(until, last_end + max(windows, default=0))
    return (start, end) if end > start else None
