"""Impact of incidents on the SLOs they affect, and attribution across overlapping incidents (DESIGN.md §9).

Per incident and affected SLO objective, with the incident's window `[start, end)` (`end` = the
evaluation instant while the incident is open):
- `bad` / `total`: Occurrences sum `total - good` and `total` over included buckets whose start lies in
  the window; timeslice methods count the slices whose start lies in it (`bad` = bad slices, for
  RatioTimeslices Σ(1 − ratio); `total` = counted slices, under the SLO's no-data policy).
- `budget_consumed_ratio = bad / allowed_bad`, `allowed_bad` over a rolling window of the SLO's period
  length (calendar 1w/1M/1Q/1Y = 7/30/90/365 d) ending at B, the first bucket boundary ≥ end, by the
  budget rules of §3 (`engine.budgets`, exclusions applied); None when allowed_bad is 0.
- `peak_burn_rate_1h`: the largest burn(1h) at a bucket boundary in `(start, end]`, None when none.
- `attributed_bad`: each bad unit (bucket or slice) in the windows of k incidents affecting the SLO
  counts 1/k to each, so Σ attributed_bad over the incidents = bad over the union of their windows.
- An SLO without data in the window reports bad = total = attributed_bad = 0 (and takes no share of
  other incidents' units).
The expected severity compares the largest ratio with the severity tiers exactly (rationals, so a
ratio of exactly 0.20 is SEV1 whatever floating point would say).
"""

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

from slo_pipelines.catalog.incidents import Incident, SeverityTiers
from slo_pipelines.catalog.models import SLO, Catalog, Duration, Objective, TimeWindow
from slo_pipelines.engine.budgets.evaluate import CatalogEvaluator, ObjectiveEvaluator
from slo_pipelines.engine.common.timeutil import format_instant
from slo_pipelines.engine.incidents.affected import affected_services, affected_slos


class IncidentImpactError(ValueError):
    """An incident that cannot be measured (open without an evaluation instant, starting after it)."""


@dataclass(frozen=True)
class SLOImpact:
    name: str
    service: str
    objective: str
    budgeting_method: str
    target: float
    bad: float
    total: float
    allowed_bad: float
    budget_consumed_ratio: float | None
    attributed_bad: float
    peak_burn_rate_1h: float | None
    budget_window_start: int
    budget_window_end: int
    overlapping: tuple[str, ...] = ()  # other incidents whose windows share a counted unit of this SLO
    exact_ratio: Fraction | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "service": self.service,
            "objective": self.objective,
            "budgeting_method": self.budgeting_method,
            "target": self.target,
            "bad": self.bad,
            "total": self.total,
            "allowed_bad": self.allowed_bad,
            "budget_consumed_ratio": self.budget_consumed_ratio,
            "attributed_bad": self.attributed_bad,
            "peak_burn_rate_1h": self.peak_burn_rate_1h,
            "budget_window": {
                "start": format_instant(self.budget_window_start),
                "end": format_instant(self.budget_window_end),
            },
            "overlapping_incidents": list(self.overlapping),
        }


@dataclass(frozen=True)
class IncidentImpact:
    incident: Incident
    measured_end: int  # `end`, or the evaluation instant for an open incident
    affected_services: tuple[str, ...]
    slos: tuple[SLOImpact, ...]
    expected_severity: str | None
    severity_policy: str | None

    @property
    def severity_mismatch(self) -> bool:
        return self.expected_severity is not None and self.expected_severity != self.incident.severity

    @property
    def budget_consumed_max(self) -> float | None:
        ratios = [s.budget_consumed_ratio for s in self.slos if s.budget_consumed_ratio is not None]
        return max(ratios) if ratios else None

    def to_json(self) -> dict[str, Any]:
        i = self.incident
        return {
            "name": i.name,
            "title": i.title,
            "severity": i.severity,
            "expected_severity": self.expected_severity,
            "severity_mismatch": self.severity_mismatch,
            "start": format_instant(i.start),
            "end": None if i.end is None else format_instant(i.end),
            "measured_until": format_instant(self.measured_end),
            "services": list(i.services),
            "affected_services": list(self.affected_services),
            "root_causes": [{"id": c.id, "description": c.description} for c in i.root_causes],
            "source": None
            if i.source is None
            else {"system": i.source.system, "id": i.source.id, "url": i.source.url},
            "budget_consumed_max": self.budget_consumed_max,
            "severity_policy": self.severity_policy,
            "slos": [s.to_json() for s in self.slos],
        }


