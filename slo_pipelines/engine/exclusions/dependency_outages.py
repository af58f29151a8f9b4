"""Proposed `dependency_outage` exclusions: when an upstream is down and the service burns for it.

A team should not spend its error budget on a vendor's outage, but nobody should be able to wave
away an outage by blaming a dependency either. So a proposal is made only where the evidence lines up
minute by minute — the upstream's own SLI breaching (or a declared vendor incident) in the same minutes
the dependent service's SLO burns — and it stays `proposed` until someone approves it. The evidence
(every minute, the upstream SLI in it, the incident references) travels with the proposal.
"""

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from slo_pipelines.catalog.fields import show
from slo_pipelines.catalog.models import SLO, Catalog, Document, budget_fraction
from slo_pipelines.engine.budgets.buckets import SLOBuckets
from slo_pipelines.engine.common.timeutil import format_instant
from slo_pipelines.engine.exclusions.intervals import merge

CATEGORY = "dependency_outage"


class DependencyOutageError(ValueError):
    """An input the proposals cannot be computed from; the message names the document or incident."""


@dataclass(frozen=True)
class VendorIncident:
    """An outage the vendor declared (status page, support case): evidence even without their SLI."""

    upstream: str
    start: int
    end: int
    reference: str


@dataclass(frozen=True)
class OutageRules:
    """How strict the evidence must be.

    `upstream_sli_below`: a minute of the upstream is bad when its SLI is below this (default: the
    upstream SLO's strictest objective target). `burn_rate_above`: a minute of the dependent SLO burns
    when its bad ratio over the allowed bad ratio exceeds this (1.0 = faster than the budget allows).
    Qualifying minutes at most `max_gap_seconds` apart form one proposal; shorter ones than
    `min_seconds` are dropped as noise.
    """

    upstream_sli_below: float | None = None
    burn_rate_above: float = 1.0
    max_gap_seconds: int = 0
    min_seconds: int = 60


@dataclass(frozen=True)
class OutageMinute:
    """One bucket of the dependent SLO inside a proposal, with the evidence for it."""

    start: int
    seconds: int
    slo_sli: float
    upstream_sli: float | None  # over the upstream buckets overlapping this one; None without data
    upstream_breaching: bool
    incidents: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "start": format_instant(self.start),
            "seconds": self.seconds,
            "slo_sli": self.slo_sli,
            "upstream_sli": self.upstream_sli,
            "upstream_breaching": self.upstream_breaching,
            "incidents": list(self.incidents),
        }


@dataclass(frozen=True)
class OutageProposal:
    """A `dependency_outage` exclusion waiting for approval; its id is stable across re-runs."""

    dependency: str
    service: str
    upstream: str
    upstream_slo: str | None
    slo: str
    start: int
    end: int
    minutes: tuple[OutageMinute, ...]
    state: str = "proposed"
    category: str = CATEGORY

    @property
    def id(self) -> str:
        return f"dep-{self.dependency}-{self.slo}-{self.start}"

    @property
    def incidents(self) -> tuple[str, ...]:
        return tuple(sorted({ref for m in self.minutes for ref in m.incidents}))

    @property
    def breaching_minutes(self) -> int:
        return sum(1 for m in self.minutes if m.upstream_breaching)

    @property
    def reason(self) -> str:
        parts = []
        if self.breaching_minutes:
            parts.append(f"{self.upstream_slo} breached in {self.breaching_minutes} of them")
        if self.incidents:
            parts.append(f"vendor incident {', '.join(self.incidents)}")
        return (
            f"{self.upstream} outage: {self.slo} burned in {len(self.minutes)} bucket(s) while "
            + " and ".join(parts)
        )

    def exclusion_payload(self, requester: str, approver: str, ticket: str | None = None) -> dict[str, Any]:
        """The `add` payload that turns this proposal into an exclusion once someone approves it."""
        payload: dict[str, Any] = {
            "scope": {"slo": self.slo},
            "start": format_instant(self.start),
            "end": format_instant(self.end),
            "category": CATEGORY,
            "reason": self.reason,
            "requester": requester,
            "approver": approver,
        }
        if ticket is not None:
            payload["ticket"] = ticket
        return payload

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state,
            "category": self.category,
            "needs_approval": True,
            "dependency": self.dependency,
            "service": self.service,
            "upstream": self.upstream,
            "upstream_slo": self.upstream_slo,
            "scope": f"slo:{self.slo}",
            "start": format_instant(self.start),
            "end": format_instant(self.end),
            "reason": self.reason,
            "incidents": list(self.incidents),
            "minutes": [m.to_json() for m in self.minutes],
        }


