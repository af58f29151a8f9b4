"""Calibration of `slo canary` on simulated canaries: the false-fail rate when the canary equals the
baseline (it should be near alpha) and the power against a regression (a 2x error ratio; a latency
shift). The figures in docs/release-gating.md come from:

    .venv/bin/python -m benchmarks.canary_calibration            # 2000 repetitions per cell (≈1 min)
    .venv/bin/python -m benchmarks.canary_calibration --reps 200 # quick

Every repetition draws both arms afresh from a seeded generator and runs the same `analyse` the
command runs, so the rates are those of the shipped decision rule (alpha 0.05, one-sided).
"""

import argparse
from collections.abc import Iterator

import numpy as np

from slo_pipelines.catalog.models import SLO, Duration, Indicator, Objective, TimeWindow
from slo_pipelines.engine.release.canary import FAIL, CanarySample, analyse

RATIO_SLO = SLO(
    name="sim-availability",
    service="sim",
    description="",
    indicator=Indicator("sim", "ratio"),
    time_window=TimeWindow(Duration(30, "d"), True),
    budgeting_method="Occurrences",
    objectives=(Objective("availability", 0, 0.999),),
)
LATENCY_SLO = SLO(
    name="sim-latency",
    service="sim",
    description="",
    indicator=Indicator("sim", "threshold"),
    time_window=TimeWindow(Duration(30, "d"), True),
    budgeting_method="Timeslices",
    objectives=(Objective("p-under-300ms", 0, 0.99, op="lt", value=300.0),),
)
NO_LATENCY = np.empty(0)


def error_fail_rate(
    base_ratio: float, factor: float, n: int, reps: int, alpha: float = 0.05, seed: int = 7
) -> float:
    """Share of repetitions failing when the canary's error ratio is `factor` × the baseline's."""
    rng = np.random.default_rng(seed)
    fails = 0
    for _ in range(reps):
        b_bad = int(rng.binomial(n, base_ratio))
        c_bad = int(rng.binomial(n, min(1.0, base_ratio * factor)))
        report = analyse(
            RATIO_SLO,
            CanarySample(n - b_bad, n, NO_LATENCY),
            CanarySample(n - c_bad, n, NO_LATENCY),
            alpha,
            min_requests=1,
        )
        fails += report.verdict == FAIL
    return fails / reps


def latency_fail_rate(n: int, shift: float, reps: int, alpha: float = 0.05, seed: int = 11) -> float:
    """Share failing when canary latencies are baseline-distributed (lognormal, median 100 ms) × `shift`."""
    rng = np.random.default_rng(seed)
    fails = 0
    for _ in range(reps):
        base = rng.lognormal(np.log(100), 0.5, n)
        canary = rng.lognormal(np.log(100), 0.5, n) * shift
        report = analyse(
            LATENCY_SLO,
            CanarySample(None, None, base),
            CanarySample(None, None, canary),
            alpha,
            min_latency=3,
        )
        fails += report.verdict == FAIL
    return fails / reps


def rows(reps: int) -> Iterator[list[str]]:
    for n in (5_000, 20_000, 100_000):
        null = error_fail_rate(0.001, 1.0, n, reps)
        power = error_fail_rate(0.001, 2.0, n, reps)
        yield ["error ratio 0.1 %", f"{n:,} requests/arm", f"{null:.3f}", f"{power:.3f} (2x errors)"]
    for n in (50, 200, 1000):
        null = latency_fail_rate(n, 1.0, reps)
        power = latency_fail_rate(n, 1.1, reps)
        yield ["latency lognormal", f"{n:,} latencies/arm", f"{null:.3f}", f"{power:.3f} (+10 % latency)"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2000)
    args = parser.parse_args()
    print(f"{args.reps} repetitions per row, alpha 0.05, one-sided\n")
    print("| check | sample | false-fail rate (canary = baseline) | power |")
    print("|---|---|---|---|")
    for row in rows(args.reps):
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
