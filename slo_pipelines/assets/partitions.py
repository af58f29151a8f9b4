"""Daily UTC partitions shared by every time-partitioned asset, backfilled in a single run."""

import os
from typing import Any

import dagster as dg

PARTITIONS_START = os.environ.get("SLO_PARTITIONS_START") or "2026-01-01"

daily_partitions = dg.DailyPartitionsDefinition(start_date=PARTITIONS_START, timezone="UTC")
single_run_backfill = dg.BackfillPolicy.single_run()


def daily_asset(**kwargs: Any) -> Any:
    """`@dg.asset` on the daily partitions with the single-run backfill policy."""
    return dg.asset(partitions_def=daily_partitions, backfill_policy=single_run_backfill, **kwargs)


def partition_bounds(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> tuple[int, int]:
    """Epoch seconds `[start, end)` of the partition or partition range this run covers."""
    window = context.partition_time_window
    return int(window.start.timestamp()), int(window.end.timestamp())


# A long range is processed in windows of this many days, each with the lookback it needs read from the
# warehouse, so a run's memory is bounded by the window, not the range (a year is 52 windows, not 1).
WINDOW_DAYS = int(os.environ.get("SLO_WINDOW_DAYS", "7"))
DAY = 86400


def windows(start: int, end: int, days: int | None = None) -> list[tuple[int, int]]:
    """Consecutive `[s, e)` sub-ranges of whole days covering `[start, end)`, oldest first."""
    step = (days or WINDOW_DAYS) * DAY
    return [(s, min(s + step, end)) for s in range(start, end, step)]
