"""Engine benchmark: point evaluation and a year of per-minute series vs a numpy floor and naive pandas.

Run from the repository root: `.venv/bin/python -m benchmarks.run [--slos N] [--days D]`.
Prints a summary and writes `benchmarks/results/latest.json`.
"""

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from benchmarks.floor import STATUS_BREACH, STATUS_NO_DATA, STATUS_OK, STATUS_WARNING, floor_series
from benchmarks.memory import PeakTracker, current_rss_mb
from benchmarks.naive import naive_series
from benchmarks.synthetic import BUCKET_SECONDS, TARGET, WINDOW_DAYS, Fleet, make_fleet
from slo_pipelines.engine.alerting.rules import ALERT_RULES, LOOKBACKS
from slo_pipelines.engine.budgets.evaluate import CatalogEvaluator

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "latest.json"
TARGETS = {"series_vs_floor_max": 2.0, "naive_vs_series_min": 10.0, "peak_memory_mb_max": 4096.0}
T = TypeVar("T")
_STATUS_NAMES = np.array(["ok", "warning", "breach", "no_data"], dtype=object)
assert [STATUS_OK, STATUS_WARNING, STATUS_BREACH, STATUS_NO_DATA] == [0, 1, 2, 3]
COMPARED = ["sli", "remaining_ratio", *(f"burn_{k}" for k in LOOKBACKS)]
FLAGS = [f"alert_{r.severity}_{r.long_window}_{r.short_window}" for r in ALERT_RULES]


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer (got {text!r})") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer (got {text!r})")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    p.add_argument("--slos", type=_positive, default=100, help="SLOs in the fleet (default 100, at most 127)")
    p.add_argument("--days", type=_positive, default=365, help="days of 1-minute buckets (default 365)")
    p.add_argument(
        "--naive-slos", type=_positive, default=5, help="SLOs run through naive pandas (default 5)"
    )
    p.add_argument("--seed", type=int, default=20250101)
    p.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON results file")
    args = p.parse_args(argv)
    if args.slos > 127:
        p.error(f"argument --slos: at most 127 (got {args.slos})")
    if args.days <= WINDOW_DAYS:
        p.error(f"argument --days: must exceed the {WINDOW_DAYS}-day window (got {args.days})")
    args.naive_slos = min(args.naive_slos, args.slos)
    return args


class Phases:
    """Wall time and peak memory per phase, printed as they finish."""

    def __init__(self) -> None:
        self.memory = PeakTracker()
        self.results: dict[str, dict[str, float]] = {}

    def run(self, name: str, fn: Callable[[], T]) -> T:
        self.memory.start_phase()
        rss_before = current_rss_mb()
        t0 = time.perf_counter()
        out = fn()
        seconds = time.perf_counter() - t0
        peak = self.memory.phase_peak_mb()
        self.results[name] = {"seconds": seconds, "rss_before_mb": rss_before, "peak_rss_mb": peak}
        print(f"  {name:<28} {seconds:9.2f} s   peak RSS {peak:8.0f} MB", flush=True)
        return out


def _engine_frame(df: pd.DataFrame) -> dict[str, np.ndarray]:
    out = {c: df[c].to_numpy(dtype=np.float64, copy=True) for c in COMPARED}
    out.update({c: df[c].to_numpy(dtype=bool, copy=True) for c in FLAGS})
    out["status"] = df["status"].to_numpy(dtype=object)
    return out


