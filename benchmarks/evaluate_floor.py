"""The floor for `slo evaluate`: plain pandas + numpy computing the same numbers from the same file.

`python -m benchmarks.evaluate_floor FILE AT` reads the typed Parquet samples, groups them by SLO and,
for each rolling-30-day Occurrences SLO (the benchmark fleet), prints good, total, SLI, remaining budget
and the seven burn rates at AT as JSON. No validation and no catalog: the least any tool must do.
"""

import json
import sys

import numpy as np
import pandas as pd

LOOKBACKS = {"5m": 300, "30m": 1800, "1h": 3600, "2h": 7200, "6h": 21600, "1d": 86400, "3d": 259200}
WINDOW = 30 * 86400
TARGET = 0.999


def main(path: str, at: int) -> dict[str, dict[str, float | None]]:
    frame = pd.read_parquet(path)
    starts = frame["timestamp"].to_numpy()
    good = frame["good"].to_numpy()
    total = frame["total"].to_numpy()
    codes, names = pd.factorize(frame["slo"])
    order = np.argsort(codes, kind="stable")
    edges = np.searchsorted(codes[order], np.arange(len(names) + 1))
    out: dict[str, dict[str, float | None]] = {}
    for i, name in enumerate(names):
        rows = order[edges[i] : edges[i + 1]]
        s, g, t = starts[rows], good[rows], total[rows]
        in_window = (s >= at - WINDOW) & (s < at)
        g_w, t_w = int(g[in_window].sum()), int(t[in_window].sum())
        sli = g_w / t_w if t_w else None
        result: dict[str, float | None] = {
            "good": float(g_w),
            "total": float(t_w),
            "sli": sli,
            "remaining_ratio": 1 - (t_w - g_w) / ((1 - TARGET) * t_w) if t_w else None,
        }
        for label, seconds in LOOKBACKS.items():
            lb = (s >= at - seconds) & (s < at)
            t_l = int(t[lb].sum())
            result[f"burn_{label}"] = (t_l - int(g[lb].sum())) / t_l / (1 - TARGET) if t_l else None
        out[str(name)] = result
    return out


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], int(sys.argv[2]))))
