"""Shape time-series evaluations into budget snapshot rows, and size the history a range needs."""

import json

import numpy as np
import pandas as pd

from slo_pipelines.catalog.models import SLO, Catalog, Objective
from slo_pipelines.engine.alerting.rules import (
    ALERT_RULES,
    LOOKBACKS,
    MAX_LOOKBACK_SECONDS,
    max_lookback_seconds,
)
from slo_pipelines.engine.budgets.buckets import DAY_SECONDS, combine_day_digests, day_digests
from slo_pipelines.engine.budgets.evaluate import CatalogEvaluator, policy_alert
from slo_pipelines.engine.budgets.windows import window_bounds_series


def history_start(catalog: Catalog, first_at: int) -> int:
    """Earliest bucket any SLO needs to be evaluated at `first_at` (its window or the longest lookback)."""
    earliest = first_at - MAX_LOOKBACK_SECONDS
    for slo in catalog.slos.values():
        earliest = min(earliest, first_at - max_lookback_seconds(slo))
        ws, _ = window_bounds_series(slo.time_window, np.array([first_at]))
        earliest = min(earliest, int(ws[0]))
    return earliest


def _nan_none(values: np.ndarray) -> list[float | None]:
    return [None if np.isnan(v) else float(v) for v in values]


def snapshot_digests(
    evaluator: CatalogEvaluator, slo: SLO, series: pd.DataFrame, objective: Objective | None = None
) -> list[str]:
    """`catalog:buckets` digests per snapshot, the same identity `slo evaluate` reports at that instant
    (an objective with its own indicator reads its own rows, `SLO.data_key`).

    For an SLO whose older days are read from rollups, those days' digests come from the daily rollups,
    so the digest does not depend on where a run's range starts (equal inputs, equal digests).
    """
    key = slo.name if objective is None else slo.data_key(objective)
    buckets = evaluator.by_slo.get(key)
    coarse = evaluator.coarse if evaluator.coarse is not None and key in evaluator.coarse.slos else None
    fine: list[tuple[int, str]] = []
    if coarse is not None and buckets is not None:
        s = buckets.between(coarse.fine_from, int(series["at"].max()) if len(series) else coarse.fine_from)
        fine = day_digests(buckets.starts[s], buckets.good[s], buckets.total[s], buckets.value[s])
    out = []
    for ws, at in zip(series["window_start"], series["at"], strict=True):
        first = min(int(ws), int(at) - MAX_LOOKBACK_SECONDS)
        if buckets is None:
            digest = ""
        elif coarse is None:
            digest = buckets.digest(key, first, int(at))
        else:
            if first % DAY_SECONDS or int(at) % DAY_SECONDS:
                raise ValueError(f"{key}: rollup-backed digests need whole days (got {first}..{at})")
            older = coarse.stored_day_digests(key, first, min(coarse.fine_from, int(at)))
            newer = [(d, h) for d, h in fine if max(first, coarse.fine_from) <= d < int(at)]
            digest = combine_day_digests(key, buckets.bucket_seconds, older + newer)
        out.append(f"{evaluator.catalog_digest}:{digest}")
    return out


def snapshot_rows(slo: SLO, objective: Objective, series: pd.DataFrame, digests: list[str]) -> pd.DataFrame:
    period = slo.time_window.duration.nominal_seconds()
    burn = {k: _nan_none(series[f"burn_{k}"].to_numpy(dtype=float)) for k in LOOKBACKS}
    alerts = []
    for i in range(len(series)):
        firing = [
            {
                "severity": r.severity,
                "long_window": r.long_window,
                "short_window": r.short_window,
                "threshold": r.threshold(period),
            }
            for r in ALERT_RULES
            if series[f"alert_{r.severity}_{r.long_window}_{r.short_window}"].iat[i]
        ]
        firing += [
            policy_alert(c).to_json()
            for j, c in enumerate(slo.policy_alerts)
            if series[f"policy_alert_{j}"].iat[i]
        ]
        alerts.append(json.dumps(firing))
    return pd.DataFrame(
        {
            "slo": slo.name,
            "objective": objective.name,
            "at": series["at"].to_numpy(dtype=np.int64),
            "window_start": series["window_start"].to_numpy(dtype=np.int64),
            "window_end": series["window_end"].to_numpy(dtype=np.int64),
            "good": series["good"].to_numpy(dtype=float),
            "total": series["total"].to_numpy(dtype=float),
            "sli": series["sli"].to_numpy(dtype=float),
            "allowed_bad": series["allowed_bad"].to_numpy(dtype=float),
            "consumed_bad": series["consumed_bad"].to_numpy(dtype=float),
            "remaining_ratio": series["remaining_ratio"].to_numpy(dtype=float),
            "excluded_seconds": series["excluded_seconds"].to_numpy(dtype=np.int64),
            "coverage": series["coverage"].to_numpy(dtype=float),
            "status": series["status"].to_numpy(dtype=object),
            "burn_rates": [json.dumps({k: burn[k][i] for k in LOOKBACKS}) for i in range(len(series))],
            "alerts": alerts,
            "digest": digests,
        }
    )
