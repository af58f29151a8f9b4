"""Hourly and daily rollups of stored buckets, so long windows never rescan every minute.

Rollups hold raw sums (every stored bucket) and how many of those buckets an exclusion covered. The
exclusions themselves are applied when reading (`engine/budgets/coarse.py` subtracts the excluded
minutes), so a changed or late exclusion never leaves a stale rollup; a year-long Occurrences
window then costs 8,760 hourly rows plus the excluded minutes instead of 525,600 minute rows.
"""

import numpy as np
import pandas as pd

from slo_pipelines.catalog.models import Catalog
from slo_pipelines.engine.exclusions.intervals import applicable, expand_rules, merge

GRAIN_SECONDS = {"hour": 3600, "day": 86400}


def excluded_mask(catalog: Catalog, frame: pd.DataFrame) -> np.ndarray:
    """True for each bucket whose start lies in an exclusion applicable to its SLO."""
    mask = np.zeros(len(frame), dtype=bool)
    if frame.empty:
        return mask
    starts = frame["start"].to_numpy(dtype=np.int64)
    names = frame["slo"].to_numpy()
    intervals = expand_rules(catalog.exclusions, int(starts.min()), int(starts.max()) + 1)
    for name in np.unique(names):
        slo = catalog.slos.get(str(name))
        if slo is None:
            continue
        rows = names == name
        for s, e in merge((iv.start, iv.end) for iv in applicable(intervals, slo.name, slo.service)):
            mask[rows] |= (starts[rows] >= s) & (starts[rows] < e)
    return mask


def rollup(frame: pd.DataFrame, excluded: np.ndarray, grain: str) -> pd.DataFrame:
    """Sum every bucket per (slo, grain start); count rows and, for information, excluded buckets."""
    size = GRAIN_SECONDS[grain]
    df = pd.DataFrame(
        {
            "slo": frame["slo"].to_numpy(),
            "start": (frame["start"].to_numpy(dtype=np.int64) // size) * size,
            "good": frame["good"].to_numpy(dtype=np.float64),
            "total": frame["total"].to_numpy(dtype=np.float64),
            "rows": np.ones(len(frame), dtype=np.int64),
            "excluded_buckets": excluded.astype(np.int64),
        }
    )
    return df.groupby(["slo", "start"], as_index=False, sort=True).sum()
