"""`slo evaluate` on typed Parquet against a plain pandas+numpy floor that reads the same file.

Run from the repository root: `.venv/bin/python -m benchmarks.evaluate_cli [--slos N] [--days D]`.
Writes a fleet (default 100 SLOs x 90 days of minute buckets = 12.96 M rows) as typed Parquet
(string `slo`, int64 `timestamp`, `good`, `total`) and its catalog, then times, in one run and each as
its own process (interpreter start, imports and reading the file included):

- `slo evaluate --catalog DIR --samples FILE --at AT --format json`, and
- the floor (`benchmarks/evaluate_floor.py`): read the file with pandas, group by SLO, and compute the
  30-day window's good, total, SLI, remaining budget and the seven burn rates with numpy.

Both outputs are compared number by number (max |delta|), so the two did the same work. Each command
runs `--repeat` times, alternating, and the best time of each is compared (other load on a shared
machine only ever adds time); the median is reported beside it.
"""

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks.synthetic import BUCKET_SECONDS, TARGET, WINDOW_DAYS, make_fleet
from slo_pipelines.engine.alerting.rules import LOOKBACKS

DEFAULT_DIR = Path(__file__).resolve().parent / "results" / "evaluate"

SLO_YAML = """\
---
apiVersion: openslo/v1
kind: Service
metadata: {{name: {service}}}
spec: {{description: benchmark service}}
---
apiVersion: openslo/v1
kind: SLO
metadata: {{name: {name}}}
spec:
  service: {service}
  indicator:
    metadata: {{name: {name}-sli}}
    spec:
      ratioMetric:
        counter: true
        good: {{metricSource: {{type: prometheus, spec: {{query: 'sum(ok_total)'}}}}}}
        total: {{metricSource: {{type: prometheus, spec: {{query: 'sum(all_total)'}}}}}}
  timeWindow: [{{duration: {window}d, isRolling: true}}]
  budgetingMethod: Occurrences
  objectives: [{{displayName: objective-0, target: {target}}}]
"""


def write_inputs(directory: Path, n_slos: int, days: int) -> tuple[Path, Path, int, int]:
    """(catalog dir, Parquet file, rows, evaluation instant = end of the last bucket)."""
    fleet = make_fleet(n_slos, days)
    catalog = directory / "catalog"
    catalog.mkdir(parents=True, exist_ok=True)
    text = "".join(
        SLO_YAML.format(name=name, service=name.rsplit("-", 1)[0], window=WINDOW_DAYS, target=TARGET)
        for name in fleet.names
    )
    (catalog / "fleet.yaml").write_text(text)
    codes = pa.array(np.repeat(np.arange(n_slos, dtype=np.int32), fleet.minutes))
    slo = pa.DictionaryArray.from_arrays(codes, pa.array(fleet.names)).cast(pa.string())
    table = pa.table(
        {
            "slo": slo,
            "timestamp": pa.array(fleet.starts, pa.int64()),
            "good": pa.array(fleet.good.astype(np.int64), pa.int64()),
            "total": pa.array(fleet.total.astype(np.int64), pa.int64()),
        }
    )
    samples = directory / "samples.parquet"
    pq.write_table(table, samples)
    at = int(fleet.starts[fleet.minutes - 1]) + BUCKET_SECONDS
    return catalog, samples, fleet.buckets, at


def timed(command: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    out = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({out.returncode}): {out.stderr.strip()[-500:]}")
    return seconds, out.stdout


def numbers(slo: dict[str, Any]) -> dict[str, float | None]:
    return {
        "good": slo["good"],
        "total": slo["total"],
        "sli": slo["sli"],
        "remaining_ratio": slo["error_budget"]["remaining_ratio"],
        **{f"burn_{k}": slo["burn_rates"][k] for k in LOOKBACKS},
    }


def max_delta(engine: dict[str, Any], floor: dict[str, Any]) -> float:
    worst = 0.0
    for name, expected in floor.items():
        got = engine[name]
        for key, value in expected.items():
            if value is None or got[key] is None:
                if value is not got[key]:
                    return float("inf")
                continue
            worst = max(worst, abs(float(got[key]) - float(value)) / max(1.0, abs(float(value))))
    return worst


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.evaluate_cli", description=__doc__.splitlines()[0])
    p.add_argument("--slos", type=int, default=100)
    p.add_argument("--days", type=int, default=90)
    p.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="where inputs and results are written")
    p.add_argument("--repeat", type=int, default=3, help="runs of each command (best and median reported)")
    args = p.parse_args(argv)
    args.dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    catalog, samples, rows, at = write_inputs(args.dir, args.slos, args.days)
    size_mb = samples.stat().st_size / 1e6
    print(f"wrote {rows:,} rows ({size_mb:.0f} MB) in {time.perf_counter() - started:.1f} s")
    python = sys.executable
    floor_cmd = [python, "-m", "benchmarks.evaluate_floor", str(samples), str(at)]
    evaluate = [python, "-m", "slo_pipelines.cli", "evaluate", "--catalog", str(catalog)]
    engine_cmd = [*evaluate, "--samples", str(samples), "--at", str(at), "--format", "json"]
    floor_runs, engine_runs = [], []
    for _ in range(max(1, args.repeat)):
        floor_s, floor_out = timed(floor_cmd)
        engine_s, engine_out = timed(engine_cmd)
        floor_runs.append(floor_s)
        engine_runs.append(engine_s)
    engine = {s["name"]: numbers(s) for s in json.loads(engine_out)["slos"]}
    floor = json.loads(floor_out)
    result = {
        "rows": rows,
        "slos": args.slos,
        "days": args.days,
        "slo_evaluate_seconds": round(min(engine_runs), 2),
        "floor_seconds": round(min(floor_runs), 2),
        "ratio": round(min(engine_runs) / min(floor_runs), 2),
        "slo_evaluate_median_seconds": round(statistics.median(engine_runs), 2),
        "floor_median_seconds": round(statistics.median(floor_runs), 2),
        "ratio_of_medians": round(statistics.median(engine_runs) / statistics.median(floor_runs), 2),
        "runs": {
            "slo_evaluate": [round(x, 2) for x in engine_runs],
            "floor": [round(x, 2) for x in floor_runs],
        },
        "max_relative_delta": max_delta(engine, floor),
    }
    (args.dir / "result.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
