"""A slow, obviously correct SLA statement: walk the period minute by minute (DESIGN.md §2).

Independent of the engine: periods from aware `datetime`s, exclusions as explicit `[start, end)`
intervals (recurring ones expanded by walking local days), per-minute sums in `Fraction`s, a bucket
longer than a minute shared equally by the minutes it covers, tiers scanned in full.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class RefExclusion:
    category: str
    scope: tuple[str, str] | None  # ("slo", name) | ("service", name) | None for every SLO
    intervals: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class RefContract:
    slos: tuple[str, ...]
    time_zone: str
    sli_below: str  # decimal text, e.g. "0.95"
    target: str
    credits: tuple[tuple[str, str], ...]  # (below, credit) as decimal text
    honours: tuple[str, ...]
    monthly_fee: str | None


@dataclass(frozen=True)
class RefRow:
    slo: str
    start: int
    good: float
    total: float
    bucket_seconds: int


def period_bounds(label: str, time_zone: str) -> tuple[int, int, int]:
    """(start, end, months) of `2026-10` or `2026-Q4` in the zone."""
    tz = ZoneInfo(time_zone)
    year = int(label[:4])
    if "Q" in label:
        first, months = 3 * (int(label[-1]) - 1) + 1, 3
    else:
        first, months = int(label[5:]), 1
    last = first + months
    start = datetime(year, first, 1, tzinfo=tz)
    end = datetime(year + (last - 1) // 12, (last - 1) % 12 + 1, 1, tzinfo=tz)
    return int(start.astimezone(UTC).timestamp()), int(end.astimezone(UTC).timestamp()), months


def weekly_local(
    time_zone: str, weekday: int, hour: int, minutes: int, lo: int, hi: int
) -> list[tuple[int, int]]:
    """Every `weekday` at `hour`:00 local time lasting `minutes`, overlapping `[lo, hi)`."""
    tz = ZoneInfo(time_zone)
    day = datetime.fromtimestamp(lo, tz).date() - timedelta(days=2)
    out = []
    while True:
        local = datetime(day.year, day.month, day.day, hour, tzinfo=tz)
        s = int(local.timestamp())
        if s >= hi:
            return out
        if day.weekday() == weekday and s + 60 * minutes > lo:
            out.append((s, s + 60 * minutes))
        day += timedelta(days=1)


def _applies(x: RefExclusion, slo: str, services: dict[str, str]) -> bool:
    if x.scope is None:
        return True
    kind, name = x.scope
    return name == (slo if kind == "slo" else services[slo])


def statement(
    contract: RefContract,
    label: str,
    rows: list[RefRow],
    exclusions: list[RefExclusion],
    services: dict[str, str],
) -> dict[str, object]:
    start, end, months = period_bounds(label, contract.time_zone)
    honoured = [
        x
        for x in exclusions
        if x.category in contract.honours and any(_applies(x, s, services) for s in contract.slos)
    ]
    good: dict[int, Fraction] = {}
    total: dict[int, Fraction] = {}
    for row in rows:
        if row.slo not in contract.slos:
            continue
        if row.bucket_seconds <= 60:
            covered = [row.start - row.start % 60]
            share = 1
        else:
            covered = list(range(row.start, row.start + row.bucket_seconds, 60))
            share = row.bucket_seconds // 60
        for minute in covered:
            # counts are the decimals the samples file wrote (0.95 is 19/20, not the float below it)
            good[minute] = good.get(minute, Fraction(0)) + Fraction(repr(float(row.good))) / share
            total[minute] = total.get(minute, Fraction(0)) + Fraction(repr(float(row.total))) / share
    below = Fraction(Decimal(contract.sli_below))
    minutes = excluded = down = 0
    t = start
    while t < end:
        minutes += 1
        if any(s <= t < e for x in honoured for s, e in x.intervals):
            excluded += 1
        elif total.get(t, 0) > 0 and good[t] / total[t] < below:
            down += 1
        t += 60
    eligible = minutes - excluded
    attainment = Fraction(100 * (eligible - down), eligible) if eligible else None
    credit = Decimal(0)
    if attainment is not None:
        under = [(Decimal(b), Decimal(c)) for b, c in contract.credits if attainment < Fraction(Decimal(b))]
        if under:
            credit = min(under)[1]
    fee = None if contract.monthly_fee is None else Decimal(contract.monthly_fee) * months * credit / 100
    return {
        "minutes_total": minutes,
        "minutes_excluded": excluded,
        "minutes_down": down,
        "attainment": attainment,
        "met": attainment is None or attainment >= Fraction(Decimal(contract.target)),
        "credit_percent": credit,
        "credit_amount": fee,
    }
