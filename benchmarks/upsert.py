"""Warehouse write benchmark: `WarehouseResource.upsert_buckets` of one backfill window of minute buckets.

Run from the repository root:

    .venv/bin/python -m benchmarks.upsert                                   # SQLite only
    .venv/bin/python -m benchmarks.upsert --postgres postgresql://postgres@127.0.0.1:5432/postgres

One window is N SLOs × M minutes (default 100 × 10,080: the ≈1 M buckets a backfill writes per 7-day
window), built like the ingest asset's clean frame: `slo` as pandas' string dtype (or `--slo-dtype
category`, the synthetic fleet's), `start` int64, `good`/`total`/`value` float64 (`value` NaN except
every 7th row), `bucket_seconds` int64. Timed, best of `--repeat`:

- **prepare**: the Python-side conversion alone (the database call replaced by a no-op);
- **fresh**: the upsert into an empty table (a new SQLite file / a new PostgreSQL database);
- **again**: the same rows upserted once more (every row an update).

Every stored row is read back and compared with the frame, bit for bit. With `--postgres` (an admin
URL), a throw-away database is created beside it and dropped afterwards.
"""

import argparse
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from slo_pipelines.resources import warehouse
from slo_pipelines.resources.warehouse import WarehouseResource

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z


def make_frame(n_slos: int, minutes: int, slo_dtype: str, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = n_slos * minutes
    names = np.array([f"svc-{i // 4:03d}-slo-{i:03d}" for i in range(n_slos)], dtype=object)
    total = rng.poisson(500, rows).astype(np.float64)
    good = total - rng.binomial(total.astype(np.int64), 1e-3)
    value = np.full(rows, np.nan)
    value[::7] = rng.random(len(value[::7]))
    slo: Any = np.repeat(names, minutes)
    return pd.DataFrame(
        {
            "slo": pd.Series(slo, dtype=slo_dtype),
            "start": np.tile(T0 + 60 * np.arange(minutes, dtype=np.int64), n_slos),
            "good": good,
            "total": total,
            "value": value,
            "bucket_seconds": np.full(rows, 60, dtype=np.int64),
        }
    )


def best(repeat: int, run: Callable[[], Any], setup: Callable[[], Any] = lambda: None) -> float:
    times = []
    for _ in range(repeat):
        setup()
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return min(times)


@contextmanager
def no_database() -> Iterator[None]:
    original = warehouse.bulk_upsert
    warehouse.bulk_upsert = lambda *args, **kwargs: None  # type: ignore[assignment]
    try:
        yield
    finally:
        warehouse.bulk_upsert = original


def check_stored(wh: WarehouseResource, df: pd.DataFrame) -> None:
    stored = wh.read_buckets(0, 2**40)
    expected = df.sort_values(["slo", "start"], kind="stable").reset_index(drop=True)
    for name in ["start", "bucket_seconds", "good", "total", "value"]:
        got, want = stored[name].to_numpy(), expected[name].to_numpy()
        if got.dtype.kind == "f":
            same = np.array_equal(got.view(np.int64), want.astype(np.float64).view(np.int64))
        else:
            same = np.array_equal(got, want)
        if not same:
            raise AssertionError(f"stored {name} differs from the frame")
    if stored["slo"].tolist() != expected["slo"].astype(str).tolist():
        raise AssertionError("stored slo differs from the frame")


def fresh_url(kind: str, admin_url: str | None, tmp: Path) -> tuple[str, Callable[[], None]]:
    if kind == "sqlite":
        path = tmp / f"{uuid.uuid4().hex}.db"
        return f"sqlite:///{path}", lambda: None
    assert admin_url is not None
    parsed = sa.make_url(admin_url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg2")
    admin = sa.create_engine(parsed, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    name = f"slo_bench_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")

    def drop() -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    return parsed.set(database=name).render_as_string(hide_password=False), drop


def measure(kind: str, df: pd.DataFrame, repeat: int, admin_url: str | None, tmp: Path) -> dict[str, float]:
    out: dict[str, float] = {}
    state: dict[str, Any] = {}

    def setup() -> None:
        if "drop" in state:
            state["wh"].dispose()
            state.pop("drop")()
        url, drop = fresh_url(kind, admin_url, tmp)
        state.update(wh=WarehouseResource(url=url), drop=drop)
        state["wh"].ensure_schema()

    try:
        out["fresh"] = best(repeat, lambda: state["wh"].upsert_buckets(df, source="bench"), setup)
        out["again"] = best(repeat, lambda: state["wh"].upsert_buckets(df, source="bench"))
        check_stored(state["wh"], df)
    finally:
        if "drop" in state:
            state["wh"].dispose()
            state.pop("drop")()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--slos", type=int, default=100)
    parser.add_argument("--minutes", type=int, default=7 * 1440)
    parser.add_argument("--slo-dtype", default="str", choices=["str", "object", "category"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--postgres", help="admin URL of a PostgreSQL server (a database is made and dropped)"
    )
    args = parser.parse_args()

    df = make_frame(args.slos, args.minutes, args.slo_dtype, args.seed)
    print(f"{len(df):,} buckets ({args.slos} SLOs × {args.minutes} minutes), slo dtype {df['slo'].dtype}")
    with tempfile.TemporaryDirectory() as tmp, no_database():
        wh = WarehouseResource(url=f"sqlite:///{Path(tmp) / 'prepare.db'}")
        prepare = best(args.repeat, lambda: wh.upsert_buckets(df, source="bench"))
        wh.dispose()
    print(f"{'prepare (no database)':<28}{prepare:8.3f} s")
    kinds = ["sqlite"] + (["postgresql"] if args.postgres else [])
    for kind in kinds:
        with tempfile.TemporaryDirectory() as tmp:
            times = measure(kind, df, args.repeat, args.postgres, Path(tmp))
        for phase, seconds in times.items():
            rate = len(df) / seconds / 1e6
            print(f"{kind + ' ' + phase:<28}{seconds:8.3f} s  {rate:6.2f} M rows/s")


if __name__ == "__main__":
    main()
