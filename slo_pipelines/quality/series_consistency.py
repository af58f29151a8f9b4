"""Audits of collection *consistency* per SLO and day: restarts, series churn and region coverage.

`engine/sli/series_stats.py` measures how the raw counter series behaved; this judges whether a day's data
can be trusted as collected: a crash-looping exporter, an autoscaler churning most of the fleet, a
failover that left minutes reported by no region, or an active/passive service served by two regions
at once (double counted, or a split brain). Like `collection.py`, the numbers are computed with pandas
and the verdicts are Great Expectations', in the same `CollectionFinding` shape.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from slo_pipelines.catalog.models import Catalog
from slo_pipelines.catalog.openslo import REGION_MODE_ANNOTATION
from slo_pipelines.quality.collection import CollectionFinding
from slo_pipelines.quality.gx_runtime import dataframe_validation, run_lock

DAY_SECONDS = 86400


@dataclass(frozen=True)
class SeriesConsistencyThresholds:
    """What an SRE would look into: more than a few restarts a day, half the fleet replaced, any minute
    without any region, and any minute two regions served an SLO declared active/passive.

    `active_passive` names the SLOs served by one region at a time; overlap is judged only for them.
    """

    max_restarts_per_day: int = 3
    max_churn_ratio: float = 0.5
    max_region_gap_minutes: float = 0.0
    max_overlap_minutes: float = 0.0
    active_passive: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        for name in (
            "max_restarts_per_day",
            "max_churn_ratio",
            "max_region_gap_minutes",
            "max_overlap_minutes",
        ):
            value = getattr(self, name)
            if not value >= 0:
                raise ValueError(f"series consistency threshold {name} must be >= 0 (got {value})")


# rule name, judged column, description template, columns shown for a failing SLO-day
_RULES: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    (
        "counter_resets",
        "restarts",
        "at most {max_restarts_per_day} counter resets (one per instance and bucket) per SLO per day",
        ("restarts", "resets", "reset_instances", "reset_series"),
    ),
    (
        "series_churn",
        "churn_ratio",
        "series started + ended at most {max_churn_ratio:.0%} of the series seen per SLO per day",
        ("churn_ratio", "series", "series_started", "series_ended", "started_series", "ended_series"),
    ),
    (
        "region_gaps",
        "region_gap_minutes",
        "at most {max_region_gap_minutes:g} minutes per day without data from any region",
        ("region_gap_minutes", "regions", "region_gaps", "failovers"),
    ),
    (
        "region_overlap",
        "active_passive_overlap_minutes",
        "at most {max_overlap_minutes:g} minutes per day with two regions serving an active/passive SLO",
        ("region_overlap_minutes", "regions", "region_overlaps", "failovers"),
    ),
)

NEW_SERIES_RULE = "new_series"  # informational: always passes, lists the series counted from 0
RULE_NAMES = (*(rule for rule, *_ in _RULES), NEW_SERIES_RULE)


def _expectations(t: SeriesConsistencyThresholds) -> list[Any]:
    from great_expectations import expectations as gxe

    return [
        gxe.ExpectColumnValuesToBeBetween(column="restarts", max_value=t.max_restarts_per_day),
        gxe.ExpectColumnValuesToBeBetween(column="churn_ratio", max_value=t.max_churn_ratio),
        gxe.ExpectColumnValuesToBeBetween(column="region_gap_minutes", max_value=t.max_region_gap_minutes),
        gxe.ExpectColumnValuesToBeBetween(
            column="active_passive_overlap_minutes", max_value=t.max_overlap_minutes
        ),
    ]


def _description(template: str, t: SeriesConsistencyThresholds) -> str:
    return template.format(**{k: v for k, v in vars(t).items() if k != "active_passive"})


def _judged(stats: pd.DataFrame, t: SeriesConsistencyThresholds) -> pd.DataFrame:
    """The numeric columns GX sees; NaN (no region label, or not active/passive) is not judged."""
    active_passive = stats["slo"].isin(sorted(t.active_passive)).to_numpy(dtype=bool)
    overlap = stats["region_overlap_minutes"].to_numpy(dtype=np.float64)
    return pd.DataFrame(
        {
            "slo": stats["slo"].astype(str).to_numpy(),
            "day": stats["day"].astype(str).to_numpy(),
            "restarts": stats["restarts"].to_numpy(dtype=np.float64),
            "churn_ratio": stats["churn_ratio"].to_numpy(dtype=np.float64),
            "region_gap_minutes": stats["region_gap_minutes"].to_numpy(dtype=np.float64),
            "active_passive_overlap_minutes": np.where(active_passive, overlap, np.nan),
        }
    )


def audit_series_consistency(
    stats: pd.DataFrame, thresholds: SeriesConsistencyThresholds = SeriesConsistencyThresholds()
) -> list[CollectionFinding]:
    """GX verdict per rule over `series_stats` rows (any SLOs, any days), naming the failing SLO-days."""
    t = thresholds
    if stats.empty:
        empty = [CollectionFinding(rule, _description(d, t), True, 0) for rule, _, d, _ in _RULES]
        return [*empty, new_series_finding(stats)]
    name = (
        f"sli_series_consistency_{t.max_restarts_per_day}_{t.max_churn_ratio}_"
        f"{t.max_region_gap_minutes}_{t.max_overlap_minutes}"
    )
    validation = dataframe_validation(name, lambda: _expectations(t))
    frame = _judged(stats, t)
    with run_lock():
        result = validation.run(
            batch_parameters={"dataframe": frame}, result_format={"result_format": "SUMMARY"}
        )
    by_column = {r.expectation_config.kwargs["column"]: r for r in result.results if r.expectation_config}
    limits = {
        "restarts": t.max_restarts_per_day,
        "churn_ratio": t.max_churn_ratio,
        "region_gap_minutes": t.max_region_gap_minutes,
        "active_passive_overlap_minutes": t.max_overlap_minutes,
    }
    findings = []
    for rule, column, template, shown in _RULES:
        r = by_column[column]
        failing = (frame[column] > limits[column]).to_numpy(dtype=bool)
        rows = stats[failing]
        findings.append(
            CollectionFinding(
                name=rule,
                description=_description(template, t),
                success=bool(r.success),
                unexpected_count=int(r.result.get("unexpected_count", 0) or 0),
                failing_slos=[
                    {"slo": str(row["slo"]), "day": str(row["day"]), **{c: row[c] for c in shown}}
                    for row in rows.to_dict(orient="records")
                ],
            )
        )
    findings.append(new_series_finding(stats))
    return findings


def new_series_finding(stats: pd.DataFrame) -> CollectionFinding:
    """Informational: every series counted from 0 on its first sample, with that first value, per
    SLO-day. New pods and first-seen error codes are normal; a burst of them explains a day's numbers."""
    listed = (
        [
            {"slo": str(row["slo"]), "day": str(row["day"]), "new_series": list(row["new_series"])}
            for row in stats.to_dict(orient="records")
            if len(row.get("new_series") or [])
        ]
        if "new_series" in stats
        else []
    )
    return CollectionFinding(
        name=NEW_SERIES_RULE,
        description="series counted from 0 (no sample in the hour before their first), with first value",
        success=True,
        unexpected_count=sum(len(r["new_series"]) for r in listed),
        failing_slos=listed,
    )


def audit_series_days(
    catalog: Catalog, stats: pd.DataFrame, start: int, end: int
) -> list[tuple[int, list[CollectionFinding]]]:
    """Per UTC day of `[start, end)`: the consistency verdicts, with active/passive SLOs taken from the
    catalog's `slo-pipelines.io/region-mode: active-passive` annotation."""
    active_passive = frozenset(
        name
        for name, slo in catalog.slos.items()
        if slo.annotations.get(REGION_MODE_ANNOTATION) == "active-passive"
    )
    thresholds = SeriesConsistencyThresholds(active_passive=active_passive)
    out = []
    for day in range(start, end, DAY_SECONDS):
        today = stats[stats["day_start"] == day] if not stats.empty else stats
        out.append((day, audit_series_consistency(today, thresholds)))
    return out
