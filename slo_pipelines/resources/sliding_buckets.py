"""Minute buckets for a run's consecutive windows, each stored bucket read once.

An asset that walks a long range window by window needs, for each window, the buckets of the window
plus its lookback (a rolling 30-day SLO needs 30 days before the window's first instant). Read afresh,
every 7-day window of a year would read 37 days: five times the range. `SlidingBuckets` keeps what
the previous window read and fetches only the part past it, so the warehouse returns each bucket once
and memory holds one window plus its lookback, whatever the range.

It relies on what a windowed asset guarantees: windows move forward, and the asset does not write
the buckets it reads while it runs.
"""

from collections.abc import Sequence

import numpy as np
import pandas as pd

from slo_pipelines.resources.warehouse import WarehouseResource


class SlidingBuckets:
    """`read(start, end, slos)` with the result of `WarehouseResource.read_buckets`, reusing the
    previous read for the same SLO selection when the new range starts inside it."""

    def __init__(self, warehouse: WarehouseResource) -> None:
        self._warehouse = warehouse
        self._held: dict[tuple[str, ...] | None, tuple[int, int, pd.DataFrame]] = {}

    def read(self, start: int, end: int, slos: Sequence[str] | None = None) -> pd.DataFrame:
        """Buckets with start in `[start, end)`, sorted by slo then start (columns as `read_buckets`)."""
        key = None if slos is None else tuple(sorted({str(s) for s in slos}))
        held = self._held.get(key)
        if held is None or not held[0] <= start <= held[1] or end < held[1]:
            frame = self._warehouse.read_buckets(start, end, slos)
        else:
            kept = held[2]
            kept = kept[kept["start"].to_numpy() >= start]
            fresh = self._warehouse.read_buckets(held[1], end, slos)
            frame = _merge_sorted(kept, fresh)
        self._held[key] = (start, end, frame)
        return frame


def _merge_sorted(older: pd.DataFrame, newer: pd.DataFrame) -> pd.DataFrame:
    """Both sorted by (slo, start), every start of `newer` after every start of `older`: a stable
    sort on the SLO alone restores the order, in linear time on integer codes."""
    if newer.empty:
        return older.reset_index(drop=True)
    if older.empty:
        return newer.reset_index(drop=True)
    both = pd.concat([older, newer], ignore_index=True)
    codes, _ = pd.factorize(both["slo"], sort=True)
    order = np.argsort(codes, kind="stable")
    return both.take(order).reset_index(drop=True)
