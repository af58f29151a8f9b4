"""Windowed reads: the same buckets as one read per window, each stored bucket fetched once, on both
warehouse databases; and the bucket listing seeks the (slo, start) key instead of scanning it."""

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from slo_pipelines.resources.sliding_buckets import SlidingBuckets
from slo_pipelines.resources.warehouse import WarehouseResource

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
DAY = 86400


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def wh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WarehouseResource]:
    url = f"sqlite:///{tmp_path / 'w.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    resource = WarehouseResource(url=url)
    rng = np.random.default_rng(7)
    frames = []
    for name in ["web", "api", "zeta", "Édition"]:
        # hourly buckets over 20 days with random holes, some values NULL
        starts = T0 + 3600 * np.sort(rng.choice(20 * 24, 300, replace=False))
        frames.append(
            pd.DataFrame(
                {
                    "slo": name,
                    "start": starts,
                    "bucket_seconds": 3600,
                    "good": rng.integers(0, 50, len(starts)).astype(float),
                    "total": 50.0,
                    "value": np.where(rng.random(len(starts)) < 0.5, rng.random(len(starts)), np.nan),
                }
            )
        )
    resource.upsert_buckets(pd.concat(frames, ignore_index=True), source="test")
    yield resource
    resource.dispose()


class Counting:
    """Wraps a warehouse and counts the bucket rows its reads return."""

    def __init__(self, wh: WarehouseResource) -> None:
        self.wh, self.rows = wh, 0

    def read_bucket_parts(
        self, start: int, end: int, slos: Sequence[str] | None = None
    ) -> list[tuple[str, dict[str, np.ndarray]]]:
        out = self.wh.read_bucket_parts(start, end, slos)
        self.rows += sum(len(columns["start"]) for _, columns in out)
        return out


@pytest.mark.parametrize("slos", [None, ["zeta", "api"]])
def test_consecutive_windows_equal_direct_reads_and_read_each_bucket_once(
    wh: WarehouseResource, slos: list[str] | None
) -> None:
    counting = Counting(wh)
    sliding = SlidingBuckets(counting)  # type: ignore[arg-type]
    lookback = 5 * DAY
    for lo in range(T0 + 2 * DAY, T0 + 20 * DAY, 3 * DAY):  # 3-day windows, each with 5 days before it
        got = sliding.read(lo - lookback, lo + 3 * DAY, slos)
        pd.testing.assert_frame_equal(
            got, wh.read_buckets(lo - lookback, lo + 3 * DAY, slos), check_exact=True
        )
    everything = wh.read_buckets(T0 - 3 * DAY, T0 + 21 * DAY, slos)
    assert counting.rows == len(everything) > 0  # nothing fetched twice, nothing missed


def test_a_range_that_does_not_follow_on_is_read_afresh(wh: WarehouseResource) -> None:
    sliding = SlidingBuckets(wh)
    sliding.read(T0 + 10 * DAY, T0 + 12 * DAY)
    for start, end in [
        (T0, T0 + 5 * DAY),
        (T0 + 11 * DAY, T0 + 11 * DAY + 3600),
        (T0 + 13 * DAY, T0 + 20 * DAY),
    ]:
        pd.testing.assert_frame_equal(sliding.read(start, end), wh.read_buckets(start, end), check_exact=True)


def test_stored_slos_and_first_buckets(wh: WarehouseResource) -> None:
    frame = wh.read_buckets(0, 2**40)
    assert wh.stored_slos() == sorted(frame["slo"].unique()) == ["api", "web", "zeta", "Édition"]
    assert wh.first_bucket_starts() == {
        str(k): int(v) for k, v in frame.groupby("slo")["start"].min().items()
    }
    assert wh.read_buckets(T0, T0 + 30 * DAY, ["nobody"]).empty