def run_series(ce: CatalogEvaluator, fleet: Fleet, keep: set[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Consume every SLO's year of per-minute results, keeping only the subset used for agreement."""
    end = fleet.start + fleet.minutes * BUCKET_SECONDS
    kept: dict[str, Any] = {}
    alert_minutes = breach_minutes = rows = 0
    for slo, _objective, df in ce.series(fleet.start, end):
        rows += len(df)
        alert_minutes += int(df[FLAGS].to_numpy().any(axis=1).sum())
        breach_minutes += int((df["status"] == "breach").sum())
        if slo.name in keep:
            kept[slo.name] = _engine_frame(df)
        del df
    return kept, {"rows": rows, "alert_minutes": alert_minutes, "breach_minutes": breach_minutes}


def run_floor(fleet: Fleet, keep: set[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    end = fleet.start + fleet.minutes * BUCKET_SECONDS
    kept: dict[str, Any] = {}
    alert_minutes = breach_minutes = 0
    for i, name in enumerate(fleet.names):
        r = fleet.rows(i)
        fs = floor_series(
            fleet.starts[r], fleet.good[r], fleet.total[r], fleet.start, end, WINDOW_DAYS * 86400, TARGET
        )
        alert_minutes += int(np.logical_or.reduce(list(fs.alerts.values())).sum())
        breach_minutes += int((fs.status == STATUS_BREACH).sum())
        if name in keep:
            cols = {"sli": fs.sli, "remaining_ratio": fs.remaining_ratio}
            cols.update({f"burn_{k}": v for k, v in fs.burn.items()})
            cols.update(fs.alerts)
            cols["status"] = _STATUS_NAMES[fs.status]
            kept[name] = cols
    return kept, {"alert_minutes": alert_minutes, "breach_minutes": breach_minutes}


def run_naive(fleet: Fleet, names: list[str]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for name in names:
        r = fleet.rows(fleet.names.index(name))
        ns = naive_series(fleet.starts[r], fleet.good[r], fleet.total[r], WINDOW_DAYS * 86400, TARGET)
        cols = {"sli": ns.sli.to_numpy(), "remaining_ratio": ns.remaining_ratio.to_numpy()}
        cols.update({f"burn_{k}": v.to_numpy() for k, v in ns.burn.items()})
        cols.update({k: v.to_numpy(dtype=bool) for k, v in ns.alerts.items()})
        cols["status"] = ns.status.to_numpy(dtype=object)
        kept[name] = cols
    return kept


def compare(a: dict[str, Any], b: dict[str, Any], b_offset: int) -> dict[str, Any]:
    """Max |a − b| per numeric column (NaN must match NaN) and mismatch counts for flags and status.

    Row k of `b` is compared with row `k + b_offset` of `a`.
    """
    out: dict[str, Any] = {
        "max_abs_diff": {},
        "nan_mismatches": 0,
        "flag_mismatches": 0,
        "status_mismatches": 0,
    }
    diffs: dict[str, float] = {c: 0.0 for c in COMPARED}
    for name, cols in b.items():
        ref = a[name]
        n = len(cols["sli"])
        for c in COMPARED:
            x, y = ref[c][b_offset : b_offset + n], cols[c]
            both = ~np.isnan(x) & ~np.isnan(y)
            out["nan_mismatches"] += int((np.isnan(x) != np.isnan(y)).sum())
            if both.any():
                diffs[c] = max(diffs[c], float(np.max(np.abs(x[both] - y[both]))))
        for c in FLAGS:
            out["flag_mismatches"] += int((ref[c][b_offset : b_offset + n] != cols[c]).sum())
        out["status_mismatches"] += int((ref["status"][b_offset : b_offset + n] != cols["status"]).sum())
    out["max_abs_diff"] = diffs
    out["max_abs_diff_overall"] = max(diffs.values())
    return out


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "pandas": pd.__version__,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(
        f"fleet: {args.slos} SLOs × {args.days} days of {BUCKET_SECONDS}-s buckets, rolling {WINDOW_DAYS}d, "
        f"Occurrences, target {TARGET}",
        flush=True,
    )
    ph = Phases()
    fleet = ph.run("generate", lambda: make_fleet(args.slos, args.days, args.seed))
    frame = ph.run("frame", fleet.frame)
    ce = ph.run("engine: group buckets", partial(CatalogEvaluator, fleet.catalog, frame))
    del frame
    at = fleet.start + fleet.minutes * BUCKET_SECONDS
    point = ph.run("(a) engine: evaluate(at)", lambda: ce.evaluate(at))
    subset = fleet.names[: args.naive_slos]
    keep = set(subset)
    engine_kept, engine_summary = ph.run("(b) engine: series", lambda: run_series(ce, fleet, keep))
    floor_kept, floor_summary = ph.run("(c) numpy floor", lambda: run_floor(fleet, keep))
    naive_kept = ph.run(f"(d) naive pandas ({len(subset)} SLOs)", lambda: run_naive(fleet, subset))
    process_peak = ph.memory.process_peak_mb()

    n, buckets = args.slos, fleet.buckets
    sec = {k: v["seconds"] for k, v in ph.results.items()}
    t_point, t_series = sec["(a) engine: evaluate(at)"], sec["(b) engine: series"]
    t_floor = sec["(c) numpy floor"]
    t_naive_subset = sec[f"(d) naive pandas ({len(subset)} SLOs)"]
    t_naive = t_naive_subset * n / len(subset)
    window_buckets = n * WINDOW_DAYS * 1440
    vs_floor = compare(engine_kept, floor_kept, 0)
    vs_naive = compare(engine_kept, naive_kept, 1)
    floor_vs_naive = compare(floor_kept, naive_kept, 1)
    ratio_floor, ratio_naive = t_series / t_floor, t_naive / t_series
    sli_point = [r.sli for r in point if r.sli is not None]
    result: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python -m benchmarks.run " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": machine(),
        "config": {
            "slos": n,
            "days": args.days,
            "buckets": buckets,
            "bucket_seconds": BUCKET_SECONDS,
            "window": f"{WINDOW_DAYS}d rolling",
            "budgeting_method": "Occurrences",
            "target": TARGET,
            "incidents": fleet.incidents,
            "naive_slos": len(subset),
            "seed": args.seed,
        },
        "phases": ph.results,
        "point": {
            "seconds": t_point,
            "window_buckets": window_buckets,
            "buckets_per_second": window_buckets / t_point,
            "results": len(point),
            "min_sli": min(sli_point) if sli_point else None,
        },
        "series": {"seconds": t_series, "buckets_per_second": buckets / t_series, **engine_summary},
        "floor": {"seconds": t_floor, "buckets_per_second": buckets / t_floor, **floor_summary},
        "naive": {
            "seconds_subset": t_naive_subset,
            "seconds_extrapolated": t_naive,
            "buckets_per_second": buckets / t_naive,
            "extrapolated_linearly_from_slos": len(subset),
        },
        "ratios": {"series_over_floor": ratio_floor, "naive_over_series": ratio_naive},
        "agreement": {
            "subset_slos": subset,
            "engine_vs_floor": vs_floor,
            "engine_vs_naive": vs_naive,
            "floor_vs_naive": floor_vs_naive,
        },
        "memory": {"process_peak_rss_mb": process_peak, "per_phase_peaks": ph.memory.per_phase_supported},
        "targets": {
            **TARGETS,
            "series_vs_floor_met": ratio_floor <= TARGETS["series_vs_floor_max"],
            "naive_vs_series_met": ratio_naive >= TARGETS["naive_vs_series_min"],
            "peak_memory_met": process_peak <= TARGETS["peak_memory_mb_max"],
        },
    }
    print()
    print(f"(a) point evaluation  {t_point:8.3f} s  {window_buckets / t_point:14,.0f} window buckets/s")
    print(f"(b) engine series     {t_series:8.2f} s  {buckets / t_series:14,.0f} buckets/s")
    print(f"(c) numpy floor       {t_floor:8.2f} s  {buckets / t_floor:14,.0f} buckets/s")
    print(
        f"(d) naive pandas      {t_naive:8.2f} s  {buckets / t_naive:14,.0f} buckets/s "
        f"(extrapolated from {len(subset)} SLOs: {t_naive_subset:.2f} s)"
    )
    print(f"(b)/(c) = {ratio_floor:.2f}× (target ≤ 2)   (d)/(b) = {ratio_naive:.1f}× (target ≥ 10)")
    print(f"peak RSS of the process {process_peak:,.0f} MB (target < 4096)")
    for label, cmp in (("engine vs floor", vs_floor), ("engine vs naive", vs_naive)):
        print(
            f"agreement {label} on {len(subset)} SLOs: max |Δ| {cmp['max_abs_diff_overall']:.3g} "
            f"(NaN mismatches {cmp['nan_mismatches']}, alert-flag mismatches {cmp['flag_mismatches']}, "
            f"status mismatches {cmp['status_mismatches']})"
        )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, default=float) + "\n")
    print(f"results written to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
