"""Audits of SLI *collection* per SLO: completeness (with the gap list), staleness and volume drops.

Row rules (`bucket_audit`) say whether each row can be trusted; these say whether the collection as a
whole can: a day with 20 % of its buckets, a source that stopped reporting an hour ago, or traffic that
fell by 90 % overnight. The per-SLO summary is computed with pandas and judged by Great Expectations,
like the row rules, so the verdicts are GX's.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from slo_pipelines.catalog.models import SLO
from slo_pipelines.engine.common.timeutil import format_instant
from slo_pipelines.quality.gx_runtime import dataframe_validation, run_lock

MAX_GAPS_LISTED = 20


@dataclass(frozen=True)
class CollectionThresholds:
    """Defaults an SRE would page on: under 99 % of buckets, 15 minutes silent, traffic halved."""

    min_completeness: float = 0.99
    max_staleness_seconds: int = 900
    max_volume_drop: float = 0.5


@dataclass(frozen=True)
class CollectionFinding:
    name: str
    description: str
    success: bool
    unexpected_count: int
    failing_slos: list[dict[str, Any]] = field(default_factory=list)


def _gaps(starts: np.ndarray, b: int, lo: int, hi: int) -> list[tuple[int, int]]:
    """Missing bucket runs `[start, end)` inside `[lo, hi)` given the present bucket starts."""
    edges = np.concatenate([[lo - b], np.sort(starts), [hi]])
    after = edges[:-1] + b
    missing = edges[1:] > after
    return [(int(s), int(e)) for s, e in zip(after[missing], edges[1:][missing], strict=True)]


def collection_summary(
    buckets: pd.DataFrame,
    slos: dict[str, SLO],
    start: int,
    end: int,
    now: int,
    previous_volume: dict[str, float] | None = None,
) -> pd.DataFrame:
    """One row per catalog SLO for the range `[start, end)` observed at `now`."""
    rows = []
    grouped = {str(k): g for k, g in buckets.groupby("slo")} if not buckets.empty else {}
    for name in sorted(slos):
        slo = slos[name]
        g = grouped.get(name)
        b = (
            int(g["bucket_seconds"].iloc[0])
            if g is not None and "bucket_seconds" in g
            else slo.bucket_seconds
        )
        starts = g["start"].to_numpy(dtype=np.int64) if g is not None else np.zeros(0, dtype=np.int64)
        expected = (end - start) // b
        gaps = _gaps(starts, b, start, end)
        newest_end = int(starts.max()) + b if starts.size else None
        observed_until = min(now, end)
        volume = float(g["total"].sum()) if g is not None else 0.0
        before = (previous_volume or {}).get(name)
        rows.append(
            {
                "slo": name,
                "bucket_seconds": b,
                "expected": int(expected),
                "present": int(starts.size),
                "completeness": starts.size / expected if expected else 1.0,
                "gaps": [[format_instant(s), format_instant(e)] for s, e in gaps[:MAX_GAPS_LISTED]],
                "gap_count": len(gaps),
                "newest_bucket_end": format_instant(newest_end) if newest_end is not None else None,
                "staleness_seconds": max(
                    0, observed_until - (newest_end if newest_end is not None else start)
                ),
                "volume": volume,
                "previous_volume": before,
                "volume_change": (volume / before - 1.0) if before else None,
            }
        )
    return pd.DataFrame(rows)


def _expectations(t: CollectionThresholds) -> list[Any]:
    from great_expectations import expectations as gxe

    return [
        gxe.ExpectColumnValuesToBeBetween(column="completeness", min_value=t.min_completeness),
        gxe.ExpectColumnValuesToBeBetween(column="staleness_seconds", max_value=t.max_staleness_seconds),
        gxe.ExpectColumnValuesToBeBetween(column="volume_change", min_value=-t.max_volume_drop),
    ]


_RULES = (
    ("completeness", "completeness", "at least {min_completeness:.2%} of expected buckets present"),
    ("staleness", "staleness_seconds", "newest bucket at most {max_staleness_seconds} s old"),
    ("volume_drop", "volume_change", "traffic drops at most {max_volume_drop:.0%} day over day"),
)


class CollectionAuditConsistencyError(RuntimeError):
    """GX's unexpected rows do not add up to its own count: the rows cannot be given back to their days."""


