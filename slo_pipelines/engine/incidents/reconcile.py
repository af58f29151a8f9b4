"""Reconciliation for audit: automated SLO evidence against the incident records (pure).

Findings, each naming the incident and the SLO:
- `page_without_incident`: a burn episode (page alerts of one SLO objective, overlapping runs merged)
  that no incident affecting that SLO covers, within the tolerance;
- `incident_without_impact`: an incident whose affected SLOs show no bad event or slice in its window;
- `start_drift` / `end_drift`: the incident's start (end) differs from its SLO's burn episode's first
  page (last page end) by more than the tolerance;
- `severity_mismatch`: the declared severity differs from the one its budget cost implies;
- `edited_after_postmortem`: a version changed the window, severity or services after a version that
  carried the postmortem link (needs the version history, as the warehouse keeps it).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from slo_pipelines.catalog.incidents import Incident
from slo_pipelines.engine.common.timeutil import format_instant
from slo_pipelines.engine.incidents.impact import IncidentImpact


@dataclass(frozen=True)
class Finding:
    kind: str
    incident: str | None
    slo: str | None
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "incident": self.incident, "slo": self.slo, "detail": self.detail}


@dataclass(frozen=True)
class Episode:
    slo: str
    objective: str
    start: int
    end: int | None  # None while still firing


def burn_episodes(pages: pd.DataFrame) -> list[Episode]:
    """Page alert events (slo, objective, started_at, ended_at) merged into episodes per SLO objective."""
    out: list[Episode] = []
    if pages.empty:
        return out
    for (slo, objective), group in pages.groupby(["slo", "objective"], sort=True):
        rows = sorted(
            (int(s), None if pd.isna(e) else int(e))
            for s, e in zip(group["started_at"], group["ended_at"], strict=True)
        )
        start, end = rows[0]
        for s, e in rows[1:]:
            if end is None or s <= end:
                end = None if end is None or e is None else max(end, e)
            else:
                out.append(Episode(str(slo), str(objective), start, end))
                start, end = s, e
        out.append(Episode(str(slo), str(objective), start, end))
    return out


def _minutes(seconds: int) -> str:
    return f"{abs(seconds) / 60:g} min"


def reconcile(
    impacts: Sequence[IncidentImpact],
    pages: pd.DataFrame,
    tolerance: int,
    history: Mapping[str, Sequence[Incident]] | None = None,
) -> list[Finding]:
    episodes = burn_episodes(pages)
    findings: list[Finding] = []
    covered: set[int] = set()
    for impact in impacts:
        incident = impact.incident
        lo, hi = incident.start - tolerance, impact.measured_end + tolerance
        slos = {s.name for s in impact.slos}
        if not any(s.bad > 0 for s in impact.slos):
            findings.append(
                Finding(
                    "incident_without_impact",
                    incident.name,
                    ", ".join(sorted(slos)) or None,
                    "no bad event or slice in the window"
                    + ("" if slos else "; it affects no SLO of the catalog"),
                )
            )
        for k, episode in enumerate(episodes):
            if (
                episode.slo not in slos
                or episode.start >= hi
                or (episode.end is not None and episode.end <= lo)
            ):
                continue
            covered.add(k)
            drift = episode.start - incident.start
            if abs(drift) > tolerance:
                findings.append(
                    Finding(
                        "start_drift",
                        incident.name,
                        episode.slo,
                        f"first page {format_instant(episode.start)}, incident start "
                        f"{format_instant(incident.start)} "
                        f"({_minutes(drift)} {'later' if drift > 0 else 'earlier'})",
                    )
                )
            if (
                incident.end is not None
                and episode.end is not None
                and abs(episode.end - incident.end) > tolerance
            ):
                findings.append(
                    Finding(
                        "end_drift",
                        incident.name,
                        episode.slo,
                        f"pages ended {format_instant(episode.end)}, "
                        f"incident end {format_instant(incident.end)} "
                        f"({_minutes(episode.end - incident.end)} apart)",
                    )
                )
        if impact.severity_mismatch:
            worst = max(impact.slos, key=lambda s: s.budget_consumed_ratio or 0.0)
            findings.append(
                Finding(
                    "severity_mismatch",
                    incident.name,
                    worst.name,
                    f"declared {incident.severity}, expected {impact.expected_severity} "
                    f"({(worst.budget_consumed_ratio or 0.0) * 100:.2f}% of a period's budget)",
                )
            )
        versions = sorted((history or {}).get(incident.name, ()), key=lambda v: v.updated_at or 0)
        with_postmortem = [v for v in versions if v.postmortem]
        if with_postmortem:
            first = with_postmortem[0]
            for later in versions:
                if (later.updated_at or 0) <= (first.updated_at or 0):
                    continue
                changed = [
                    f
                    for f, a, b in (
                        ("start", first.start, later.start),
                        ("end", first.end, later.end),
                        ("severity", first.severity, later.severity),
                        ("services", first.services, later.services),
                    )
                    if a != b
                ]
                if changed:
                    findings.append(
                        Finding(
                            "edited_after_postmortem",
                            incident.name,
                            ", ".join(sorted(slos)) or None,
                            f"{', '.join(changed)} changed at {format_instant(later.updated_at or 0)}, "
                            f"after the postmortem was linked at {format_instant(first.updated_at or 0)}",
                        )
                    )
    for k, episode in enumerate(episodes):
        if k not in covered:
            end = "still firing" if episode.end is None else f"to {format_instant(episode.end)}"
            findings.append(
                Finding(
                    "page_without_incident",
                    None,
                    episode.slo,
                    f"pages on {episode.objective} from {format_instant(episode.start)} {end}; "
                    "no incident covers them",
                )
            )
    return findings