def _ceil(x: int, unit: int) -> int:
    return -(-x // unit) * unit


def expected_severity(ratios: Sequence[Fraction | None], tiers: SeverityTiers) -> str | None:
    """The first tier whose threshold the largest non-null ratio reaches (exact comparison)."""
    known = [r for r in ratios if r is not None]
    if not known:
        return None
    peak = max(known)
    for severity, threshold in tiers.tiers:
        if peak >= Fraction(repr(threshold)):
            return severity
    return tiers.otherwise


def _exact_ratio(bad: float, allowed: float, target: float) -> Fraction | None:
    """bad / allowed_bad as a rational: allowed_bad = (1 − target) · units, with the target read as the
    decimal it was written as and whole units recovered from the engine's float product."""
    if allowed <= 0:
        return None
    miss = 1 - Fraction(repr(target))
    units = allowed / (1.0 - target)
    nearest = round(units)
    exact_units = Fraction(nearest) if abs(units - nearest) <= 1e-9 * max(1.0, units) else Fraction(units)
    if exact_units == 0:
        return None
    return Fraction(bad) / (miss * exact_units)


@dataclass
class _Member:
    position: int  # index of the incident in the input
    start: int
    end: int
    unit_start: int  # first unit start ≥ start
    unit_end: int  # first unit start ≥ end
    boundary: int  # B: first bucket boundary ≥ end
    has_data: bool = False


def _rolling(slo: SLO) -> SLO:
    """The SLO with a rolling window of its period length, for the budget an incident is measured against."""
    seconds = slo.time_window.duration.nominal_seconds()
    return replace(slo, time_window=TimeWindow(Duration(seconds, "s"), True))


def _objective_impacts(
    evaluator: CatalogEvaluator,
    slo: SLO,
    objective: Objective,
    incidents: Sequence[Incident],
    ends: Sequence[int],
    positions: Sequence[int],
) -> dict[int, SLOImpact]:
    rolling = _rolling(slo)
    rows = evaluator.by_slo.get(slo.name)
    b = rows.bucket_seconds if rows is not None else slo.bucket_seconds
    unit = (objective.time_slice_window_seconds or b) if slo.budgeting_method != "Occurrences" else b
    members = []
    for p in positions:
        s, e = incidents[p].start, ends[p]
        members.append(_Member(p, s, e, _ceil(s, unit), _ceil(e, unit), _ceil(e, b)))
    first = min(m.start for m in members)
    last = max(max(m.boundary, m.unit_end) for m in members)
    ev = evaluator.evaluator(rolling, objective, first, last)
    for m in members:
        m.has_data = ev.rows(m.unit_start, m.unit_end) > 0
    lo = np.array([m.unit_start for m in members], dtype=np.int64)
    hi = np.array([m.unit_end for m in members], dtype=np.int64)
    own = ev.tally(lo, hi)
    budget = ev.series(np.array([m.boundary for m in members], dtype=np.int64))
    attributed, overlapping = _attribute(ev, members)
    out: dict[int, SLOImpact] = {}
    for j, m in enumerate(members):
        bad = float(own.consumed[j]) if m.has_data else 0.0
        total = float(own.total[j]) if m.has_data else 0.0
        allowed = float(budget["allowed_bad"].iloc[j])
        exact = _exact_ratio(bad, allowed, objective.target)
        out[m.position] = SLOImpact(
            name=slo.name,
            service=slo.service,
            objective=objective.name,
            budgeting_method=slo.budgeting_method,
            target=objective.target,
            bad=bad,
            total=total,
            allowed_bad=allowed,
            budget_consumed_ratio=None if exact is None else float(exact),
            attributed_bad=attributed[j],
            peak_burn_rate_1h=_peak_burn(ev, b, m.start, m.end),
            budget_window_start=int(budget["window_start"].iloc[j]),
            budget_window_end=m.boundary,
            overlapping=tuple(sorted(incidents[members[k].position].name for k in overlapping[j])),
            exact_ratio=exact,
        )
    return out


def _attribute(ev: ObjectiveEvaluator, members: list[_Member]) -> tuple[list[float], list[set[int]]]:
    """Equal split of each unit's bad among the incidents (with data) whose windows hold its start.

    The windows' unit bounds cut the time line into segments on which the number k of covering
    incidents is constant; a segment's bad (one grid query) is shared 1/k each.
    """
    shares = [0.0] * len(members)
    overlapping: list[set[int]] = [set() for _ in members]
    live = [j for j, m in enumerate(members) if m.has_data and m.unit_end > m.unit_start]
    if not live:
        return shares, overlapping
    points = np.unique(np.array([[members[j].unit_start, members[j].unit_end] for j in live]).ravel())
    seg_bad = ev.tally(points[:-1], points[1:]).consumed
    for q in range(points.size - 1):
        p0, p1 = int(points[q]), int(points[q + 1])
        covering = [j for j in live if members[j].unit_start <= p0 and members[j].unit_end >= p1]
        if not covering:
            continue
        if len(covering) > 1 and ev.rows(p0, p1) > 0:
            for j in covering:
                overlapping[j].update(k for k in covering if k != j)
        share = float(seg_bad[q]) / len(covering)
        for j in covering:
            shares[j] += share
    return shares, overlapping


def _peak_burn(ev: ObjectiveEvaluator, b: int, start: int, end: int) -> float | None:
    first = (start // b + 1) * b
    last = (end // b) * b
    if last < first:
        return None
    burn = ev.series(np.arange(first, last + 1, b, dtype=np.int64))["burn_1h"].to_numpy(dtype=np.float64)
    if burn.size == 0 or np.all(np.isnan(burn)):
        return None
    return float(np.nanmax(burn))


def incident_impacts(
    catalog: Catalog,
    buckets: pd.DataFrame,
    incidents: Sequence[Incident],
    at: int | None = None,
    tiers: SeverityTiers | None = None,
) -> list[IncidentImpact]:
    """Impact of each incident (in input order) from a validated bucket frame (columns slo, start, good,
    total, optional value/bucket_seconds). `at` is required when an incident is open.

    Raises IncidentImpactError for an open incident without `at`, or one that starts at or after `at`.
    """
    tiers = tiers or SeverityTiers()
    ends: list[int] = []
    for i in incidents:
        if i.end is None:
            if at is None:
                raise IncidentImpactError(
                    f"incident {i.name} is open (no end): give the instant to measure it to (--at)"
                )
            if i.start >= at:
                raise IncidentImpactError(
                    f"incident {i.name} starts at {format_instant(i.start)}, "
                    f"not before --at {format_instant(at)}"
                )
            ends.append(at)
        else:
            ends.append(i.end)
    reached = [affected_services(catalog, i.services) for i in incidents]
    slos_of = [affected_slos(catalog, i.services) for i in incidents]
    evaluator = CatalogEvaluator(catalog, buckets)
    per_incident: list[list[SLOImpact]] = [[] for _ in incidents]
    for name in sorted(catalog.slos):
        positions = [p for p, slos in enumerate(slos_of) if any(s.name == name for s in slos)]
        if not positions:
            continue
        slo = catalog.slos[name]
        for objective in slo.objectives:
            for p, impact in _objective_impacts(
                evaluator, slo, objective, incidents, ends, positions
            ).items():
                per_incident[p].append(impact)
    out = []
    for p, incident in enumerate(incidents):
        impacts = tuple(per_incident[p])
        out.append(
            IncidentImpact(
                incident=incident,
                measured_end=ends[p],
                affected_services=tuple(sorted(reached[p])),
                slos=impacts,
                expected_severity=expected_severity([s.exact_ratio for s in impacts], tiers),
                severity_policy=tiers.policy,
            )
        )
    return out
