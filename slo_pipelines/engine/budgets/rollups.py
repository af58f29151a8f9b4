"""Hourly and daily rollups of stored buckets, so long windows never rescan every minute.

Rollups hold raw sums (every stored bucket) and how many of those buckets an exclusion covered. The
exclusions themselves are applied when reading (`engine/budgets/coarse.py` subtracts the excluded
minutes), so a changed or late exclusion never leaves a stale rollup; a year-long Occurrences
window then costs 8,760 hourly rows plus the excluded minutes instead of 525,600 minute rows.
"""

import numpy as np
import pandas as pd

from slo_pipelines.catalog.models import Catalog
from slo_pipelines.engine.budgets.buckets import day_digests, group_buckets
from slo_pipelines.engine.exclusions.intervals import applicable, expand_rules, merge

GRAIN_SECONDS = {"hour": 3600, "day": 86400}


def excluded_mask(catalog: Catalog, frame: pd.DataFrame) -> np.ndarray:
    """True for each bucket whose start lies in an exclusion applicable to its SLO.

    Names are factorised once and SLOs without an applicable exclusion are skipped, so a catalog
    without exclusions costs one pass over the names, not one comparison per row per SLO.
    """
    mask = np.zeros(len(frame), dtype=bool)
    if frame.empty or not catalog.exclusions:
        return mask
    starts = frame["start"].to_numpy(dtype=np.int64)
    intervals = expand_rules(catalog.exclusions, int(starts.min()), int(starts.max()) + 1)
    if not intervals:
        return mask
    codes, names = pd.factorize(frame["slo"], sort=False)
    spans_by_code = {}
    for code, name in enumerate(names):
        slo = catalog.slos.get(str(name))
        if slo is not None:
            spans = merge((iv.start, iv.end) for iv in applicable(intervals, slo.name, slo.service))
            if spans:
                spans_by_code[code] = spans
    if not spans_by_code:
        return mask
    # rows of one SLO are contiguous when the frame is sorted by (slo, start), as the warehouse returns it
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    for code, spans in spans_by_code.items():
        lo, hi = np.searchsorted(sorted_codes, [code, code + 1])
        rows = order[lo:hi]
        ss = starts[rows]
        bounds = np.array(spans, dtype=np.int64).ravel()
        # a start is excluded when it falls in [s, e) of some merged span: odd insertion points
        mask[rows] = (np.searchsorted(bounds, ss, side="right") % 2) == 1
    return mask


def rollup(frame: pd.DataFrame, excluded: np.ndarray, grain: str) -> pd.DataFrame:
    """Sum every bucket per (slo, grain start); count rows and, for information, excluded buckets.

    Daily rollups also carry `digest`, the day's row digest (`engine/budgets/buckets.py`), so a budget
    read from rollups reports the same input identity as one read from every minute.
    """
    size = GRAIN_SECONDS[grain]
    # group on integer codes in name order, not on a million name strings; the sums are the same
    codes, names = pd.factorize(frame["slo"], sort=True)
    df = pd.DataFrame(
        {
            "slo": codes,
            "start": (frame["start"].to_numpy(dtype=np.int64) // size) * size,
            "good": frame["good"].to_numpy(dtype=np.float64),
            "total": frame["total"].to_numpy(dtype=np.float64),
            "rows": np.ones(len(frame), dtype=np.int64),
            "excluded_buckets": excluded.astype(np.int64),
        }
    )
    sums = df.groupby(["slo", "start"], as_index=False, sort=True).sum()
    sums["slo"] = np.asarray(names, dtype=object)[sums["slo"].to_numpy()] if len(sums) else []
    if grain == "day":
        digests = {
            (name, day): digest
            for name, buckets in group_buckets(frame, {}).items()
            for day, digest in day_digests(buckets.starts, buckets.good, buckets.total, buckets.value)
        }
        sums["digest"] = [digests[(s, d)] for s, d in zip(sums["slo"], sums["start"], strict=True)]
    return sums
