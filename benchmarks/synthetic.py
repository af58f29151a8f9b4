"""A synthetic fleet: rolling-30d Occurrences SLOs with diurnal minute traffic and a few incidents.

Generated per SLO straight into preallocated column arrays, so a year of 100 SLOs (52.56 M buckets)
never holds more than the final columns plus one SLO's temporaries.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from slo_pipelines.catalog.models import SLO, Catalog, Duration, Indicator, Objective, TimeWindow

BUCKET_SECONDS = 60
TARGET = 0.999
WINDOW_DAYS = 30
YEAR_START = 1_735_689_600  # 2025-01-01T00:00:00Z


@dataclass
class Fleet:
    """Column arrays (one SLO after another, each sorted by start) plus the catalog describing them."""

    catalog: Catalog
    names: list[str]
    minutes: int  # buckets per SLO
    start: int  # first bucket start
    starts: np.ndarray
    good: np.ndarray
    total: np.ndarray
    incidents: int

    @property
    def buckets(self) -> int:
        return len(self.names) * self.minutes

    def rows(self, i: int) -> slice:
        return slice(i * self.minutes, (i + 1) * self.minutes)

    def frame(self) -> pd.DataFrame:
        """The engine's input frame; `slo` is categorical so 52 M names cost one byte each."""
        codes = np.repeat(np.arange(len(self.names), dtype=np.int8), self.minutes)
        slo = pd.Categorical.from_codes(codes, categories=pd.Index(self.names))
        return pd.DataFrame(
            {
                "slo": slo,
                "start": self.starts,
                "good": self.good,
                "total": self.total,
                "value": np.full(self.buckets, np.nan),
                "bucket_seconds": np.full(self.buckets, BUCKET_SECONDS, dtype=np.int64),
            },
            copy=False,
        )


def make_slo(name: str) -> SLO:
    return SLO(
        name=name,
        service=name.rsplit("-", 1)[0],
        description="benchmark SLO",
        indicator=Indicator(name=f"{name}-sli", kind="ratio"),
        time_window=TimeWindow(Duration(WINDOW_DAYS, "d"), is_rolling=True),
        budgeting_method="Occurrences",
        objectives=(Objective(name="objective-0", index=0, target=TARGET),),
        bucket_seconds=BUCKET_SECONDS,
    )


def make_fleet(n_slos: int, days: int, seed: int = 20250101) -> Fleet:
    """Poisson traffic with a daily cycle; binomial errors at a low base rate, raised during incidents."""
    if n_slos > 127:
        raise ValueError(f"--slos: at most 127 SLOs (got {n_slos})")
    rng = np.random.default_rng(seed)
    minutes = days * 1440
    n = n_slos * minutes
    starts = np.empty(n, dtype=np.int64)
    good = np.empty(n, dtype=np.float64)
    total = np.empty(n, dtype=np.float64)
    minute = np.arange(minutes, dtype=np.int64)
    day_phase = 2 * np.pi * (minute % 1440) / 1440
    names = [f"svc{i:03d}-availability" for i in range(n_slos)]
    incidents = 0
    for i in range(n_slos):
        rows = slice(i * minutes, (i + 1) * minutes)
        starts[rows] = YEAR_START + minute * BUCKET_SECONDS
        rate = rng.uniform(20, 2000) * (1.0 + 0.6 * np.sin(day_phase + rng.uniform(0, 2 * np.pi)))
        t = rng.poisson(rate)
        p_bad = np.full(minutes, rng.uniform(1e-5, 4e-4))
        for _ in range(rng.integers(2, 7)):
            first = int(rng.integers(0, minutes))
            length = int(rng.integers(5, 360))
            p_bad[first : first + length] = rng.uniform(0.01, 0.5)
            incidents += 1
        bad = rng.binomial(t, p_bad)
        total[rows] = t
        good[rows] = t - bad
    catalog = Catalog(documents=(), services={}, slos={s: make_slo(s) for s in names}, exclusions=())
    return Fleet(catalog, names, minutes, YEAR_START, starts, good, total, incidents)
