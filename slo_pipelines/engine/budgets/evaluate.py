"""Evaluate SLO objectives at one instant or at every step of a range, with one vectorised code path.

`ObjectiveEvaluator.series` computes everything (window SLI, budget, seven burn rates, alerts, status,
coverage) for an array of instants using the prefix-sum grid; a point evaluation is a series of one.
"""

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from slo_pipelines.catalog.models import SLO, BurnRateCondition, Catalog, Objective
from slo_pipelines.engine.alerting.rules import (
    ALERT_RULES,
    LOOKBACKS,
    MAX_LOOKBACK_SECONDS,
    compare,
    firing,
    max_lookback_seconds,
    window_label,
)
from slo_pipelines.engine.budgets.buckets import SLOBuckets, empty_buckets, group_buckets
from slo_pipelines.engine.budgets.coarse import CoarseHistory, CoarseHistoryError, CoarseSums
from slo_pipelines.engine.budgets.grid import BucketGrid
from slo_pipelines.engine.budgets.results import AppliedExclusion, FiringAlert, SLOResult
from slo_pipelines.engine.budgets.windows import window_bounds_series
from slo_pipelines.engine.common.exact import exact_number
from slo_pipelines.engine.exclusions.intervals import (
    ExclusionInterval,
    applicable,
    covered_seconds_series,
    expand_rules,
    merge,
)

DEFAULT_WARNING_THRESHOLD = 0.25
# Start of the not-measured interval `[NEVER, measured_from)`: earlier than any instant the engine accepts.
NEVER = -(2**40)
# measured_from of an SLO with no bucket and no annotation: nothing of it is measured, ever.
NOT_MEASURED = 2**40
STATUS_CODES = ("ok", "warning", "breach", "no_data")
_STATUS_VALUES = pd.Series(STATUS_CODES).array  # pandas' default string dtype; `take` maps codes to it
Pos = np.ndarray | slice


class BucketSizeError(ValueError):
    """An SLO's rows use a bucket size its time slices are not a whole multiple of."""


@dataclass
class _Tally:
    """What one interval yields under an objective's rules: (good, total, consumed_bad, sli)."""

    good: np.ndarray
    total: np.ndarray
    consumed: np.ndarray
    sli: np.ndarray


