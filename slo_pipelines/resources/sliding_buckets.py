"""Minute buckets for a run's consecutive windows, each stored bucket read once.

An asset that walks a long range window by window needs, for each window, the buckets of the window
plus its lookback (a rolling 30-day SLO needs 30 days before the window's first instant). Read afresh,
every 7-day window of a year would read 37 days: five times the range. `SlidingBuckets` keeps what
the previous window read, per SLO, and fetches only the part past it, so the warehouse returns each
bucket once and memory holds one window plus its lookback, whatever the range.

It relies on what a windowed asset guarantees: windows move forward, and the asset does not write
the buckets it reads while it runs.
"""

from collections.abc import Sequence

import numpy as np
import pandas as pd

from slo_pipelines.engine.budgets.buckets import SLOBuckets
from slo_pipelines.resources.warehouse import WarehouseResource
from slo_pipelines.resources.warehouse_frames import bucket_frame

Columns = dict[str, np.ndarray]


class SlidingBuckets:
    """`read(start, end, slos)` with the result of `WarehouseResource.read_buckets`, reusing the
    previous read for the same SLO selection when the new range starts inside it."""

    def __init__(self, warehouse: WarehouseResource) -> None:
        self._warehouse = warehouse
        self._held: dict[tuple[str, ...] | None, tuple[int, int, dict[str, Columns]]] = {}

    def read(self, start: int, end: int, slos: Sequence[str] | None = None) -> pd.DataFrame:
        """Buckets with start in `[start, end)`, sorted by slo then start (columns as `read_buckets`)."""
        return bucket_frame(list(self._parts(start, end, slos).items()))

    def read_grouped(self, start: int, end: int, slos: Sequence[str] | None = None) -> dict[str, SLOBuckets]:
        """The same rows split by SLO, as `CatalogEvaluator` takes them: no frame is built and regrouped.
        SLOs without a row in the range are absent (the catalog's bucket size then applies)."""
        return {
            name: SLOBuckets(
                columns["start"],
                columns["good"],
                columns["total"],
                columns["value"],
                int(columns["bucket_seconds"][0]),
            )
            for name, columns in self._parts(start, end, slos).items()
            if len(columns["start"])
        }

    def _parts(self, start: int, end: int, slos: Sequence[str] | None) -> dict[str, Columns]:
        key = None if slos is None else tuple(sorted({str(s) for s in slos}))
        held = self._held.get(key)
        if held is None or not held[0] <= start <= held[1] or end < held[1]:
            parts = dict(self._warehouse.read_bucket_parts(start, end, slos))
        else:
            kept = {name: _since(columns, start) for name, columns in held[2].items()}
            fresh = dict(self._warehouse.read_bucket_parts(held[1], end, slos))
            parts = {
                name: _joined(kept.get(name), fresh.get(name)) for name in sorted(kept.keys() | fresh.keys())
            }
        self._held[key] = (start, end, parts)
        return parts


def _since(columns: Columns, start: int) -> Columns:
    first = int(np.searchsorted(columns["start"], start, side="left"))
    return {name: values[first:] for name, values in columns.items()}


def _joined(older: Columns | None, newer: Columns | None) -> Columns:
    """An SLO's kept buckets followed by the fresh ones (all later): both ordered by start."""
    if older is None or newer is None:
        return older if newer is None else newer  # type: ignore[return-value]
    return {name: np.concatenate([older[name], newer[name]]) for name in older}
