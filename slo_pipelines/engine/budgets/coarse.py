"""Window sums of long Occurrences windows from hourly rollups, exact, without reading every minute.

Rollups hold the raw sums of every stored bucket per hour. Exclusions are applied when reading: the
minute buckets that lie inside applicable exclusions are subtracted again. Exclusions are short next to
a window, so this reads a few hundred minute rows instead of half a million, and a changed or late
exclusion can never leave stale numbers behind.
"""

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from slo_pipelines.catalog.models import Catalog
from slo_pipelines.engine.budgets.windows import window_bounds_series
from slo_pipelines.engine.common.exact import FLOAT_EXACT_LIMIT, as_counts, count_dtype, prefix_sums
from slo_pipelines.engine.exclusions.intervals import applicable, expand_rules, merge

ROLLUP_GRAIN_SECONDS = 3600
DAY_SECONDS = 86400


# below this much history before the lookbacks, reading minutes is cheaper than the extra queries
MIN_COARSE_SECONDS = 7 * 86400


class CoarseHistoryError(ValueError):
    """An interval cannot be served from rollups (it starts inside an hour, or reaches minute data)."""


@dataclass(frozen=True)
class CoarseHistory:
    """Hourly raw sums per SLO for `[.., fine_from)`; minute buckets are used from `fine_from` on.

    `frame` columns: slo, start (hour start), good, total, rows. The minute frame given alongside must
    hold every stored bucket from `fine_from` on, plus those before it that fall in an exclusion.
    """

    fine_from: int
    frame: pd.DataFrame
    slos: frozenset[str]  # the SLOs served from rollups; every other SLO reads minutes only
    grain: int = ROLLUP_GRAIN_SECONDS
    # daily rollups (slo, start, digest) before `fine_from`: the input identity of the older days
    day_digests: pd.DataFrame | None = None

    def stored_day_digests(self, slo: str, start: int, end: int) -> list[tuple[int, str]]:
        """(day start, digest) of the stored daily rollups of `slo` with start in `[start, end)`."""
        starts, digests = self._digests_by_slo.get(slo, (np.zeros(0, dtype=np.int64), np.zeros(0, object)))
        lo, hi = np.searchsorted(starts, [start, end])
        return [(int(day), str(digest)) for day, digest in zip(starts[lo:hi], digests[lo:hi], strict=True)]

    @cached_property
    def _digests_by_slo(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        # asked once per SLO and day end: split the frame once, then each question is a binary search
        d = self.day_digests
        if d is None or d.empty:
            return {}
        d = d.sort_values(["slo", "start"], kind="stable")
        return {
            str(slo): (g["start"].to_numpy(dtype=np.int64), g["digest"].to_numpy(dtype=object))
            for slo, g in d.groupby("slo", sort=False)
        }


def _prefix(x: np.ndarray) -> np.ndarray:
    return prefix_sums(x if x.dtype == object or x.dtype.kind in "iu" else x.astype(np.longdouble))


def _as_exact(values: np.ndarray) -> np.ndarray:
    """int64 (or Python ints where int64 could overflow) for whole numbers, else extended precision."""
    return as_counts(values, count_dtype(values))


def exact_rollups(frame: pd.DataFrame) -> pd.Series:
    """Per SLO: whether every stored rollup sum is a whole number float64 holds exactly (below 2^53)
    or fractional. A larger whole sum may have been rounded on the way to the store, so the window is
    then read from minute buckets instead (DESIGN.md §3: sums are exact at any magnitude)."""
    if frame.empty:
        return pd.Series(dtype=bool)
    whole = (frame["total"] == np.floor(frame["total"])) & (frame["good"] == np.floor(frame["good"]))
    exact = ~whole | (frame["total"].abs() < FLOAT_EXACT_LIMIT)
    return exact.groupby(frame["slo"]).all()


class CoarseSums:
    """Sums over `[lo, fine_from)` for one SLO: hourly rollups minus excluded minute buckets."""

    def __init__(
        self,
        history: CoarseHistory,
        slo: str,
        minute_starts: np.ndarray,
        minute_good: np.ndarray,
        minute_total: np.ndarray,
        excluded: list[tuple[int, int]],
    ) -> None:
        self.fine_from = history.fine_from
        self.grain = history.grain
        rows = history.frame[history.frame["slo"] == slo]
        rows = rows[rows["start"] < self.fine_from]
        starts = rows["start"].to_numpy(dtype=np.int64)
        self.origin = int(starts.min()) // self.grain * self.grain if starts.size else self.fine_from
        n = (self.fine_from - self.origin) // self.grain
        idx = (starts - self.origin) // self.grain
        dense: dict[str, np.ndarray] = {}
        for name in ("good", "total", "rows"):
            column = np.zeros(n, dtype=np.float64)
            np.add.at(column, idx, rows[name].to_numpy(dtype=np.float64))
            dense[name] = column
        before = minute_starts < self.fine_from
        in_exclusion = np.zeros(minute_starts.shape, dtype=bool)
        for s, e in excluded:
            in_exclusion |= (minute_starts >= s) & (minute_starts < e)
        keep = before & in_exclusion
        self.ex_starts = minute_starts[keep]
        good, total = dense["good"], dense["total"]
        self.C_good, self.C_total = _prefix(_as_exact(good)), _prefix(_as_exact(total))
        self.C_bad, self.C_rows = _prefix(_as_exact(total - good)), _prefix(_as_exact(dense["rows"]))
        ex_good, ex_total = minute_good[keep], minute_total[keep]
        self.X_good, self.X_total = _prefix(_as_exact(ex_good)), _prefix(_as_exact(ex_total))
        self.X_bad = _prefix(_as_exact(ex_total - ex_good))
        self.X_rows = np.arange(self.ex_starts.size + 1, dtype=np.int64)

    def sums(self, lo: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(good, total, bad, rows) over `[lo, fine_from)`, zero where `lo >= fine_from`."""
        lo = np.asarray(lo, dtype=np.int64)
        coarse = lo < self.fine_from
        if np.any(coarse & ((lo % self.grain) != 0)):
            raise CoarseHistoryError("a window starting inside an hour cannot be read from hourly rollups")
        i = np.clip((np.minimum(lo, self.fine_from) - self.origin) // self.grain, 0, self.C_good.size - 1)
        j = np.searchsorted(self.ex_starts, np.minimum(lo, self.fine_from), side="left")
        end_i, end_j = self.C_good.size - 1, self.ex_starts.size

        def part(c: np.ndarray, x: np.ndarray) -> np.ndarray:
            return np.where(coarse, (c[end_i] - c[i]) - (x[end_j] - x[j]), 0)

        return (
            part(self.C_good, self.X_good),
            part(self.C_total, self.X_total),
            part(self.C_bad, self.X_bad),
            part(self.C_rows, self.X_rows),
        )


def coarse_candidates(catalog: Catalog, first_at: int, fine_from: int) -> list[str]:
    """Rolling Occurrences SLOs whose windows reach at least a week behind the minute data."""
    out = []
    for name, slo in sorted(catalog.slos.items()):
        if slo.budgeting_method != "Occurrences" or not slo.time_window.is_rolling:
            continue
        ws, _ = window_bounds_series(slo.time_window, np.array([first_at]))
        seconds = slo.time_window.duration.nominal_seconds()
        # whole days: the window's older part is then whole days, whose digests the daily rollups hold
        if seconds % DAY_SECONDS == 0 and fine_from - int(ws[0]) >= MIN_COARSE_SECONDS:
            out.append(name)
    return out


def excluded_spans(catalog: Catalog, name: str, start: int, end: int) -> list[tuple[int, int]]:
    """Merged exclusions of one SLO clipped to `[start, end)`: the minutes to read beside the rollups."""
    slo = catalog.slos[name]
    spans = applicable(expand_rules(catalog.exclusions, start, end), slo.name, slo.service)
    return [(max(s, start), min(e, end)) for s, e in merge((iv.start, iv.end) for iv in spans)]
