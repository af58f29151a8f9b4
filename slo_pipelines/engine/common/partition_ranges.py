"""Group the days touched by a set of bucket starts into contiguous ranges of daily partitions."""

from datetime import UTC, datetime

import numpy as np

DAY = 86400


def day_key(day_index: int) -> str:
    return datetime.fromtimestamp(day_index * DAY, UTC).strftime("%Y-%m-%d")


def day_index(key: str) -> int:
    return int(datetime.strptime(key, "%Y-%m-%d").replace(tzinfo=UTC).timestamp()) // DAY


def day_ranges(starts: np.ndarray, first_day: int, last_day: int) -> list[tuple[str, str]]:
    """Inclusive (first, last) partition keys of each run of consecutive days holding a bucket,
    limited to the partitions that exist (`first_day`..`last_day`, day indices since the epoch)."""
    days = np.unique(np.asarray(starts, dtype=np.int64) // DAY)
    days = days[(days >= first_day) & (days <= last_day)]
    if days.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(days) > 1)
    firsts = np.concatenate([[days[0]], days[breaks + 1]])
    lasts = np.concatenate([days[breaks], [days[-1]]])
    return [(day_key(int(a)), day_key(int(b))) for a, b in zip(firsts, lasts, strict=True)]
