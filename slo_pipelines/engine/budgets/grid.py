"""A dense per-SLO bucket grid with prefix sums: any interval's statistics in O(1), for any instant.

One SLO's rows are laid on a regular grid of `bucket_seconds` covering every window and lookback that
will be asked about. Excluded buckets are zeroed before the prefix sums, so every later query is an
index difference. Timeslice statistics use per-slice prefix sums for whole slices and bucket prefix sums
for the partial slices at an interval's edges, which keeps arbitrary (unaligned) instants exact.
Whole counts use int64 sums, or Python ints where int64 could overflow (exact at any magnitude);
fractional counts use extended precision.
"""

from dataclasses import dataclass

import numpy as np

from slo_pipelines.catalog.models import Objective
from slo_pipelines.engine.common.exact import as_counts, count_dtype, prefix_sums, zeros

_F = np.longdouble


def _prefix(x: np.ndarray) -> np.ndarray:
    return prefix_sums(x if x.dtype == object or x.dtype.kind in "iu" else x.astype(_F))


def _ceil_div(a: np.ndarray | int, b: int) -> np.ndarray:
    return -(-np.asarray(a, dtype=np.int64) // b)


@dataclass
class SliceCounts:
    """Timeslice tallies over an interval; arrays aligned with the queried instants."""

    touched: np.ndarray  # slices overlapping the interval
    excluded: np.ndarray  # of those, slices whose every bucket in the interval is excluded
    data: np.ndarray  # slices with data
    good: np.ndarray  # good slices with data
    ratio_sum: np.ndarray  # Σ slice ratio over slices with data
    one_minus_ratio_sum: np.ndarray  # Σ (1 - slice ratio) over slices with data
    nodata: np.ndarray  # slices neither excluded nor with data


@dataclass
class OccurrenceSums:
    good: np.ndarray
    total: np.ndarray
    bad: np.ndarray
    rows: np.ndarray


class BucketGrid:
    """Dense grid `[origin, origin + n·bucket)` for one SLO objective."""

    def __init__(
        self,
        origin: int,
        n: int,
        bucket_seconds: int,
        starts: np.ndarray,
        good: np.ndarray,
        total: np.ndarray,
        value: np.ndarray | None,
        excluded: list[tuple[int, int]],
        objective: Objective,
        is_threshold: bool,
    ) -> None:
        self.origin = origin
        self.n = n
        self.b = bucket_seconds
        self.objective = objective
        self.is_threshold = is_threshold
        idx = (starts - origin) // bucket_seconds
        inside = (idx >= 0) & (idx < n)
        idx = idx[inside]

        included = np.ones(n, dtype=bool)
        if excluded:
            diff = np.zeros(n + 1, dtype=np.int64)
            xs = np.clip(_ceil_div(np.array([s for s, _ in excluded]) - origin, bucket_seconds), 0, n)
            xe = np.clip(_ceil_div(np.array([e for _, e in excluded]) - origin, bucket_seconds), 0, n)
            np.add.at(diff, xs, 1)
            np.add.at(diff, xe, -1)
            included = np.cumsum(diff[:-1]) == 0
        self.included = included

        g_in, t_in = good[inside], total[inside]
        dtype = count_dtype(g_in, t_in)
        g = zeros(n, dtype)
        t = zeros(n, dtype)
        rows = np.zeros(n, dtype=np.int64)
        g[idx] = as_counts(g_in, dtype)
        t[idx] = as_counts(t_in, dtype)
        rows[idx] = 1
        if excluded:
            g[~included] = 0
            t[~included] = 0
            rows *= included
            self.P_incl = _prefix(included.astype(np.int64))
        else:
            self.P_incl = np.arange(n + 1, dtype=np.int64)
        self._g, self._t, self._rows = g, t, rows
        self.P_good, self.P_total, self.P_rows = _prefix(g), _prefix(t), _prefix(rows)
        self.P_bad = _prefix(t - g)

        if is_threshold:
            v = np.full(n, np.nan)
            if value is not None:
                v[idx] = value[inside]
            present = ~np.isnan(v) & included
            ok = present & _satisfies(v, objective)
            self.P_vpres, self.P_vok = _prefix(present.astype(np.int64)), _prefix(ok.astype(np.int64))
            self._vpres, self._vok = present.astype(np.int64), ok.astype(np.int64)

        self.slice_k: int | None = None
        if objective.time_slice_window_seconds:
            self._build_slices(objective.time_slice_window_seconds // bucket_seconds)

    # -- occurrences -------------------------------------------------------------------------------
    def index(self, instants: np.ndarray | int) -> np.ndarray:
        """Grid index of the first bucket starting at or after each instant, clipped to the grid."""
        return np.clip(_ceil_div(np.asarray(instants, dtype=np.int64) - self.origin, self.b), 0, self.n)

    def regular_index(self, first: int, count: int, step: int) -> slice | None:
        """`index` of the instants `first + j·step` (j < count) as a strided slice, or None.

        A slice selects prefix sums as views instead of gathers, which is most of the cost of a
        per-minute series; it exists only when the step is whole buckets and no instant is clipped.
        """
        if count <= 0 or step <= 0 or step % self.b:
            return None
        k = step // self.b
        i0 = int(-(-(first - self.origin) // self.b))
        last = i0 + (count - 1) * k
        if i0 < 0 or last > self.n:
            return None
        return slice(i0, last + 1, k)

    def sums(self, ia: np.ndarray | slice, ie: np.ndarray | slice) -> OccurrenceSums:
        return OccurrenceSums(
            good=self.P_good[ie] - self.P_good[ia],
            total=self.P_total[ie] - self.P_total[ia],
            bad=self.P_bad[ie] - self.P_bad[ia],
            rows=self.P_rows[ie] - self.P_rows[ia],
        )

    # -- timeslices --------------------------------------------------------------------------------
    def _slice_flags(
        self, g: np.ndarray, t: np.ndarray, incl: np.ndarray, vpres: np.ndarray, vok: np.ndarray
    ) -> tuple[np.ndarray, ...]:
        """Classify slice parts from their summed statistics: (excluded, data, good, ratio)."""
        excluded = incl == 0
        if self.is_threshold:
            data = (vpres > 0) & ~excluded
            ratio = np.where(data, vok / np.maximum(vpres, 1), 0.0).astype(np.float64)
            good = data & (vok == vpres)
        else:
            data = (t > 0) & ~excluded
            ratio = np.where(data, g.astype(np.float64) / np.where(data, t, 1).astype(np.float64), 0.0)
            target = self.objective.time_slice_target
            good = data & (ratio >= (target if target is not None else 0.0))
        return excluded, data, good, ratio

    def _span_stats(self, a: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, ...]:
        g = self.P_good[e] - self.P_good[a]
        t = self.P_total[e] - self.P_total[a]
        incl = self.P_incl[e] - self.P_incl[a]
        if self.is_threshold:
            vp = self.P_vpres[e] - self.P_vpres[a]
            vo = self.P_vok[e] - self.P_vok[a]
        else:
            vp = vo = np.zeros_like(incl)
        return g, t, incl, vp, vo

    def _build_slices(self, k: int) -> None:
        self.slice_k = k
        m = self.n // k
        starts = np.arange(m, dtype=np.int64) * k
        ends = starts + k
        excluded, data, good, ratio = self._slice_flags(*self._span_stats(starts, ends))
        self.S_excl = _prefix(excluded.astype(np.int64))
        self.S_data = _prefix(data.astype(np.int64))
        self.S_good = _prefix(good.astype(np.int64))
        self.S_nodata = _prefix((~excluded & ~data).astype(np.int64))
        self.S_ratio = _prefix(np.where(data, ratio, 0.0).astype(_F))
        self.S_omr = _prefix(np.where(data, 1.0 - ratio, 0.0).astype(_F))

    def _partial(self, a: np.ndarray, e: np.ndarray) -> SliceCounts:
        nonempty = e > a
        excluded, data, good, ratio = self._slice_flags(*self._span_stats(a, e))
        z = nonempty.astype(np.int64)
        return SliceCounts(
            touched=z,
            excluded=excluded * z,
            data=data * z,
            good=good * z,
            ratio_sum=np.where(data & nonempty, ratio, 0.0),
            one_minus_ratio_sum=np.where(data & nonempty, 1.0 - ratio, 0.0),
            nodata=(~excluded & ~data) * z,
        )

    def slices(self, ia: np.ndarray, ie: np.ndarray) -> SliceCounts:
        """Slice tallies over bucket index intervals `[ia, ie)`; edge slices are cut at the interval."""
        assert self.slice_k is not None
        k = self.slice_k
        ia = np.asarray(ia, dtype=np.int64)
        ie = np.maximum(np.asarray(ie, dtype=np.int64), ia)
        fs = _ceil_div(ia, k)  # first whole slice
        le = ie // k  # end of whole slices (exclusive)
        split = fs <= le
        fs_c = np.where(split, fs, 0)
        le_c = np.where(split, le, 0)
        head = self._partial(ia, np.where(split, np.minimum(fs * k, ie), ie))
        tail = self._partial(np.where(split, np.maximum(le * k, ia), ie), ie)

        def whole(p: np.ndarray) -> np.ndarray:
            return p[le_c] - p[fs_c]

        return SliceCounts(
            touched=(le_c - fs_c) + head.touched + tail.touched,
            excluded=whole(self.S_excl) + head.excluded + tail.excluded,
            data=whole(self.S_data) + head.data + tail.data,
            good=whole(self.S_good) + head.good + tail.good,
            ratio_sum=whole(self.S_ratio) + head.ratio_sum + tail.ratio_sum,
            one_minus_ratio_sum=whole(self.S_omr) + head.one_minus_ratio_sum + tail.one_minus_ratio_sum,
            nodata=whole(self.S_nodata) + head.nodata + tail.nodata,
        )


def _satisfies(v: np.ndarray, objective: Objective) -> np.ndarray:
    op, threshold = objective.op, objective.value
    if op is None or threshold is None:
        return np.ones(v.shape, dtype=bool)
    with np.errstate(invalid="ignore"):
        if op == "lt":
            return v < threshold
        if op == "lte":
            return v <= threshold
        if op == "gt":
            return v > threshold
        return v >= threshold