def test_a_time_range_is_read_through_the_key_not_a_table_scan(tmp_path: Path) -> None:
    import sqlalchemy as sa

    wh = WarehouseResource(url=f"sqlite:///{tmp_path / 'plan.db'}")
    wh.upsert_buckets(pd.DataFrame({"slo": ["a", "b"], "start": [T0, T0], "good": 1.0, "total": 1.0}), "t")
    engine = wh.get_engine()
    engine.dispose()  # new connections, traced from their first statement
    statements: list[str] = []
    sa.event.listen(engine, "connect", lambda dbapi, _: dbapi.set_trace_callback(statements.append))
    try:
        wh.read_buckets(T0, T0 + DAY)
        wh.first_bucket_starts()
        reads = [s for s in statements if "FROM buckets" in s and not s.startswith("EXPLAIN")]
        with engine.connect() as conn:
            plans = [str(r[-1]) for s in reads for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {s}")]
    finally:
        wh.dispose()
    assert len(reads) >= 3 and plans  # one per SLO, and the listing
    assert not [p for p in plans if p.startswith("SCAN buckets")], plans


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_read_buckets_equals_a_plain_query_whatever_columns_vary(
    tmp_path: Path, request: pytest.FixtureRequest, database: str
) -> None:
    """Which columns are fetched depends on each SLO's data (values present, bucket sizes mixed):
    every combination must read back exactly what a plain query of every column returns."""
    import sqlalchemy as sa

    from slo_pipelines.resources import warehouse_schema as schema

    url = f"sqlite:///{tmp_path / 'cols.db'}" if database == "sqlite" else request.getfixturevalue("pg_url")
    rng = np.random.default_rng(11)
    frames = []
    shapes = [(v, b) for v in ("none", "some", "all") for b in ("one", "mixed")]
    for i, (values, sizes) in enumerate(shapes):
        starts = T0 + 60 * np.sort(rng.choice(3000, 200, replace=False))
        value = {
            "none": np.full(200, np.nan),
            "some": np.where(rng.random(200) < 0.5, rng.random(200), np.nan),
        }
        frames.append(
            pd.DataFrame(
                {
                    "slo": f"slo-{i}",
                    "start": starts,
                    "bucket_seconds": 60 if sizes == "one" else rng.choice([60, 300], 200),
                    "good": rng.random(200) * 1e3,
                    "total": 1e3,
                    "value": value.get(values, rng.normal(size=200)),
                }
            )
        )
    wh = WarehouseResource(url=url)
    t = schema.buckets
    names = ["slo", "start", "bucket_seconds", "good", "total", "value"]
    try:
        wh.upsert_buckets(pd.concat(frames, ignore_index=True), source="t")
        for lo, hi in [(T0, T0 + 3000 * 60), (T0 + 777 * 60, T0 + 1500 * 60), (T0 - 60, T0)]:
            with wh.get_engine().connect() as conn:
                query = sa.select(*(t.c[n] for n in names)).where(t.c.start >= lo, t.c.start < hi)
                rows = conn.execute(query.order_by(t.c.slo, t.c.start)).all()
            plain = pd.DataFrame([tuple(r) for r in rows], columns=names)
            got = wh.read_buckets(lo, hi)
            assert len(got) == len(plain) and got["slo"].tolist() == plain["slo"].tolist()
            for column in names[1:]:
                np.testing.assert_array_equal(
                    got[column].to_numpy(dtype=float), plain[column].astype(float).to_numpy()
                )
    finally:
        wh.dispose()


def test_grouped_reads_equal_the_frame_grouped_by_the_engine(wh: WarehouseResource) -> None:
    from slo_pipelines.engine.budgets.buckets import group_buckets

    sliding = SlidingBuckets(wh)
    for lo in (T0 + 2 * DAY, T0 + 5 * DAY, T0 + 8 * DAY):
        grouped = sliding.read_grouped(lo - 4 * DAY, lo + 3 * DAY)
        expected = group_buckets(wh.read_buckets(lo - 4 * DAY, lo + 3 * DAY), {})
        assert grouped.keys() == expected.keys() and grouped
        for name, rows in expected.items():
            got = grouped[name]
            assert got.bucket_seconds == rows.bucket_seconds
            for field in ("starts", "good", "total", "value"):
                np.testing.assert_array_equal(getattr(got, field), getattr(rows, field))
                assert getattr(got, field).flags.c_contiguous
