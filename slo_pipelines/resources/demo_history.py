"""Deterministic minute-level SLI history for a catalog: diurnal and weekly traffic, noise, incidents.

Every minute's numbers depend only on the SLO name and the minute itself (a counter-based RNG keyed on
both), so any partition can be regenerated alone and re-running a day gives identical rows.
"""

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from slo_pipelines.catalog.models import SLO, Catalog, Objective

DAY = 86400


@dataclass(frozen=True)
class Incident:
    slo: str
    start: int
    end: int
    severity: float  # bad fraction (ratio SLIs) or multiple of the threshold (threshold SLIs)
    description: str


def _seed(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "little")


def _base_rate(slo: SLO) -> float:
    """Requests per minute: the `slo-pipelines.io/demo-rate` annotation, else a stable pseudo-random pick."""
    if "slo-pipelines.io/demo-rate" in slo.annotations:
        return float(slo.annotations["slo-pipelines.io/demo-rate"])
    return float(np.random.default_rng(_seed("rate", slo.name)).choice([60, 200, 600, 1500, 4000]))


def incidents_for(slo: SLO, start: int, end: int) -> list[Incident]:
    """A few incidents per 30 days per SLO, at stable instants (seeded by SLO name and day)."""
    out = []
    first_day, last_day = start // DAY, -(-end // DAY)
    for day in range(first_day, last_day):
        rng = np.random.default_rng(_seed("incident", slo.name, day))
        if rng.random() < 0.04:
            s = day * DAY + int(rng.integers(0, 1440)) * 60
            length = int(rng.choice([3, 5, 10, 20, 45, 90])) * 60
            severity = float(rng.choice([0.002, 0.01, 0.05, 0.2, 1.0]))
            out.append(Incident(slo.name, s, s + length, severity, "injected incident"))
    return [i for i in out if i.start < end and i.end > start]


def _diurnal(minutes: np.ndarray) -> np.ndarray:
    hour = (minutes % 1440) / 60.0
    weekday = (minutes // 1440 + 4) % 7  # 1970-01-01 was a Thursday
    daily = 0.55 + 0.45 * np.sin((hour - 9.0) / 24.0 * 2 * np.pi) ** 2 * (hour > 6)
    weekly = np.where(weekday >= 5, 0.7, 1.0)
    return daily * weekly


def _minute_uniform(name: str, minutes: np.ndarray, salt: str) -> np.ndarray:
    """A uniform draw per (SLO, minute) that does not depend on which range is being generated."""
    key = np.uint64(_seed(salt, name) & 0xFFFFFFFFFFFF)
    x = (minutes.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) ^ key
    x ^= x >> np.uint64(33)
    x *= np.uint64(0xFF51AFD7ED558CCD)
    x ^= x >> np.uint64(33)
    x *= np.uint64(0xC4CEB9FE1A85EC53)
    x ^= x >> np.uint64(33)
    return (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def generate_slo(
    slo: SLO,
    start: int,
    end: int,
    extra_incidents: list[Incident] | None = None,
    objective: Objective | None = None,
) -> pd.DataFrame:
    """Rows of one SLO (or of one objective with its own indicator, keyed `SLO.data_key`)."""
    b = slo.bucket_seconds
    starts = np.arange(-(-start // b) * b, end, b, dtype=np.int64)
    minutes = starts // 60
    objective = objective or slo.objectives[0]
    key = slo.data_key(objective)
    incidents = incidents_for(slo, start, end) + [i for i in (extra_incidents or []) if i.slo == slo.name]
    u1, u2 = _minute_uniform(slo.name, minutes, "a"), _minute_uniform(slo.name, minutes, "b")
    badness = np.zeros(starts.size)
    for inc in incidents:
        m = (starts >= inc.start) & (starts < inc.end)
        badness[m] = np.maximum(badness[m], inc.severity)

    is_threshold = slo.indicator_of(objective).kind == "threshold" and slo.budgeting_method != "Occurrences"
    if is_threshold:
        limit = float(objective.value or 1.0)
        healthy = limit * (0.35 + 0.4 * u1)
        value = np.where(badness > 0, limit * (1.0 + 2.0 * badness) * (0.9 + 0.2 * u2), healthy)
        # rare single-minute spikes, as real latency has
        value = np.where(u2 > 0.9985, limit * 1.3, value)
        ones = np.ones(starts.size)
        good = (value < limit).astype(np.float64)
        return pd.DataFrame(
            {
                "slo": key,
                "start": starts,
                "good": good,
                "total": ones,
                "value": value,
                "bucket_seconds": b,
            }
        )

    rate = _base_rate(slo) * _diurnal(minutes) * b / 60.0
    total = np.floor(rate * (0.9 + 0.2 * u1) + 0.5)
    background = (1.0 - objective.target) * (0.05 + 0.5 * u2)
    bad_fraction = np.clip(np.maximum(background, badness), 0.0, 1.0)
    bad = np.minimum(total, np.floor(total * bad_fraction + u1 * (bad_fraction > 0)))
    return pd.DataFrame(
        {
            "slo": key,
            "start": starts,
            "good": total - bad,
            "total": total,
            "value": np.nan,
            "bucket_seconds": b,
        }
    )


def vendor_incidents(catalog: Catalog) -> list[Incident]:
    """Make declared dependency outages visible in the data: the excluded SLO really fails then."""
    out = []
    for rule in catalog.exclusions:
        if rule.category == "dependency_outage" and rule.start is not None and rule.end is not None:
            for name, slo in catalog.slos.items():
                if rule.scope.applies_to(name, slo.service):
                    out.append(Incident(name, rule.start, rule.end, 0.6, f"dependency outage: {rule.name}"))
    return out


SEVERITY_BAD_FRACTION = {"SEV1": 0.3, "SEV2": 0.02, "SEV3": 0.01, "SEV4": 0.005}


def declared_incidents(catalog: Catalog) -> list[Incident]:
    """Make the catalog's Incident documents visible in the data: the SLOs they affect (with their
    dependents) really fail then, more for a more severe incident."""
    from slo_pipelines.catalog.incidents import catalog_incidents
    from slo_pipelines.engine.incidents.affected import affected_slos

    out = []
    for incident in catalog_incidents(catalog):
        if incident.end is None:
            continue
        for slo in affected_slos(catalog, incident.services):
            fraction = SEVERITY_BAD_FRACTION[incident.severity]
            if (
                slo.indicator_of(slo.objectives[0]).kind == "threshold"
            ):  # a multiple of the latency threshold instead
                fraction = 1.5 + 10 * fraction
            out.append(
                Incident(slo.name, incident.start, incident.end, fraction, f"incident {incident.name}")
            )
    return out


def generate(catalog: Catalog, start: int, end: int) -> pd.DataFrame:
    """Buckets for every SLO of the catalog in `[start, end)`, sorted by (slo, start)."""
    extra = vendor_incidents(catalog) + declared_incidents(catalog)
    jobs: dict[str, tuple[SLO, Objective]] = {}
    for slo in catalog.slos.values():
        for objective in slo.objectives:
            jobs.setdefault(slo.data_key(objective), (slo, objective))
    frames = [generate_slo(slo, start, end, extra, objective) for _, (slo, objective) in sorted(jobs.items())]
    if not frames:
        return pd.DataFrame(columns=["slo", "start", "good", "total", "value", "bucket_seconds"])
    return pd.concat(frames, ignore_index=True)
