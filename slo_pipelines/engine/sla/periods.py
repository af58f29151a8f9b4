"""Contractual periods (calendar months and quarters) read in a contract's time zone.

A period is `[local midnight of its first day, local midnight of the next period's first day)` in the
contract's zone, as UTC epoch seconds, so a New York month across the DST change has its true length
(November 2026 in America/New_York lasts 30 days and one hour). Labels: `2026-10` (a month),
`2026-Q4` (a quarter).
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from slo_pipelines.engine.common.timeutil import local_to_epoch, zone

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


class PeriodError(ValueError):
    """A period label that is neither `YYYY-MM` nor `YYYY-Qn`; the message is ready for a user."""


@dataclass(frozen=True, order=True)
class PeriodLabel:
    """A calendar month or quarter independent of any zone: `first_month` is 1-12."""

    year: int
    first_month: int
    months: int  # 1 (month) or 3 (quarter)

    @property
    def calendar(self) -> str:
        return "month" if self.months == 1 else "quarter"

    def __str__(self) -> str:
        if self.months == 1:
            return f"{self.year:04d}-{self.first_month:02d}"
        return f"{self.year:04d}-Q{(self.first_month - 1) // 3 + 1}"

    def next(self) -> "PeriodLabel":
        month = self.first_month - 1 + self.months
        return PeriodLabel(self.year + month // 12, month % 12 + 1, self.months)

    def previous(self) -> "PeriodLabel":
        month = self.first_month - 1 - self.months
        return PeriodLabel(self.year + month // 12, month % 12 + 1, self.months)


def parse_period(text: str) -> PeriodLabel:
    """`2026-10` or `2026-Q4`; raises PeriodError naming the text."""
    s = str(text).strip()
    month, quarter = _MONTH.match(s), _QUARTER.match(s)
    if month is not None and 1 <= int(month.group(2)) <= 12:
        label = PeriodLabel(int(month.group(1)), int(month.group(2)), 1)
    elif quarter is not None:
        label = PeriodLabel(int(quarter.group(1)), 3 * (int(quarter.group(2)) - 1) + 1, 3)
    else:
        raise PeriodError(f"not a period: use YYYY-MM for a month or YYYY-Qn for a quarter (got {s!r})")
    if not 1970 <= label.year <= 2200:
        raise PeriodError(f"period year out of range (1970 to 2200) (got {s!r})")
    return label


@dataclass(frozen=True)
class ContractPeriod:
    """A period label placed in a time zone: `[start, end)` in UTC epoch seconds."""

    label: PeriodLabel
    time_zone: str
    start: int
    end: int

    @property
    def minutes(self) -> int:
        return (self.end - self.start) // 60

    def local_iso(self, instant: int) -> str:
        """The instant as local ISO 8601 with the zone's offset at that instant."""
        return datetime.fromtimestamp(instant, zone(self.time_zone)).isoformat()


def place(label: PeriodLabel, time_zone: str) -> ContractPeriod:
    tz = zone(time_zone)
    after = label.next()
    start = local_to_epoch(datetime(label.year, label.first_month, 1), tz)
    end = local_to_epoch(datetime(after.year, after.first_month, 1), tz)
    return ContractPeriod(label, tz.key, start, end)


def label_containing(instant: int, time_zone: str, months: int) -> PeriodLabel:
    """The month (months=1) or quarter (3) of the zone's calendar that holds `instant`."""
    local = datetime.fromtimestamp(instant, UTC).astimezone(zone(time_zone))
    first = (local.month - 1) // months * months + 1
    return PeriodLabel(local.year, first, months)


def closed_periods(time_zone: str, months: int, since: int, until: int) -> list[ContractPeriod]:
    """Every period in the zone that ends at or before `until` and ends after `since`, oldest first."""
    out: list[ContractPeriod] = []
    label = label_containing(since, time_zone, months)
    while True:
        period = place(label, time_zone)
        if period.end > until:
            return out
        if period.end > since:
            out.append(period)
        label = label.next()