def _f(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def _sums(x: np.ndarray) -> np.ndarray:
    """Window sums as reported: exact Python ints stay exact (beyond int64), anything else is float64."""
    x = np.asarray(x)
    return x if x.dtype == object else _f(x)


def _f64(x: np.ndarray) -> np.ndarray:
    """Integers stay as they are (the division converts them exactly); anything else becomes float64."""
    x = np.asarray(x)
    return x if x.dtype.kind in "iu" else x.astype(np.float64, copy=False)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den in float64 where den > 0, else NaN (a null SLI or burn rate)."""
    num, den = _f64(num), _f64(den)
    out = np.full(den.shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _regular_step(ats: np.ndarray) -> int | None:
    """The common spacing of evenly spaced instants (any one or two instants count as even)."""
    if ats.size < 2:
        return None
    step = int(ats[1] - ats[0])
    if step <= 0 or int(ats[-1] - ats[0]) != step * (ats.size - 1):
        return None
    return step if bool(np.all(np.diff(ats) == step)) else None


class ObjectiveEvaluator:
    """All the numbers for one SLO objective, over a grid sized for the instants it will be asked about."""

    def __init__(
        self,
        slo: SLO,
        objective: Objective,
        buckets: SLOBuckets,
        intervals: Sequence[ExclusionInterval],
        span_start: int,
        span_end: int,
        coarse: CoarseSums | None = None,
        measured_from: int | None = None,
    ) -> None:
        """`measured_from`: where the SLO's measurement starts (DESIGN.md §3 "Measured since"); the
        time before it is treated as excluded and reported as not measured. None: measured always."""
        self.slo = slo
        self.measured_from = NEVER if measured_from is None else measured_from
        self.coarse = coarse
        if coarse is not None:
            span_start = max(span_start, coarse.fine_from)
        self.objective = objective
        self.buckets = buckets
        self.b = buckets.bucket_seconds
        self.timeslices = slo.budgeting_method != "Occurrences"
        align = self.b
        if self.timeslices:
            align = objective.time_slice_window_seconds or self.b
        origin = (span_start // align) * align
        end = -(-span_end // align) * align
        self.merged = merge([*((iv.start, iv.end) for iv in intervals), (NEVER, self.measured_from)])
        sel = buckets.between(origin, end)
        self.grid = BucketGrid(
            origin=origin,
            n=(end - origin) // self.b,
            bucket_seconds=self.b,
            starts=buckets.starts[sel],
            good=buckets.good[sel],
            total=buckets.total[sel],
            value=buckets.value[sel],
            excluded=self.merged,
            objective=objective,
            is_threshold=self.timeslices and slo.indicator_of(objective).kind == "threshold",
        )

    def _tally(self, lo: np.ndarray, hi: np.ndarray) -> _Tally:
        g = self.grid
        ia, ie = g.index(lo), g.index(hi)
        if not self.timeslices:
            s = g.sums(ia, ie)
            return _Tally(_sums(s.good), _sums(s.total), _sums(s.bad), _ratio(s.good, s.total))
        c = g.slices(ia, ie)
        policy = self.slo.no_data_policy
        nodata = c.nodata if policy != "ignore" else np.zeros_like(c.nodata)
        considered = c.data + nodata
        if self.slo.budgeting_method == "Timeslices":
            good = c.good + (nodata if policy == "good" else 0)
            return _Tally(_f(good), _f(considered), _f(considered - good), _ratio(good, considered))
        good_r = _f(c.ratio_sum) + (_f(nodata) if policy == "good" else 0.0)
        bad_r = _f(c.one_minus_ratio_sum) + (_f(nodata) if policy == "bad" else 0.0)
        return _Tally(good_r, _f(considered), bad_r, _ratio(good_r, considered))

    def tally(self, lo: np.ndarray, hi: np.ndarray) -> _Tally:
        """(good, total, consumed_bad, sli) of each interval `[lo, hi)`: Occurrences sum the buckets whose
        start lies inside; timeslice methods count slices under the no-data policy (edge slices cut at
        the interval, so slice-aligned bounds count whole slices)."""
        return self._tally(np.asarray(lo, dtype=np.int64), np.asarray(hi, dtype=np.int64))

    def rows(self, lo: int, hi: int) -> int:
        """Included bucket rows whose start lies in `[lo, hi)`."""
        g = self.grid
        return int(g.P_rows[g.index(hi)] - g.P_rows[g.index(lo)])

    def _allowed(self, window: _Tally, ws: np.ndarray, full_end: np.ndarray) -> np.ndarray:
        miss = self.objective.budget_fraction
        if not self.timeslices:
            return miss * _f(window.total)
        c = self.grid.slices(self.grid.index(ws), self.grid.index(full_end))
        return miss * _f(c.touched - c.excluded)

    def _positions(self, first: int, count: int, step: int | None, instants: np.ndarray | None = None) -> Pos:
        """Grid indices of `first + j·step`: a strided slice when possible, else an index array."""
        if step is not None:
            pos = self.grid.regular_index(first, count, step)
            if pos is not None:
                return pos
            instants = first + step * np.arange(count, dtype=np.int64)
        assert instants is not None
        return self.grid.index(instants)

    def burn_over(self, ats: np.ndarray, seconds: int) -> np.ndarray:
        """Burn rate over `[at − seconds, at)` for every instant, by the same rules as the fixed lookbacks."""
        miss = self.objective.budget_fraction
        if self.timeslices:
            t = self._tally(ats - seconds, ats)
            return _ratio(t.consumed, t.total) / miss
        g = self.grid
        p_at, p_lo = g.index(ats), g.index(ats - seconds)
        return _ratio(g.P_bad[p_at] - g.P_bad[p_lo], g.P_total[p_at] - g.P_total[p_lo]) / miss

    def policy_firing(self, ats: np.ndarray, i: int) -> np.ndarray:
        """Condition `i` of the SLO's AlertPolicies holds at every bucket boundary of
        `[at − alertAfter, at]` (OpenSLO `alertAfter`: how long it must hold before it alerts)."""
        condition = self.slo.policy_alerts[i]
        steps = condition.alert_after_seconds // self.b
        instants = ats[:, None] - self.b * np.arange(steps + 1, dtype=np.int64)[None, :]
        holds = compare(self.burn_over(instants.ravel(), condition.lookback_seconds), condition)
        return np.asarray(holds.reshape(instants.shape).all(axis=1))

    def series(self, ats: np.ndarray, warning_threshold: float = DEFAULT_WARNING_THRESHOLD) -> pd.DataFrame:
        ats = np.asarray(ats, dtype=np.int64)
        ws, full_end = window_bounds_series(self.slo.time_window, ats)
        g = self.grid
        step = _regular_step(ats) if not self.timeslices else None
        m = int(ats.size)
        a0 = int(ats[0]) if m else 0
        if self.timeslices:
            win = self._tally(ws, ats)
            allowed = self._allowed(win, ws, full_end)
            rows = g.sums(g.index(ws), g.index(ats)).rows
        else:
            full_end = ats
            p_at = self._positions(a0, m, step, ats)
            ws_step = step if self.slo.time_window.is_rolling else None
            p_ws = self._positions(int(ws[0]) if m else 0, m, ws_step, ws)
            s = g.sums(p_ws, p_at)
            good, total, bad, rows = s.good, s.total, s.bad, s.rows
            if self.coarse is not None:
                if m and a0 - MAX_LOOKBACK_SECONDS < self.coarse.fine_from:
                    raise CoarseHistoryError("burn-rate lookbacks must lie in the minute data")
                cg, ct, cb, cr = self.coarse.sums(ws)
                good, total, bad, rows = good + cg, total + ct, bad + cb, rows + cr
            win = _Tally(_sums(good), _sums(total), _sums(bad), _ratio(good, total))
            allowed = self._allowed(win, ws, full_end)
        remaining = _ratio(win.consumed, allowed)
        np.subtract(1.0, remaining, out=remaining)
        not_measured = np.clip(self.measured_from - ws, 0, ats - ws)
        excluded = covered_seconds_series(self.merged, ws, ats) - not_measured
        expected = ((ats - ws) - excluded - not_measured) / self.b
        coverage = _ratio(rows, expected)
        miss = self.objective.budget_fraction
        out: dict[str, Any] = {
            "at": ats.copy(),
            "window_start": ws,
            "window_end": ats.copy(),
            "good": win.good,
            "total": win.total,
            "sli": win.sli,
            "allowed_bad": allowed,
            "consumed_bad": win.consumed,
            "remaining_ratio": remaining,
            "excluded_seconds": excluded,
            "not_measured_seconds": not_measured,
            "coverage": coverage,
        }
        burn: dict[str, np.ndarray] = {}
        for label, seconds in LOOKBACKS.items():
            if self.timeslices:
                t = self._tally(ats - seconds, ats)
                burn[label] = _ratio(t.consumed, t.total) / miss
            else:
                p_lo = self._positions(a0 - seconds, m, step, None if step else ats - seconds)
                bad = g.P_bad[p_at] - g.P_bad[p_lo]
                total = g.P_total[p_at] - g.P_total[p_lo]
                burn[label] = _ratio(bad, total)
                burn[label] /= miss
            out[f"burn_{label}"] = burn[label]
        period = self.slo.time_window.duration.nominal_seconds()
        for rule in ALERT_RULES:
            fires = firing(burn, rule, period)
            out[f"alert_{rule.severity}_{rule.long_window}_{rule.short_window}"] = (
                fires if self.slo.default_alerts else np.zeros_like(fires)
            )
        for i in range(len(self.slo.policy_alerts)):
            out[f"policy_alert_{i}"] = self.policy_firing(ats, i)
        code = np.zeros(ats.shape, dtype=np.int8)
        with np.errstate(invalid="ignore"):
            code[remaining < warning_threshold] = 1
            code[remaining < 0] = 2
        code[np.isnan(win.sli)] = 3
        return pd.DataFrame({**out, "status": _STATUS_VALUES.take(code)}, copy=False)


def _nan_to_none(x: float) -> float | None:
    return None if np.isnan(x) else float(x)


def firing_alerts(row: pd.Series, slo: SLO) -> tuple[FiringAlert, ...]:
    """The default multi-window pairs firing in `row`, then the SLO's AlertPolicy conditions firing."""
    period_seconds = slo.time_window.duration.nominal_seconds()
    pairs = tuple(
        FiringAlert(r.severity, r.long_window, r.short_window, r.threshold(period_seconds))
        for r in ALERT_RULES
        if bool(row[f"alert_{r.severity}_{r.long_window}_{r.short_window}"])
    )
    return pairs + tuple(
        policy_alert(c) for i, c in enumerate(slo.policy_alerts) if bool(row[f"policy_alert_{i}"])
    )


def policy_alert(c: BurnRateCondition) -> FiringAlert:
    lookback = window_label(c.lookback_seconds)
    return FiringAlert(
        c.severity,
        lookback,
        lookback,
        c.threshold,
        policy=c.policy,
        condition=c.condition,
        op=c.op,
        alert_after=window_label(c.alert_after_seconds) if c.alert_after_seconds else "0m",
    )


def applied_exclusions(
    intervals: Sequence[ExclusionInterval], start: int, end: int, measured_from: int | None = None
) -> tuple[AppliedExclusion, ...]:
    """Exclusions touching `[start, end)` with the seconds each removed from its measured part."""
    if measured_from is not None:
        start = max(start, measured_from)
    out = []
    for iv in sorted(intervals, key=lambda i: (i.start, i.rule.name)):
        seconds = max(0, min(iv.end, end) - max(iv.start, start))
        if seconds > 0:
            r = iv.rule
            out.append(
                AppliedExclusion(
                    r.name, r.kind, r.category, r.reason, r.approved_by, iv.start, iv.end, seconds
                )
            )
    return tuple(out)


class CatalogEvaluator:
    """Evaluates every SLO objective of a catalog against one bucket frame."""

    def __init__(
        self,
        catalog: Catalog,
        buckets: pd.DataFrame | Mapping[str, SLOBuckets],
        warning_thresholds: dict[str, float] | None = None,
        coarse: CoarseHistory | None = None,
        first_buckets: Mapping[str, int] | None = None,
    ) -> None:
        """`first_buckets`: each SLO's first bucket in its whole history, when `buckets` holds only
        part of it (a warehouse read from a window's start); else the first row of `buckets` counts.

        `buckets` is a frame (see `group_buckets`) or the rows already split by SLO name, each sorted
        by start (what a windowed reader keeps between windows, so it is not regrouped every time).
        """
        self.catalog = catalog
        self.coarse = coarse
        self.first_buckets = dict(first_buckets or {})
        slos = catalog.slos_by_data_key()
        if isinstance(buckets, pd.DataFrame):
            self.by_slo = group_buckets(buckets, slos)
        else:
            self.by_slo = {name: empty_buckets(slo.bucket_seconds) for name, slo in slos.items()}
            self.by_slo.update(buckets)
        self.warning_thresholds = warning_thresholds or {}
        self.catalog_digest = catalog.digest()

    def intervals(self, slo: SLO, start: int, end: int) -> list[ExclusionInterval]:
        """Exclusion occurrences applicable to `slo` that overlap `[start, end)`."""
        return applicable(expand_rules(self.catalog.exclusions, start, end), slo.name, slo.service)

    def evaluator(self, slo: SLO, objective: Objective, first_at: int, last_at: int) -> ObjectiveEvaluator:
        ws, full_end = window_bounds_series(slo.time_window, np.array([first_at, last_at]))
        span_start = min(int(ws.min()), first_at - max_lookback_seconds(slo))
        span_end = max(int(full_end.max()), last_at)
        buckets = self.by_slo.get(slo.data_key(objective), empty_buckets(slo.bucket_seconds))
        slice_seconds = objective.time_slice_window_seconds
        if slo.budgeting_method != "Occurrences" and slice_seconds and slice_seconds % buckets.bucket_seconds:
            raise BucketSizeError(
                f"{slo.name}: bucket_seconds={buckets.bucket_seconds} does not divide the objective "
                f"{objective.name!r} timeSliceWindow ({slice_seconds} s)"
            )
        intervals = self.intervals(slo, span_start, span_end)
        measured_from = self.measured_from(slo, buckets)
        coarse = None
        if self.coarse is not None and slo.name in self.coarse.slos:
            if slo.budgeting_method != "Occurrences":
                raise CoarseHistoryError(f"{slo.name}: only Occurrences windows can be read from rollups")
            merged = merge((iv.start, iv.end) for iv in intervals)
            coarse = CoarseSums(self.coarse, slo.name, buckets.starts, buckets.good, buckets.total, merged)
        return ObjectiveEvaluator(
            slo, objective, buckets, intervals, span_start, span_end, coarse, measured_from
        )

    def measured_from(self, slo: SLO, buckets: SLOBuckets) -> int:
        """The annotation's instant, else the SLO's first bucket in the input (the rollups' first hour
        when older history is read from rollups), else NOT_MEASURED (DESIGN.md §3 "Measured since")."""
        if slo.measured_since is not None:
            return slo.measured_since
        if slo.name in self.first_buckets:
            return self.first_buckets[slo.name]
        firsts = [int(buckets.starts[0])] if buckets.starts.size else []
        if self.coarse is not None and slo.name in self.coarse.slos:
            hours = self.coarse.frame.loc[self.coarse.frame["slo"] == slo.name, "start"]
            if not hours.empty:
                firsts.append(int(hours.min()))
        return min(firsts) if firsts else NOT_MEASURED

    def evaluate(self, at: int) -> list[SLOResult]:
        results = []
        for name in sorted(self.catalog.slos):
            slo = self.catalog.slos[name]
            for objective in slo.objectives:
                ev = self.evaluator(slo, objective, at, at)
                warn = self.warning_thresholds.get(name, DEFAULT_WARNING_THRESHOLD)
                row = ev.series(np.array([at]), warn).iloc[0]
                ws = int(row["window_start"])
                digest_start = min(ws, at - MAX_LOOKBACK_SECONDS)
                results.append(
                    SLOResult(
                        name=slo.name,
                        service=slo.service,
                        objective=objective.name,
                        budgeting_method=slo.budgeting_method,
                        target=objective.target,
                        at=at,
                        window_start=ws,
                        window_end=at,
                        good=exact_number(row["good"]),
                        total=exact_number(row["total"]),
                        sli=_nan_to_none(row["sli"]),
                        excluded_seconds=int(row["excluded_seconds"]),
                        not_measured_seconds=int(row["not_measured_seconds"]),
                        coverage=_nan_to_none(row["coverage"]),
                        allowed_bad=float(row["allowed_bad"]),
                        consumed_bad=exact_number(row["consumed_bad"]),
                        remaining_ratio=_nan_to_none(row["remaining_ratio"]),
                        burn_rates={k: _nan_to_none(row[f"burn_{k}"]) for k in LOOKBACKS},
                        alerts=firing_alerts(row, slo),
                        status=str(row["status"]),
                        bucket_seconds=ev.b,
                        catalog_digest=self.catalog_digest,
                        buckets_digest=ev.buckets.digest(slo.data_key(objective), digest_start, at),
                        exclusions=applied_exclusions(self.intervals(slo, ws, at), ws, at, ev.measured_from),
                    )
                )
        return results

    def series(
        self, start: int, end: int, step: int | None = None
    ) -> Iterator[tuple[SLO, Objective, pd.DataFrame]]:
        """Status at every step boundary in `[start, end]` (default step: the SLO's bucket size)."""
        for name in sorted(self.catalog.slos):
            slo = self.catalog.slos[name]
            for objective in slo.objectives:
                ev = self.evaluator(slo, objective, start, end)
                s = step or ev.b
                first = -(-start // s) * s
                ats = np.arange(first, end + 1, s, dtype=np.int64)
                warn = self.warning_thresholds.get(name, DEFAULT_WARNING_THRESHOLD)
                yield slo, objective, ev.series(ats, warn)