@dataclass(frozen=True)
class _Dependency:
    name: str
    service: str
    upstream: str
    slo: str | None


def strictest_target(slo: SLO) -> float:
    return max(objective.target for objective in slo.objectives)


def propose_outages(
    catalog: Catalog,
    buckets: Mapping[str, SLOBuckets],
    start: int,
    end: int,
    *,
    incidents: Sequence[VendorIncident] = (),
    rules: OutageRules = OutageRules(),
    dependencies: Iterable[Document] | None = None,
) -> list[OutageProposal]:
    """Proposals for every Dependency document (default: the catalog's) over `[start, end)`.

    A bucket of a dependent SLO (an SLO of the dependency's `service`) qualifies when it burns and
    overlaps a breaching upstream bucket or a declared incident of that upstream.
    """
    _check_incidents(incidents)
    docs = [
        d for d in (catalog.documents if dependencies is None else dependencies) if d.kind == "Dependency"
    ]
    out: list[OutageProposal] = []
    for doc in docs:
        dep = _dependency(doc, catalog)
        breaches = _upstream_breaches(dep, catalog, buckets, start, end, rules)
        declared = [i for i in incidents if i.upstream == dep.upstream and i.start < end and i.end > start]
        if not breaches and not declared:
            continue
        upstream_rows = buckets.get(dep.slo) if dep.slo is not None else None
        for slo in sorted(catalog.slos.values(), key=lambda s: s.name):
            if slo.service != dep.service or slo.name == dep.slo or slo.name not in buckets:
                continue
            minutes = _qualifying(
                slo, buckets[slo.name], start, end, rules, breaches, declared, upstream_rows
            )
            out.extend(_group(dep, slo.name, minutes, rules))
    return out


def outage_slos(catalog: Catalog, dependencies: Iterable[Document] | None = None) -> set[str]:
    """Names of the SLOs whose buckets `propose_outages` reads: each Dependency's upstream SLO and the
    SLOs of its dependent service. Empty when there is no Dependency document, so nothing need be read."""
    docs = [
        d for d in (catalog.documents if dependencies is None else dependencies) if d.kind == "Dependency"
    ]
    names: set[str] = set()
    for doc in docs:
        dep = _dependency(doc, catalog)
        names.update(s.name for s in catalog.slos.values() if s.service == dep.service)
        if dep.slo is not None:
            names.add(dep.slo)
    return names


def _dependency(doc: Document, catalog: Catalog) -> _Dependency:
    spec = doc.body.get("spec")
    where = f"{doc.file}[{doc.index}]"
    if not isinstance(spec, dict):
        raise DependencyOutageError(f"{where} spec: is required")
    for key in ("service", "upstream"):
        if not isinstance(spec.get(key), str) or not spec[key].strip():
            raise DependencyOutageError(
                f"{where} spec.{key}: must be a non-empty string (got {show(spec.get(key))})"
            )
    slo = spec.get("slo")
    if slo is not None and slo not in catalog.slos:
        raise DependencyOutageError(
            f"{where} spec.slo: no SLO with this name in the catalog (got {show(slo)})"
        )
    return _Dependency(doc.name, spec["service"], spec["upstream"], slo)


