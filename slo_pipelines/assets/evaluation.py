"""The engine over warehouse data: read exactly the history a set of instants needs, then evaluate.

Rolling Occurrences windows that reach far behind the burn-rate lookbacks are read from hourly
rollups for their older part (`engine/budgets/coarse.py`) when every instant is a day end: a year-long
window reads 8,760 rollup rows, not 525,600 minutes.
"""

import pandas as pd

from slo_pipelines.catalog import Catalog
from slo_pipelines.engine.alerting.policies import warning_thresholds
from slo_pipelines.engine.alerting.rules import MAX_LOOKBACK_SECONDS
from slo_pipelines.engine.budgets.coarse import (
    CoarseHistory,
    coarse_candidates,
    exact_rollups,
    excluded_spans,
)
from slo_pipelines.engine.budgets.evaluate import CatalogEvaluator
from slo_pipelines.engine.budgets.snapshots import history_start
from slo_pipelines.engine.exclusions.runtime import with_runtime_exclusions
from slo_pipelines.resources.catalog_resource import CatalogResource
from slo_pipelines.resources.sliding_buckets import SlidingBuckets
from slo_pipelines.resources.warehouse import WarehouseResource

DAY = 86400


def effective_catalog(catalog: CatalogResource, warehouse: WarehouseResource) -> Catalog:
    """The catalog plus the runtime exclusions recorded with `slo exclusions add` that apply (not
    revoked, and approved a second time when flagged for review)."""
    return with_runtime_exclusions(
        catalog.load(), warehouse.read_exclusion_events(), warehouse.read_exclusion_reviews()
    )


def warehouse_evaluator(
    catalog: Catalog,
    warehouse: WarehouseResource,
    first_at: int,
    last_at: int,
    step: int | None = None,
    sliding: SlidingBuckets | None = None,
) -> CatalogEvaluator:
    """Evaluator for instants `first_at, first_at + step, ...`; hour-multiple steps may use rollups.

    An asset walking its range in windows passes one `sliding` reader for all of them, so the minute
    history the windows share is read once.
    """
    read = sliding.read if sliding is not None else warehouse.read_buckets
    start = history_start(catalog, first_at)
    thresholds = warning_thresholds(catalog)
    # day-aligned so the older part is whole days, whose digests the daily rollups hold
    fine_from = (first_at - MAX_LOOKBACK_SECONDS) // DAY * DAY
    on_days = step is not None and step % DAY == 0 and first_at % DAY == 0
    long = coarse_candidates(catalog, first_at, fine_from) if on_days else []
    hourly = warehouse.read_rollups("hour", start, fine_from, long) if long else None
    if hourly is not None:
        exact = exact_rollups(hourly)
        long = [name for name in long if bool(exact.get(name, True))]
        hourly = hourly[hourly["slo"].isin(long)]
    firsts = warehouse.first_bucket_starts()  # measured since the first stored bucket (DESIGN.md §3)
    if not long or hourly is None:
        rows = sliding.read_grouped(start, last_at) if sliding is not None else read(start, last_at)
        return CatalogEvaluator(catalog, rows, thresholds, first_buckets=firsts)
    short = [name for name in catalog.slos if name not in long]
    spans = {name: excluded_spans(catalog, name, start, fine_from) for name in long}
    daily = warehouse.read_rollups("day", start // DAY * DAY, fine_from, long)
    history = CoarseHistory(fine_from, hourly, frozenset(long), day_digests=daily[["slo", "start", "digest"]])
    if sliding is not None and not any(spans.values()):
        grouped = sliding.read_grouped(fine_from, last_at, long)
        if short:
            grouped.update(sliding.read_grouped(start, last_at, short))
        return CatalogEvaluator(catalog, grouped, thresholds, coarse=history, first_buckets=firsts)
    frames = [read(fine_from, last_at, long)]
    if short:
        frames.append(read(start, last_at, short))
    for name in long:
        frames += [warehouse.read_buckets(s, e, [name]) for s, e in spans[name]]
    minutes = pd.concat([f for f in frames if not f.empty] or frames[:1], ignore_index=True)
    return CatalogEvaluator(catalog, minutes, thresholds, coarse=history, first_buckets=firsts)
