"""A slow, obviously-correct reading of DESIGN.md §9 (incident impact and attribution), unit by unit.

It walks every bucket (Occurrences) or slice (timeslice methods) whose start lies in an incident's
window, in plain Python on top of `tests/reference.py`, independently of the engine.
"""

import math
from dataclasses import dataclass

from tests.reference import RefSLO, bucket_starts, is_excluded, tally


@dataclass
class RefImpact:
    bad: float
    total: float
    allowed_bad: float
    ratio: float | None
    peak_burn_rate_1h: float | None
    attributed_bad: float


def _units(slo: RefSLO, start: int, end: int) -> list[int]:
    size = slo.bucket if slo.method == "Occurrences" else slo.slice_seconds
    return bucket_starts(start, end, size)


def _unit(slo: RefSLO, rows: dict, excl: list, u: int) -> tuple[float, float]:
    """(bad, counted) of the unit starting at u."""
    size = slo.bucket if slo.method == "Occurrences" else slo.slice_seconds
    _, total, consumed, _, _, _ = tally(slo, rows, excl, u, u + size)
    return consumed, total


def _has_data(slo: RefSLO, rows: dict, excl: list, units: list[int]) -> bool:
    size = slo.bucket if slo.method == "Occurrences" else slo.slice_seconds
    return any(
        t in rows and not is_excluded(t, excl) for u in units for t in bucket_starts(u, u + size, slo.bucket)
    )


def _measured(slo: RefSLO, rows: dict, excl: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """DESIGN.md §3 "Measured since": time before the annotation or the first row counts as excluded."""
    first_row = min(rows) if rows else 2**40
    since = slo.measured_since if slo.measured_since is not None else first_row
    return [*excl, (-(2**40), since)]


def impacts(
    slo: RefSLO, rows: dict, excl: list[tuple[int, int]], windows: list[tuple[int, int]]
) -> list[RefImpact]:
    excl = _measured(slo, rows, excl)
    units = [_units(slo, s, e) for s, e in windows]
    live = [_has_data(slo, rows, excl, us) for us in units]
    out = []
    for (start, end), us, has in zip(windows, units, live, strict=True):
        per_unit = [_unit(slo, rows, excl, u) for u in us]
        bad = math.fsum(b for b, _ in per_unit) if has else 0.0
        total = math.fsum(t for _, t in per_unit) if has else 0.0
        boundary = -(-end // slo.bucket) * slo.bucket
        lo = boundary - slo.period_seconds
        _, w_total, _, _, touched, excluded = tally(slo, rows, excl, lo, boundary)
        units_in_budget = w_total if slo.method == "Occurrences" else touched - excluded
        allowed = (1 - slo.target) * units_in_budget
        burns = []
        for t in range((start // slo.bucket + 1) * slo.bucket, end + 1, slo.bucket):
            _, t_total, t_bad, t_sli, _, _ = tally(slo, rows, excl, t - 3600, t)
            if t_sli is not None:
                burns.append((t_bad / t_total) / (1 - slo.target))
        attributed = 0.0
        if has:
            for u in us:
                k = sum(1 for other, ok in zip(units, live, strict=True) if ok and u in other)
                attributed += _unit(slo, rows, excl, u)[0] / k
        out.append(
            RefImpact(
                bad=bad,
                total=total,
                allowed_bad=allowed,
                ratio=bad / allowed if allowed > 0 else None,
                peak_burn_rate_1h=max(burns) if burns else None,
                attributed_bad=attributed,
            )
        )
    return out


def union_bad(slo: RefSLO, rows: dict, excl: list, windows: list[tuple[int, int]]) -> float:
    """Bad over the union of the windows (with data) of the incidents: what attribution must conserve."""
    excl = _measured(slo, rows, excl)
    seen: set[int] = set()
    for s, e in windows:
        us = _units(slo, s, e)
        if _has_data(slo, rows, excl, us):
            seen.update(us)
    return math.fsum(_unit(slo, rows, excl, u)[0] for u in sorted(seen))
