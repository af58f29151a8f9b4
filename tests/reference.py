"""A slow, obviously-correct implementation of DESIGN.md §3, written independently of the engine.

It loops over buckets and slices one at a time in plain Python, so it is easy to check by eye; the
property tests compare the vectorised engine against it.
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

LOOKBACKS = {"5m": 300, "30m": 1800, "1h": 3600, "2h": 7200, "6h": 21600, "1d": 86400, "3d": 259200}
RULES = [
    ("page", "1h", "5m", 0.02),
    ("page", "6h", "30m", 0.05),
    ("ticket", "1d", "2h", 0.10),
    ("ticket", "3d", "6h", 0.10),
]


@dataclass
class RefSLO:
    method: str  # Occurrences | Timeslices | RatioTimeslices
    target: float
    window_seconds: int | None  # rolling
    calendar: tuple[str, str] | None = (
        None  # ("month"|"quarter"|"year"|"week", zone) anchored at Jan 1 / Monday
    )
    period_seconds: int = 30 * 86400
    slice_seconds: int = 60
    slice_target: float = 0.9
    threshold: tuple[str, float] | None = None  # (op, value) for threshold metrics
    no_data: str = "ignore"
    bucket: int = 60
    measured_since: int | None = None  # the annotation; None: from the first row (DESIGN.md §3)


def calendar_start(kind: str, tz: str, at: int) -> tuple[int, int]:
    z = ZoneInfo(tz)
    local = datetime.fromtimestamp(at - 1, UTC).astimezone(z)
    if kind == "week":
        day = local.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
        start = day - relativedelta(days=day.weekday())
        end = start + relativedelta(days=7)
    else:
        months = {"month": 1, "quarter": 3, "year": 12}[kind]
        first_month = ((local.month - 1) // months) * months + 1
        start = datetime(local.year, first_month, 1)
        end = start + relativedelta(months=months)
    return int(start.replace(tzinfo=z).timestamp()), int(end.replace(tzinfo=z).timestamp())


def window(slo: RefSLO, at: int) -> tuple[int, int, int]:
    if slo.calendar is None:
        assert slo.window_seconds is not None
        return at - slo.window_seconds, at, at
    s, e = calendar_start(slo.calendar[0], slo.calendar[1], at)
    return s, at, e


def is_excluded(t: int, exclusions: list[tuple[int, int]]) -> bool:
    return any(s <= t < e for s, e in exclusions)


def bucket_starts(lo: int, hi: int, b: int) -> list[int]:
    first = -(-lo // b) * b
    return list(range(first, hi, b)) if hi > first else []


def satisfies(v: float, op: str, x: float) -> bool:
    return {"lt": v < x, "lte": v <= x, "gt": v > x, "gte": v >= x}[op]


def tally(
    slo: RefSLO, rows: dict[int, tuple[float, float, float]], excl: list[tuple[int, int]], lo: int, hi: int
):
    """(good, total, consumed, sli or None, slices_touched, slices_excluded) over [lo, hi)."""
    if slo.method == "Occurrences":
        g = [rows[t][0] for t in bucket_starts(lo, hi, slo.bucket) if t in rows and not is_excluded(t, excl)]
        tt = [rows[t][1] for t in bucket_starts(lo, hi, slo.bucket) if t in rows and not is_excluded(t, excl)]
        good, total = math.fsum(g), math.fsum(tt)
        bad = math.fsum(
            rows[t][1] - rows[t][0]
            for t in bucket_starts(lo, hi, slo.bucket)
            if t in rows and not is_excluded(t, excl)
        )
        return good, total, bad, (good / total if total > 0 else None), 0, 0
    S = slo.slice_seconds
    touched = excluded = 0
    good_n = 0.0
    considered = 0
    consumed = 0.0
    ratio_sum = 0.0
    s0 = (lo // S) * S
    for ss in range(s0, hi, S):
        positions = bucket_starts(max(ss, lo), min(ss + S, hi), slo.bucket)
        if not positions:
            continue
        touched += 1
        incl = [t for t in positions if not is_excluded(t, excl)]
        if not incl:
            excluded += 1
            continue
        present = [rows[t] for t in incl if t in rows]
        if slo.threshold is not None:
            vals = [r[2] for r in present if not math.isnan(r[2])]
            has_data = bool(vals)
            ratio = (sum(satisfies(v, *slo.threshold) for v in vals) / len(vals)) if vals else 0.0
            is_good = has_data and all(satisfies(v, *slo.threshold) for v in vals)
        else:
            g = math.fsum(r[0] for r in present)
            t = math.fsum(r[1] for r in present)
            has_data = t > 0
            ratio = g / t if has_data else 0.0
            is_good = has_data and ratio >= slo.slice_target
        if not has_data:
            if slo.no_data == "ignore":
                continue
            has_data, is_good, ratio = True, slo.no_data == "good", 1.0 if slo.no_data == "good" else 0.0
        considered += 1
        if slo.method == "Timeslices":
            good_n += 1 if is_good else 0
            consumed += 0 if is_good else 1
        else:
            ratio_sum += ratio
            consumed += 1.0 - ratio
    good_out = good_n if slo.method == "Timeslices" else ratio_sum
    sli = good_out / considered if considered else None
    return good_out, float(considered), consumed, sli, touched, excluded


def union_seconds(excl: list[tuple[int, int]], lo: int, hi: int) -> int:
    clipped = sorted((max(s, lo), min(e, hi)) for s, e in excl if min(e, hi) > max(s, lo))
    total, cur_s, cur_e = 0, None, None
    for s, e in clipped:
        if cur_e is None or s > cur_e:
            if cur_e is not None:
                total += cur_e - cur_s
            cur_s, cur_e = s, e
        else:
            cur_e = max(cur_e, e)
    if cur_e is not None:
        total += cur_e - cur_s
    return total


def evaluate(
    slo: RefSLO, rows: dict[int, tuple[float, float, float]], excl: list[tuple[int, int]], at: int
) -> dict:
    ws, we, full_end = window(slo, at)
    # Measured since: the annotation, else the first row; with neither, nothing is measured. The time
    # before it is treated exactly like one more exclusion, but reported on its own.
    first_row = min(rows) if rows else 2**40
    since = slo.measured_since if slo.measured_since is not None else first_row
    catalog_excl = excl
    excl = [*excl, (-(2**40), since)]
    not_measured = min(max(since - ws, 0), we - ws)
    good, total, consumed, sli, _, _ = tally(slo, rows, excl, ws, we)
    # DESIGN.md: the budget fraction is 1 - target taken in decimal from the target as written
    budget = float(Decimal(1) - Decimal(repr(float(slo.target))))
    if slo.method == "Occurrences":
        allowed = budget * total
    else:
        _, _, _, _, touched, excluded = tally(slo, rows, excl, ws, full_end)
        allowed = budget * (touched - excluded)
    remaining = 1 - consumed / allowed if allowed > 0 else None
    excluded_seconds = union_seconds(catalog_excl, max(ws, since), we)
    rows_in = sum(1 for t in bucket_starts(ws, we, slo.bucket) if t in rows and not is_excluded(t, excl))
    expected = ((we - ws) - excluded_seconds - not_measured) / slo.bucket
    coverage = rows_in / expected if expected > 0 else None
    burn = {}
    for label, secs in LOOKBACKS.items():
        _, t_l, c_l, sli_l, _, _ = tally(slo, rows, excl, at - secs, at)
        burn[label] = None if sli_l is None else (c_l / t_l) / budget
    alerts = []
    for sev, lw, sw, frac in RULES:
        thr = frac * slo.period_seconds / LOOKBACKS[lw]
        if burn[lw] is not None and burn[sw] is not None and burn[lw] > thr and burn[sw] > thr:
            alerts.append((sev, lw, sw))
    if sli is None:
        status = "no_data"
    elif remaining is not None and remaining < 0:
        status = "breach"
    elif remaining is not None and remaining < 0.25:
        status = "warning"
    else:
        status = "ok"
    return {
        "window": (ws, we),
        "good": good,
        "total": total,
        "sli": sli,
        "allowed_bad": allowed,
        "consumed_bad": consumed,
        "remaining_ratio": remaining,
        "excluded_seconds": excluded_seconds,
        "not_measured_seconds": not_measured,
        "coverage": coverage,
        "burn_rates": burn,
        "alerts": alerts,
        "status": status,
    }
