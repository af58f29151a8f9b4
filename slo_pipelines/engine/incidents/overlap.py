"""Which incidents to compute together, and which history that needs (pure)."""

from collections.abc import Sequence

from slo_pipelines.catalog.incidents import Incident
from slo_pipelines.catalog.models import Catalog


def _window(incident: Incident, until: int) -> tuple[int, int]:
    return incident.start, incident.end if incident.end is not None else until


def overlapping_closure(incidents: Sequence[Incident], start: int, end: int, until: int) -> list[Incident]:
    """Incidents whose window meets `[start, end)`, plus every incident overlapping those, transitively
    (attribution is only complete when all incidents sharing a unit are in the same computation).
    Open incidents run to `until`. Input order is kept."""
    chosen = {
        k for k, i in enumerate(incidents) if _window(i, until)[0] < end and _window(i, until)[1] > start
    }
    grew = True
    while grew:
        grew = False
        for k, incident in enumerate(incidents):
            if k in chosen:
                continue
            s, e = _window(incident, until)
            if any(
                s < _window(incidents[j], until)[1] and e > _window(incidents[j], until)[0] for j in chosen
            ):
                chosen.add(k)
                grew = True
    return [incidents[k] for k in sorted(chosen)]


def reading_span(
    catalog: Catalog, incidents: Sequence[Incident], until: int, lookback: int
) -> tuple[int, int]:
    """`[first, last)` of the buckets an impact computation reads: every budget window (the longest SLO
    period before the earliest end) and every burn-rate lookback, up to the latest end's next day."""
    longest = max((s.time_window.duration.nominal_seconds() for s in catalog.slos.values()), default=0)
    ends = [_window(i, until)[1] for i in incidents]
    first = min(min(i.start for i in incidents) - lookback, min(ends) - longest - 86400)
    return first, max(ends) + 86400