def audit_collection(
    summary: pd.DataFrame, thresholds: CollectionThresholds = CollectionThresholds()
) -> list[CollectionFinding]:
    """GX verdict per rule over the per-SLO summary, with the failing SLOs' details."""
    return audit_collection_days([summary], thresholds)[0]


def _findings(
    summary: pd.DataFrame,
    t: CollectionThresholds,
    verdicts: dict[str, tuple[bool, int]],
) -> list[CollectionFinding]:
    """Findings of one summary from GX's `(success, unexpected_count)` per rule; pandas lists the SLOs."""
    masks = {
        "completeness": summary["completeness"] < t.min_completeness,
        "staleness": summary["staleness_seconds"] > t.max_staleness_seconds,
        "volume_drop": summary["volume_change"].astype("float64") < -t.max_volume_drop,
    }
    findings = []
    for rule, _, description in _RULES:
        success, count = verdicts[rule]
        failing = summary[masks[rule].fillna(False).to_numpy(dtype=bool)]
        findings.append(
            CollectionFinding(
                name=rule,
                description=description.format(**vars(t)),
                success=success,
                unexpected_count=count,
                failing_slos=[{str(k): v for k, v in r.items()} for r in failing.to_dict(orient="records")],
            )
        )
    return findings


def _empty_findings(t: CollectionThresholds) -> list[CollectionFinding]:
    return [CollectionFinding(n, d.format(**vars(t)), True, 0) for n, _, d in _RULES]


def audit_collection_days(
    summaries: Sequence[pd.DataFrame], thresholds: CollectionThresholds = CollectionThresholds()
) -> list[list[CollectionFinding]]:
    """`audit_collection` of each summary (say one per day of a window), judged by ONE GX validation.

    The summaries are stacked and validated once; GX's COMPLETE result lists every unexpected row, and
    each is counted back to the summary it came from. Every rule is row-wise with GX's default `mostly`
    of 1.0, under which GX passes a frame exactly when none of its rows is unexpected, so each summary
    gets the verdict and count a validation of it alone gives (a rule GX could not evaluate fails every
    summary with count 0, as it would fail each alone). An empty summary passes without GX, as alone.
    One validation instead of one per day: GX's fixed cost per run dwarfs a few hundred rows.

    Returns one findings list per summary, in order. Raises `CollectionAuditConsistencyError` when GX's
    unexpected rows do not match its own unexpected count.
    """
    t = thresholds
    parts = [k for k, summary in enumerate(summaries) if not summary.empty]
    verdicts: list[dict[str, tuple[bool, int]]] = [{n: (True, 0) for n, _, _ in _RULES} for _ in summaries]
    if parts:
        name = f"sli_collection_{t.min_completeness}_{t.max_staleness_seconds}_{t.max_volume_drop}"
        validation = dataframe_validation(name, lambda: _expectations(thresholds))
        columns = ["slo", "completeness", "staleness_seconds", "volume_change"]
        dtypes = {"completeness": "float64", "staleness_seconds": "float64", "volume_change": "float64"}
        # each part converted on its own, as a lone validation converts it, then stacked: same values
        frame = pd.concat([summaries[k][columns].astype(dtypes) for k in parts], ignore_index=True)
        part_of = np.repeat(np.asarray(parts, dtype=np.int64), [len(summaries[k]) for k in parts])
        with run_lock():
            result = validation.run(
                batch_parameters={"dataframe": frame}, result_format={"result_format": "COMPLETE"}
            )
        by_column = {r.expectation_config.kwargs["column"]: r for r in result.results if r.expectation_config}
        for rule, column, _ in _RULES:
            r = by_column[column]
            rows = np.asarray(r.result.get("unexpected_index_list") or [], dtype=np.int64)
            count = int(r.result.get("unexpected_count", 0) or 0)
            if rows.size != count:
                raise CollectionAuditConsistencyError(
                    f"collection audit: GX counts {count} unexpected rows for {rule} but lists {rows.size}"
                )
            per_part = np.bincount(part_of[rows], minlength=len(summaries))
            unevaluated = not r.success and count == 0
            for k in parts:
                n = int(per_part[k])
                verdicts[k][rule] = (n == 0 and not unevaluated, n)
    return [
        _findings(summary, t, verdicts[k]) if not summary.empty else _empty_findings(t)
        for k, summary in enumerate(summaries)
    ]
