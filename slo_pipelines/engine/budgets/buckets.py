"""Group a validated bucket frame by SLO into sorted numpy arrays, once, for every later evaluation."""

import hashlib
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import pandas as pd

from slo_pipelines.catalog.models import SLO

BUCKET_COLUMNS = ("slo", "start", "good", "total")


@dataclass(frozen=True)
class SLOBuckets:
    """One SLO's rows sorted by start; `value` is NaN where a row carries no threshold value."""

    starts: np.ndarray  # int64 epoch seconds
    good: np.ndarray  # float64
    total: np.ndarray  # float64
    value: np.ndarray  # float64
    bucket_seconds: int

    def between(self, start: int, end: int) -> slice:
        lo = int(np.searchsorted(self.starts, start, side="left"))
        hi = int(np.searchsorted(self.starts, end, side="left"))
        return slice(lo, hi)

    def digest(self, slo: str, start: int, end: int) -> str:
        """sha256 of the rows in `[start, end)`: the identity of the inputs a result was computed from.

        Built from one digest per UTC day (`day_digests`), so a reader holding a long window's older days
        as daily rollups (with their stored digests) reaches the same identity without the minutes.
        """
        s = self.between(start, end)
        days = day_digests(self.starts[s], self.good[s], self.total[s], self.value[s])
        return combine_day_digests(slo, self.bucket_seconds, days)


DAY_SECONDS = 86400


def _rows_digest(starts: np.ndarray, good: np.ndarray, total: np.ndarray, value: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(starts, dtype="<i8").tobytes())
    for arr in (good, total, value):
        canon = np.where(np.isnan(arr), np.nan, arr + 0.0)  # one NaN bit pattern, no negative zero
        h.update(np.ascontiguousarray(canon, dtype="<f8").tobytes())
    return h.hexdigest()


def day_digests(
    starts: np.ndarray, good: np.ndarray, total: np.ndarray, value: np.ndarray
) -> list[tuple[int, str]]:
    """(UTC day start, sha256 of that day's rows) for rows sorted by start; days without rows are absent."""
    if starts.size == 0:
        return []
    days = starts // DAY_SECONDS * DAY_SECONDS
    edges = np.concatenate([[0], np.flatnonzero(np.diff(days)) + 1, [starts.size]])
    return [
        (int(days[lo]), _rows_digest(starts[lo:hi], good[lo:hi], total[lo:hi], value[lo:hi]))
        for lo, hi in pairwise(edges)
    ]


def combine_day_digests(slo: str, bucket_seconds: int, days: list[tuple[int, str]]) -> str:
    """One digest over an SLO's ordered per-day digests (a two-level hash tree)."""
    h = hashlib.sha256()
    h.update(f"{slo}\0{bucket_seconds}\0".encode())
    for day, digest in days:
        h.update(f"{day}:{digest}\n".encode())
    return h.hexdigest()


def empty_buckets(bucket_seconds: int) -> SLOBuckets:
    e = np.zeros(0)
    return SLOBuckets(np.zeros(0, dtype=np.int64), e, e, e, bucket_seconds)


def group_buckets(frame: pd.DataFrame, slos: dict[str, SLO]) -> dict[str, SLOBuckets]:
    """Rows of a validated frame (columns slo, start, good, total, optional value/bucket_seconds) by SLO.

    An SLO's bucket size comes from its rows when they carry `bucket_seconds`, else from the catalog.
    """
    out: dict[str, SLOBuckets] = {}
    if frame.empty:
        return {name: empty_buckets(slo.bucket_seconds) for name, slo in slos.items()}
    codes, uniques = pd.factorize(frame["slo"], sort=False)
    starts_all = frame["start"].to_numpy(dtype=np.int64)
    # Rows arrive sorted by (slo, start) from the warehouse and the validator: check that in O(n) and
    # only then sort, through one index permutation, so a fleet's year is never copied column by column.
    dc, ds = np.diff(codes), np.diff(starts_all)
    is_sorted = bool(np.all((dc > 0) | ((dc == 0) & (ds > 0))))
    del dc, ds
    order = np.lexsort((starts_all, codes)) if not is_sorted else None
    take = slice(None) if order is None else order

    def column(name: str, dtype: type, fill: float = np.nan) -> np.ndarray:
        if name not in frame:
            return np.full(len(frame), fill, dtype=dtype)
        return np.ascontiguousarray(frame[name].to_numpy(dtype=dtype)[take])

    codes = codes[take]
    starts = starts_all[take] if not is_sorted else starts_all
    good, total, value = column("good", np.float64), column("total", np.float64), column("value", np.float64)
    bsec = column("bucket_seconds", np.int64, 0) if "bucket_seconds" in frame else None
    edges = np.concatenate([[0], np.flatnonzero(np.diff(codes)) + 1, [len(codes)]])
    for lo, hi in pairwise(edges):
        name = str(uniques[codes[lo]])
        default = slos[name].bucket_seconds if name in slos else 60
        b = int(bsec[lo]) if bsec is not None else default
        out[name] = SLOBuckets(starts[lo:hi], good[lo:hi], total[lo:hi], value[lo:hi], b)
    for name, slo in slos.items():
        out.setdefault(name, empty_buckets(slo.bucket_seconds))
    return out
