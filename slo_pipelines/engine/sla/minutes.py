"""Per-minute state of a contract period: excluded, with data, down (DESIGN.md §2).

The contract's SLOs' buckets are summed per minute: a minute is down when Σgood / Σtotal of the buckets
covering it is below `sliBelow`; a minute without data (Σtotal = 0) is up. Minutes are the UTC minutes
`[period start + 60·i, period start + 60·(i+1))` (every zone's offset is whole minutes, so these are
also the local minutes).

Bucket sizes: a bucket shorter than a minute (60 s must be a multiple of it) counts in the minute that
holds its start. A bucket longer than a minute (a multiple of 60 s) spreads its counts evenly over
the minutes it covers: each of them gets `good / k` and `total / k` of a `k`-minute bucket, so its
ratio applies to every one of those minutes and, when SLOs of different bucket sizes are summed, each
contributes at its per-minute rate. Other sizes are refused (`SLAInputError`).

Comparisons are exact: sums are computed in floats and every minute whose comparison lies within a
relative 1e-9 of the threshold is recomputed with `Fraction`s of the bucket counts, each count read as
the decimal the samples wrote (its shortest repr: a re-weighted count of 0.95 is 19/20, not the binary
float just under it), as `sliBelow` is, so an SLI equal to `sliBelow` as written is up.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from slo_pipelines.engine.budgets.buckets import SLOBuckets

_AMBIGUOUS = 1e-9


def _written(count: float) -> Fraction:
    return Fraction(repr(float(count)))


class SLAInputError(ValueError):
    """Input the contract cannot be measured from (e.g. a bucket size that does not fit minutes)."""


@dataclass(frozen=True)
class _Spread:
    """One SLO's rows in the period: first minute index of each bucket, minutes per bucket."""

    first: np.ndarray
    good: np.ndarray
    total: np.ndarray
    minutes: int


def _spread(name: str, b: SLOBuckets, start: int, n: int) -> _Spread:
    size = b.bucket_seconds
    if size <= 0 or (size < 60 and 60 % size) or (size > 60 and size % 60):
        raise SLAInputError(
            f"SLO {name!r}: bucket size {size} s does not fit whole minutes "
            "(use a divisor of 60 s or a multiple of 60 s)"
        )
    k = max(1, size // 60)
    rows = b.between(start - size + 1, start + 60 * n)
    first = (b.starts[rows] - start) // 60
    return _Spread(first, b.good[rows], b.total[rows], k)


def excluded_mask(start: int, n: int, merged: Sequence[tuple[int, int]]) -> np.ndarray:
    """Minutes whose start lies in one of the (merged) `[s, e)` intervals."""
    mask = np.zeros(n, dtype=bool)
    for s, e in merged:
        lo, hi = -((start - s) // 60), -((start - e) // 60)  # ceil((s - start) / 60), same for e
        mask[max(0, lo) : max(0, min(n, hi))] = True
    return mask


@dataclass(frozen=True)
class MinuteStates:
    """Boolean arrays over the period's minutes, plus which SLO had data in which minute."""

    down: np.ndarray
    has_data: np.ndarray
    slo_has_data: dict[str, np.ndarray]


def minute_states(start: int, n: int, buckets: dict[str, SLOBuckets], sli_below: Fraction) -> MinuteStates:
    """Down and with-data state of each of the `n` minutes from `start` (exclusions not applied)."""
    spreads = {name: _spread(name, b, start, n) for name, b in buckets.items()}
    lcm = math.lcm(*(s.minutes for s in spreads.values())) if spreads else 1
    good_sum, total_sum = np.zeros(n), np.zeros(n)
    slo_has_data: dict[str, np.ndarray] = {}
    placed: list[tuple[np.ndarray, np.ndarray, np.ndarray, int]] = []
    for name, s in spreads.items():
        weight = lcm // s.minutes
        seen = np.zeros(n)
        for j in range(s.minutes):
            idx = s.first + j
            keep = (idx >= 0) & (idx < n)
            idx, good, total = idx[keep], s.good[keep], s.total[keep]
            good_sum += np.bincount(idx, weights=good * weight, minlength=n)
            total_sum += np.bincount(idx, weights=total * weight, minlength=n)
            seen += np.bincount(idx, weights=total, minlength=n)
            placed.append((idx, good, total, weight))
        slo_has_data[name] = seen > 0
    has_data = total_sum > 0
    p, q = sli_below.numerator, sli_below.denominator
    diff = good_sum * q - total_sum * p
    slack = _AMBIGUOUS * (good_sum * q + total_sum * p)
    down = has_data & (diff < -slack)
    ambiguous = has_data & (np.abs(diff) <= slack)
    if ambiguous.any():
        exact_good: dict[int, Fraction] = {}
        exact_total: dict[int, Fraction] = {}
        for idx, good, total, weight in placed:
            sel = ambiguous[idx]
            for i, g, t in zip(idx[sel].tolist(), good[sel].tolist(), total[sel].tolist(), strict=True):
                exact_good[i] = exact_good.get(i, Fraction(0)) + _written(g) * weight
                exact_total[i] = exact_total.get(i, Fraction(0)) + _written(t) * weight
        for i in np.flatnonzero(ambiguous).tolist():
            down[i] = exact_good[i] < exact_total[i] * sli_below
    return MinuteStates(down, has_data, slo_has_data)


def longest_run(mask: np.ndarray) -> int:
    """Length of the longest run of consecutive True values."""
    if not mask.any():
        return 0
    padded = np.concatenate([[0], mask.astype(np.int8), [0]])
    edges = np.flatnonzero(np.diff(padded))
    return int((edges[1::2] - edges[::2]).max())
