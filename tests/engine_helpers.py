"""Build engine inputs (catalog models, bucket frames) directly, without YAML, for engine tests."""

import math

import pandas as pd

from slo_pipelines.catalog.models import (
    SLO,
    Catalog,
    Duration,
    ExclusionRule,
    Indicator,
    Objective,
    Scope,
    TimeWindow,
)
from tests.reference import RefSLO

_UNIT = {"month": "M", "quarter": "Q", "year": "Y", "week": "w"}


def make_slo(ref: RefSLO, name: str = "svc-slo", service: str = "svc") -> SLO:
    if ref.calendar is None:
        assert ref.window_seconds is not None
        tw = TimeWindow(Duration(ref.window_seconds // 60, "m"), is_rolling=True)
    else:
        kind, zone = ref.calendar
        anchor = "2024-01-01T00:00:00"  # a Monday, and a January 1st
        tw = TimeWindow(Duration(1, _UNIT[kind]), is_rolling=False, calendar_start=anchor, time_zone=zone)
    timeslice = ref.method != "Occurrences"
    objective = Objective(
        name="objective-0",
        index=0,
        target=ref.target,
        op=ref.threshold[0] if ref.threshold else None,  # type: ignore[arg-type]
        value=ref.threshold[1] if ref.threshold else None,
        time_slice_target=ref.slice_target if timeslice else None,
        time_slice_window_seconds=ref.slice_seconds if timeslice else None,
    )
    indicator = Indicator(name=f"{name}-sli", kind="threshold" if ref.threshold else "ratio")
    return SLO(
        name=name,
        service=service,
        description="",
        indicator=indicator,
        time_window=tw,
        budgeting_method=ref.method,  # type: ignore[arg-type]
        objectives=(objective,),
        no_data_policy=ref.no_data,  # type: ignore[arg-type]
        bucket_seconds=ref.bucket,
        measured_since=ref.measured_since,
    )


def make_catalog(
    slos: list[SLO], exclusions: list[tuple[int, int]] | None = None, scope: Scope | None = None
) -> Catalog:
    rules = tuple(
        ExclusionRule(
            name=f"x{i}",
            kind="Exclusion",
            category="other",
            scope=scope or Scope(),
            reason="test",
            approved_by="tester",
            start=s,
            end=e,
        )
        for i, (s, e) in enumerate(exclusions or [])
    )
    return Catalog(documents=(), services={}, slos={s.name: s for s in slos}, exclusions=rules)


def frame(slo: str, rows: dict[int, tuple[float, float, float]], bucket: int = 60) -> pd.DataFrame:
    items = sorted(rows.items())
    return pd.DataFrame(
        {
            "slo": [slo] * len(items),
            "start": [t for t, _ in items],
            "good": [r[0] for (r,) in [(v,) for _, v in items]],
            "total": [v[1] for _, v in items],
            "value": [v[2] for _, v in items],
            "bucket_seconds": [bucket] * len(items),
        }
    ).astype({"start": "int64", "good": "float64", "total": "float64", "value": "float64"})


def close(a: float | None, b: float | None, tol: float = 1e-9) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=tol, abs_tol=tol)