def _check_incidents(incidents: Sequence[VendorIncident]) -> None:
    for i, incident in enumerate(incidents):
        if incident.end <= incident.start:
            raise DependencyOutageError(
                f"incidents[{i}] end: must be after start (got {format_instant(incident.end)} "
                f"for start {format_instant(incident.start)})"
            )
        if not incident.reference.strip():
            raise DependencyOutageError(f"incidents[{i}] reference: must not be empty")


def _upstream_breaches(
    dep: _Dependency,
    catalog: Catalog,
    buckets: Mapping[str, SLOBuckets],
    start: int,
    end: int,
    rules: OutageRules,
) -> list[tuple[int, int]]:
    """Merged intervals where the upstream's own SLI was below the bar."""
    if dep.slo is None or dep.slo not in buckets:
        return []
    rows = buckets[dep.slo]
    below = rules.upstream_sli_below
    bar = strictest_target(catalog.slos[dep.slo]) if below is None else below
    s = rows.between(start, end)
    good, total, starts = rows.good[s], rows.total[s], rows.starts[s]
    with np.errstate(invalid="ignore", divide="ignore"):
        bad = (total > 0) & (good / total < bar)
    return merge((int(b), int(b) + rows.bucket_seconds) for b in starts[bad])


def _qualifying(
    slo: SLO,
    rows: SLOBuckets,
    start: int,
    end: int,
    rules: OutageRules,
    breaches: list[tuple[int, int]],
    declared: list[VendorIncident],
    upstream_rows: SLOBuckets | None,
) -> list[OutageMinute]:
    allowed = budget_fraction(strictest_target(slo))
    s = rows.between(start, end)
    good, total, starts = rows.good[s], rows.total[s], rows.starts[s]
    width = rows.bucket_seconds
    with np.errstate(invalid="ignore", divide="ignore"):
        burning = (total > 0) & ((total - good) / total > rules.burn_rate_above * allowed)
    breach_ends = [e for _, e in breaches]
    out: list[OutageMinute] = []
    for i in np.flatnonzero(burning):
        lo = int(starts[i])
        hi = lo + width
        j = bisect.bisect_right(breach_ends, lo)
        breaching = j < len(breaches) and breaches[j][0] < hi
        refs = tuple(inc.reference for inc in declared if inc.start < hi and inc.end > lo)
        if not breaching and not refs:
            continue
        out.append(
            OutageMinute(
                start=lo,
                seconds=width,
                slo_sli=float(good[i] / total[i]),
                upstream_sli=_sli_between(upstream_rows, lo, hi),
                upstream_breaching=breaching,
                incidents=refs,
            )
        )
    return out


def _sli_between(rows: SLOBuckets | None, lo: int, hi: int) -> float | None:
    """The upstream SLI over its buckets overlapping `[lo, hi)`: the number a reviewer checks."""
    if rows is None:
        return None
    s = rows.between(lo - rows.bucket_seconds + 1, hi)
    total = float(rows.total[s].sum())
    return None if total <= 0 else float(rows.good[s].sum()) / total


def _group(
    dep: _Dependency, slo: str, minutes: list[OutageMinute], rules: OutageRules
) -> list[OutageProposal]:
    runs: list[list[OutageMinute]] = []
    for minute in minutes:
        if runs and minute.start <= runs[-1][-1].start + runs[-1][-1].seconds + rules.max_gap_seconds:
            runs[-1].append(minute)
        else:
            runs.append([minute])
    proposals = []
    for run in runs:
        first, last = run[0].start, run[-1].start + run[-1].seconds
        if last - first < rules.min_seconds:
            continue
        proposals.append(
            OutageProposal(
                dependency=dep.name,
                service=dep.service,
                upstream=dep.upstream,
                upstream_slo=dep.slo,
                slo=slo,
                start=first,
                end=last,
                minutes=tuple(run),
            )
        )
    return proposals
