"""Exact sums of bucket counts at any magnitude (DESIGN.md §3 "Bucket": a sum is never wrapped).

Whole counts are summed as int64 while that cannot overflow, and as Python ints (numpy object arrays)
beyond, so 10,080 rows of 10^15 events add up to the exact 1.008e19 instead of a wrapped negative.
Fractional counts (re-weighted sampled logs) use extended precision, which does not overflow.
"""

import numpy as np

# Below this, int64 sums of the magnitudes cannot overflow (int64 holds 2^63 - 1); a float estimate of
# the sum is far closer than the 2x margin.
_INT64_SAFE = float(2**62)
# Whole numbers up to 2^53 are exact in float64 (a stored value, a JSON number).
FLOAT_EXACT_LIMIT = 2**53


def count_dtype(*arrays: np.ndarray) -> np.dtype:
    """The dtype whose prefix sums of these counts are exact: int64, object (Python ints) or longdouble."""
    whole = True
    magnitude = 0.0
    for a in arrays:
        a = np.asarray(a)
        if a.size == 0:
            continue
        if a.dtype == object:
            return np.dtype(object)
        if a.dtype.kind == "f" and not bool(np.all(a == np.floor(a))):
            whole = False
        magnitude += float(np.abs(a).sum(dtype=np.float64))
    if not whole:
        return np.dtype(np.longdouble)
    return np.dtype(np.int64) if magnitude < _INT64_SAFE else np.dtype(object)


def as_counts(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """`values` in `dtype`; to object, each becomes an exact Python int (or stays a Python number)."""
    v = np.asarray(values)
    if dtype.kind != "O":
        return v.astype(dtype, copy=False)
    if v.dtype == object:
        return v
    out = np.empty(v.size, dtype=object)
    out[:] = [int(x) for x in v.tolist()]
    return out


def zeros(n: int, dtype: np.dtype) -> np.ndarray:
    out = np.zeros(n, dtype=dtype)
    if dtype.kind == "O":
        out[:] = 0  # Python int zeros, not numpy scalars, so sums stay unbounded
    return out


def prefix_sums(x: np.ndarray) -> np.ndarray:
    """`[0, x0, x0+x1, ...]` in x's dtype (exact for int64 within range, and for Python ints)."""
    out = zeros(x.size + 1, x.dtype)
    np.cumsum(x, out=out[1:])
    return out


def exact_number(x: object) -> int | float:
    """A sum as output: a Python int when it is whole and beyond float64's exact range, else a float."""
    if isinstance(x, int | np.integer) and not isinstance(x, bool):
        i = int(x)
        return i if abs(i) > FLOAT_EXACT_LIMIT else float(i)
    return float(x)  # type: ignore[arg-type]
