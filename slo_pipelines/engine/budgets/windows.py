"""Window arithmetic: rolling windows and calendar periods aligned in the window's own time zone.

Calendar periods are computed in wall-clock time and converted to UTC per boundary, so a month in
Europe/Berlin starts at local midnight whatever DST does, and a period may be 743 or 745 hours long.
"""

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from dateutil.relativedelta import relativedelta

from slo_pipelines.catalog.models import Duration, TimeWindow
from slo_pipelines.engine.common.timeutil import local_to_epoch, zone

_FIXED_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_MONTHS_PER_UNIT = {"M": 1, "Q": 3, "Y": 12}


@dataclass(frozen=True)
class WindowBounds:
    """`[start, end)` is what the SLI covers; `full_end` is where the budget period ends (>= end)."""

    start: int
    end: int
    full_end: int


def duration_seconds(d: Duration) -> int:
    """Seconds of a rolling duration; month-based units use their nominal length (30/90/365 d)."""
    return d.nominal_seconds()


def _period_offset(d: Duration, k: int) -> relativedelta:
    if d.unit in _MONTHS_PER_UNIT:
        return relativedelta(months=k * d.count * _MONTHS_PER_UNIT[d.unit])
    return relativedelta(seconds=k * d.count * _FIXED_UNIT_SECONDS[d.unit])


class CalendarPeriods:
    """Boundaries of a calendar window's periods: period k starts at anchor + k·duration in local time."""

    def __init__(self, window: TimeWindow) -> None:
        if window.calendar_start is None:
            raise ValueError("calendar window without startTime")
        self._duration = window.duration
        self._tz = zone(window.time_zone)
        self._anchor = datetime.fromisoformat(window.calendar_start).replace(tzinfo=None)
        self._anchor_epoch = local_to_epoch(self._anchor, self._tz)
        self._nominal = window.duration.nominal_seconds()

    def start_of(self, k: int) -> int:
        return local_to_epoch(self._anchor + _period_offset(self._duration, k), self._tz)

    def index_containing(self, instant: int) -> int:
        k = (instant - self._anchor_epoch) // self._nominal
        while self.start_of(k) > instant:
            k -= 1
        while self.start_of(k + 1) <= instant:
            k += 1
        return int(k)

    def boundaries(self, first: int, last: int) -> np.ndarray:
        """Sorted starts of every period overlapping [first, last], plus the end of the last one."""
        k0 = self.index_containing(first)
        k1 = self.index_containing(last)
        return np.array([self.start_of(k) for k in range(k0, k1 + 2)], dtype=np.int64)


def window_bounds(window: TimeWindow, at: int) -> WindowBounds:
    """The window evaluated at `at` (exclusive): a boundary instant yields the whole closed period."""
    if window.is_rolling:
        return WindowBounds(at - duration_seconds(window.duration), at, at)
    periods = CalendarPeriods(window)
    k = periods.index_containing(at - 1)
    return WindowBounds(periods.start_of(k), at, periods.start_of(k + 1))


def window_bounds_series(window: TimeWindow, ats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised `window_bounds` over many instants: (starts, full_ends)."""
    ats = np.asarray(ats, dtype=np.int64)
    if window.is_rolling:
        return ats - duration_seconds(window.duration), ats.copy()
    if ats.size == 0:
        return ats.copy(), ats.copy()
    periods = CalendarPeriods(window)
    bounds = periods.boundaries(int(ats.min()) - 1, int(ats.max()) - 1)
    idx = np.searchsorted(bounds, ats - 1, side="right") - 1
    return bounds[idx], bounds[idx + 1]
