"""The warehouse resource behaves the same on SQLite and PostgreSQL: idempotent, NULL-faithful, auditable."""

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from slo_pipelines.resources import warehouse_schema as schema
from slo_pipelines.resources.warehouse import WarehouseInputError, WarehouseResource
from slo_pipelines.resources.warehouse_frames import column_array, column_values

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def warehouse_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'nested' / 'warehouse.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def wh(warehouse_url: str) -> Iterator[WarehouseResource]:
    resource = WarehouseResource(url=warehouse_url)
    yield resource
    resource.dispose()


def scalar(wh: WarehouseResource, query: sa.Select[Any]) -> int:
    with wh.get_engine().connect() as conn:
        return int(conn.execute(query).scalar_one())


def minutes(slo: str, count: int, good: float = 99.0, total: float = 100.0, offset: int = 0) -> pd.DataFrame:
    starts = T0 + 60 * (np.arange(count, dtype=np.int64) + offset)
    return pd.DataFrame({"slo": slo, "start": starts, "good": good, "total": total})


# ---- buckets ---------------------------------------------------------------------------------------


def test_upsert_buckets_twice_keeps_one_row_per_key_and_updated_values_win(wh: WarehouseResource) -> None:
    first = pd.concat([minutes("api", 5), minutes("web", 5)], ignore_index=True)
    assert wh.upsert_buckets(first, source="prom") == 10
    assert wh.upsert_buckets(first, source="prom") == 10
    assert scalar(wh, sa.select(sa.func.count()).select_from(schema.buckets)) == 10

    changed = minutes("api", 2, good=10.0, total=20.0, offset=3).assign(bucket_seconds=60, value=0.25)
    wh.upsert_buckets(changed, source="backfill")

    read = wh.read_buckets(T0, T0 + 3600)
    assert len(read) == 10
    api = read[read.slo == "api"].set_index("start")
    assert api.loc[T0 + 180, "good"] == 10.0 and api.loc[T0 + 240, "total"] == 20.0
    assert api.loc[T0 + 180, "value"] == 0.25
    assert api.loc[T0, "good"] == 99.0 and np.isnan(api["value"].loc[T0])
    sources = sa.select(schema.buckets.c.source).where(schema.buckets.c.start == T0 + 180)
    with wh.get_engine().connect() as conn:
        assert sorted(conn.execute(sources).scalars()) == ["backfill", "prom"]


def test_last_row_of_a_duplicated_key_wins_within_one_write(wh: WarehouseResource) -> None:
    df = pd.DataFrame(
        {"slo": ["api", "api", "api"], "start": [T0, T0, T0 + 60], "good": [1.0, 2.0, 3.0], "total": 5}
    )
    assert wh.upsert_buckets(df, source="s") == 2
    assert wh.read_buckets(T0, T0 + 120)["good"].tolist() == [2.0, 3.0]


def test_read_buckets_is_half_open_filtered_and_sorted(wh: WarehouseResource) -> None:
    df = pd.concat([minutes("web", 10), minutes("api", 10), minutes("db", 10)], ignore_index=True)
    wh.upsert_buckets(df.sample(frac=1.0, random_state=7), source="s")

    window = wh.read_buckets(T0 + 120, T0 + 300, slos=["web", "api"])
    assert list(window.columns) == ["slo", "start", "bucket_seconds", "good", "total", "value"]
    assert window["slo"].tolist() == ["api"] * 3 + ["web"] * 3
    assert window["start"].tolist() == [T0 + 120, T0 + 180, T0 + 240] * 2
    assert window["bucket_seconds"].tolist() == [60] * 6
    assert window["start"].dtype == np.int64 and window["good"].dtype == np.float64

    assert len(wh.read_buckets(T0, T0 + 3600)) == 30
    empty = wh.read_buckets(T0, T0 + 3600, slos=[])
    assert empty.empty and empty["start"].dtype == np.int64 and empty["value"].dtype == np.float64
    assert wh.read_buckets(T0 + 600, T0 + 3600).empty


def test_nan_is_stored_as_null_and_datetimes_as_epoch_seconds(wh: WarehouseResource) -> None:
    df = pd.DataFrame(
        {
            "slo": ["lat", "lat"],
            "start": pd.to_datetime([T0, T0 + 300], unit="s", utc=True),
            "good": [1.0, 2.0],
            "total": [1.0, 2.0],
            "bucket_seconds": [300, np.nan],
            "value": [np.nan, 0.42],
        }
    )
    wh.upsert_buckets(df, source="s")
    read = wh.read_buckets(T0, T0 + 600)
    assert read["start"].tolist() == [T0, T0 + 300]
    assert read["bucket_seconds"].tolist() == [300, 60]
    null_values = (
        sa.select(sa.func.count()).select_from(schema.buckets).where(schema.buckets.c.value.is_(None))
    )
    assert scalar(wh, null_values) == 1


@pytest.mark.parametrize(
    ("df", "message"),
    [
        (pd.DataFrame({"slo": ["a"], "start": [T0], "good": [1.0]}), "buckets: missing column 'total'"),
        (
            pd.DataFrame({"slo": ["a"], "start": [T0 + 0.5], "good": [1], "total": [1]}),
            "buckets.start: row 0",
        ),
        (pd.DataFrame({"slo": ["a"], "start": [T0], "good": ["x"], "total": [1]}), "buckets.good: row 0"),
        (pd.DataFrame({"slo": [None], "start": [T0], "good": [1], "total": [1]}), "buckets.slo: row 0"),
        (
            pd.DataFrame(
                {"slo": pd.Series(["a", None], dtype="str"), "start": [T0, T0], "good": 1, "total": 1}
            ),
            r"^buckets\.slo: row 1: must not be empty \(got nan\)$",
        ),
        (
            pd.DataFrame({"slo": pd.Categorical(["a", None]), "start": [T0, T0], "good": 1, "total": 1}),
            r"^buckets\.slo: row 1: must not be empty \(got nan\)$",
        ),
        (
            pd.DataFrame({"slo": ["a", "b"], "start": [T0, T0], "good": [1.0, np.nan], "total": 1}),
            r"^buckets\.good: row 1: must not be empty \(got np\.float64\(nan\)\)$",
        ),
        (
            pd.DataFrame({"slo": ["a", "b"], "start": [T0, T0], "good": [True, False], "total": 1}),
            r"^buckets\.good: must be numeric \(got booleans\)$",
        ),
        (
            pd.DataFrame({"slo": ["a", "a", "b"], "start": [T0, T0, "x"], "good": [1, 2, 3], "total": 1}),
            r"^buckets\.start: row 1: must be a number \(got 'x'\)$",  # the row after de-duplication
        ),
    ],
)
def test_bad_bucket_frames_are_refused_with_table_column_and_row(
    wh: WarehouseResource, df: pd.DataFrame, message: str
) -> None:
    with pytest.raises(WarehouseInputError, match=message):
        wh.upsert_buckets(df, source="s")
    assert wh.read_buckets(0, 2**40).empty


def random_doubles(count: int, seed: int) -> np.ndarray:
    """Finite doubles of every exponent (uniform bit patterns), with the awkward ones up front."""
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2**64, count, dtype=np.uint64)
    values = bits.view(np.float64).copy()
    values[~np.isfinite(values)] = 0.5
    awkward = [0.1, 1 / 3, 5e-324, 2.2250738585072014e-308, 1e300, -1e-300, 2.0**53 + 2, 1e16, 1e22, np.inf]
    values[: len(awkward)] = awkward
    return values


def same_doubles(got: np.ndarray, want: np.ndarray) -> bool:
    """Bit for bit (NaN included), except that a zero's sign may be lost (SQLite stores -0.0 as 0)."""
    zeros = (got == 0) & (want == 0)
    return bool(np.array_equal(got[~zeros].view(np.int64), want[~zeros].view(np.int64)))


def test_bucket_values_round_trip_bit_for_bit_with_awkward_names(wh: WarehouseResource) -> None:
    count = 2000
    names = np.array(
        ["", "api", 'say "hi", twice', "line\nbreak\r", "\\.", "café ☕", "back\\slash"], dtype=object
    )
    slo = names[np.arange(count) % len(names)]
    value = random_doubles(count, 3)
    value[::5] = np.nan
    df = pd.DataFrame(
        {
            "slo": pd.Series(slo, dtype="str"),
            "start": T0 + 60 * np.arange(count, dtype=np.int64),
            "good": random_doubles(count, 1),
            "total": -random_doubles(count, 2),
            "value": value,
        }
    )
    assert wh.upsert_buckets(df, source="s") == count
    assert wh.upsert_buckets(df, source="s") == count  # every row an update: same values again

    read = wh.read_buckets(0, 2**40)
    want = df.sort_values(["slo", "start"]).reset_index(drop=True)
    assert read["slo"].tolist() == want["slo"].tolist()
    assert read["start"].tolist() == want["start"].tolist() and set(read["bucket_seconds"]) == {60}
    for name in ["good", "total", "value"]:
        assert same_doubles(read[name].to_numpy(), want[name].to_numpy()), name
    null_values = (
        sa.select(sa.func.count()).select_from(schema.buckets).where(schema.buckets.c.value.is_(None))
    )
    assert scalar(wh, null_values) == count // 5
    empty_name = sa.select(sa.func.count()).select_from(schema.buckets).where(schema.buckets.c.slo == "")
    assert scalar(wh, empty_name) == count // len(names) + 1  # '' is a name, not NULL


def test_bucket_frames_of_every_column_type_store_the_same_rows(wh: WarehouseResource) -> None:
    names = np.array(["api", "web", "db"], dtype=object)
    slo = np.repeat(names, 4)
    starts = np.tile(T0 + 60 * np.arange(4, dtype=np.int64), 3)
    good = np.arange(12, dtype=np.float64) * 1.5  # exact in float32 too
    reference = pd.DataFrame({"slo": slo, "start": starts, "good": good, "total": 100.0})
    variants = {
        "object": reference,
        "str": reference.astype({"slo": "str"}),
        "category": reference.astype({"slo": "category"}),
        "nullable numbers": reference.astype({"start": "Int64", "good": "Float64", "total": "Int64"}),
        "unsigned and float32": reference.astype({"start": np.uint64, "good": np.float32}),
        "whole floats": reference.astype({"start": np.float64}),
        "object numbers": reference.astype({"start": object, "good": object}),
        "datetimes": reference.assign(
            start=pd.to_datetime(starts, unit="s", utc=True).tz_convert("Asia/Tokyo")
        ),
        "naive datetimes": reference.assign(start=pd.to_datetime(starts, unit="s")),
    }
    expected = None
    for label, df in variants.items():
        assert wh.upsert_buckets(df.assign(value=np.nan), source=label) == 12, label
        read = wh.read_buckets(0, 2**40)
        if expected is None:
            expected = read
        pd.testing.assert_frame_equal(read, expected, check_exact=True, obj=label)
    assert expected is not None
    want = reference.sort_values(["slo", "start"])
    assert expected["slo"].tolist() == want["slo"].tolist()
    assert expected["start"].tolist() == want["start"].tolist()
    assert expected["good"].tolist() == want["good"].tolist()

    other_types = pd.DataFrame(
        {"slo": [1, 1.0, True, np.int64(7)], "start": T0 + 60 * np.arange(4), "good": 1.0}
    )
    wh.upsert_buckets(other_types.assign(total=1.0), source="s")  # a text column stores str(value)
    assert set(wh.read_buckets(T0, T0 + 240)["slo"]) >= {"1", "1.0", "True", "7"}
    categorical = other_types.assign(slo=pd.Categorical([3, 3, 4, 4]), total=1.0)
    wh.upsert_buckets(categorical, source="s")
    assert {"3", "4"} <= set(wh.stored_slos())


def test_duplicate_keys_in_any_order_leave_the_last_row_of_each(wh: WarehouseResource) -> None:
    rng = np.random.default_rng(11)
    count = 3000
    df = pd.DataFrame(
        {
            "slo": pd.Series(rng.choice(["api", "web", "db"], count), dtype="str"),
            "start": T0 + 60 * rng.integers(0, 400, count),
            "good": np.arange(count, dtype=np.float64),
            "total": 1e6,
        }
    )
    last = df.drop_duplicates(["slo", "start"], keep="last").sort_values(["slo", "start"])
    assert wh.upsert_buckets(df, source="s") == len(last) < count
    assert wh.read_buckets(0, 2**40)["good"].tolist() == last["good"].tolist()

    # grouped by SLO and time-ordered within each group, but one start repeats: still the last wins
    grouped = pd.DataFrame(
        {"slo": ["web", "web", "web", "api", "api"], "start": [T0, T0 + 60, T0 + 60, T0, T0 + 60]}
    ).assign(good=[1.0, 2.0, 3.0, 4.0, 5.0], total=9.0)
    assert wh.upsert_buckets(grouped, source="s") == 4
    web = wh.read_buckets(T0, T0 + 120, slos=["web"])
    assert web["good"].tolist() == [1.0, 3.0]


def test_columns_for_bulk_writes_and_for_binding() -> None:
    df = pd.DataFrame(
        {
            "i": np.array([1, 2], dtype=np.int64),
            "f": [0.5, np.nan],
            "s": pd.Series(["a", None], dtype="str"),
            "n": [1.0, np.nan],
        }
    )
    ints = column_array(df, "t", "i", "int")
    assert isinstance(ints, np.ndarray) and ints.dtype == np.int64
    floats = column_array(df, "t", "f", "float", nullable=True)
    assert isinstance(floats, np.ndarray) and floats.dtype == np.float64 and np.isnan(floats[1])
    assert column_array(df, "t", "n", "int", nullable=True).tolist() == [1, None]  # type: ignore[union-attr]
    assert column_array(df, "t", "n", "int", default=60).tolist() == [1, 60]  # type: ignore[union-attr]
    assert column_array(df, "t", "x", "float", required=False, default=None) == [None, None]

    # the driver binds plain Python values: quarantine keys are JSON of them
    for name, kind, want in [("i", "int", [1, 2]), ("f", "float", [0.5, None]), ("s", "text", ["a", None])]:
        got = column_values(df, "t", name, kind, nullable=True)  # type: ignore[arg-type]
        assert got == want and [type(v) for v in got] == [type(v) for v in want], name
    assert [type(v) for v in column_values(df, "t", "n", "int", nullable=True)] == [int, type(None)]


# ---- rollups ---------------------------------------------------------------------------------------


def test_rollups_are_kept_per_grain_and_upserted(wh: WarehouseResource) -> None:
    hours = pd.DataFrame(
        {"slo": "api", "start": [T0, T0 + 3600], "good": [3590.0, 3600.0], "total": 3600.0, "rows": 60}
    )
    day = pd.DataFrame(
        {
            "slo": ["api"],
            "start": [T0],
            "good": [86000.0],
            "total": [86400.0],
            "rows": [1440],
            "excluded_buckets": [5],
        }
    )
    assert wh.upsert_rollups("hour", hours) == 2
    assert wh.upsert_rollups("day", day) == 1
    assert wh.upsert_rollups("hour", hours.assign(good=[1.0, 2.0])) == 2

    read = wh.read_rollups("hour", T0, T0 + 86400)
    assert read["good"].tolist() == [1.0, 2.0] and read["excluded_buckets"].tolist() == [0, 0]
    assert read["rows"].tolist() == [60, 60]
    daily = wh.read_rollups("day", T0, T0 + 86400, slos=["api"])
    assert daily[["good", "rows", "excluded_buckets"]].values.tolist() == [[86000.0, 1440, 5]]
    assert wh.read_rollups("day", T0, T0 + 86400, slos=["web"]).empty
    assert wh.read_rollups("hour", T0 + 1, T0 + 3601)["start"].tolist() == [T0 + 3600]
    with pytest.raises(WarehouseInputError, match=r"rollups\.grain: must be one of hour, day"):
        wh.upsert_rollups("week", hours)


# ---- quarantine ------------------------------------------------------------------------------------


def test_quarantine_keeps_rejected_rows_once(wh: WarehouseResource) -> None:
    rejected = pd.DataFrame(
        {
            "source": ["samples.csv", "samples.csv", "prom"],
            "row_number": [3, 7, np.nan],
            "slo": ["api", "api", None],
            "start": [T0, "yesterday", np.nan],
            "good": [5.0, 1.0, np.nan],
            "total": [4.0, 1.0, 1.0],
            "reason": ["good > total", "start: not a timestamp", "slo missing"],
        }
    )
    assert wh.quarantine_rows(rejected) == 3
    assert wh.quarantine_rows(rejected) == 0
    assert wh.quarantine_rows(rejected.iloc[:1].assign(reason="duplicate bucket")) == 1

    stored = wh.read_quarantine()
    assert len(stored) == 4 and stored["row_key"].is_unique
    csv_rows = wh.read_quarantine(source="samples.csv")
    assert len(csv_rows) == 3
    first = csv_rows.iloc[0]
    assert first["row_number"] == 3 and first["start"] == T0 and first["reason"] == "good > total"
    assert first["raw"] == {"slo": "api", "start": T0, "good": 5.0, "total": 4.0}
    assert pd.isna(csv_rows.iloc[1]["start"])  # unusable start kept only in raw
    assert csv_rows.iloc[1]["raw"]["start"] == "yesterday"
    prom = wh.read_quarantine(source="prom").iloc[0]
    assert pd.isna(prom["row_number"]) and prom["raw"]["good"] is None
    assert str(stored["quarantined_at"].dt.tz) == "UTC"


def test_quarantine_with_custom_column_names_and_missing_reason(wh: WarehouseResource) -> None:
    df = pd.DataFrame({"file": ["a.jsonl"], "why": ["bad json"], "line": ['{"x": ']})
    assert wh.quarantine_rows(df, reason_column="why", source_column="file") == 1
    assert wh.read_quarantine("a.jsonl")["raw"].tolist() == [{"line": '{"x": '}]
    with pytest.raises(WarehouseInputError, match="quarantine: missing column 'reason'"):
        wh.quarantine_rows(df.rename(columns={"file": "source"}))


# ---- exclusion audit log ---------------------------------------------------------------------------


def test_exclusion_events_are_append_only(wh: WarehouseResource) -> None:
    payload = {"scope": {"service": "checkout"}, "start": T0, "end": T0 + 7200, "approvedBy": "change-board"}
    first = wh.append_exclusion_event("db-upgrade", "add", payload, recorded_by="alice")
    second = wh.append_exclusion_event("db-upgrade", "revoke", {"why": "cancelled"}, recorded_by="bob")
    assert second > first

    events = wh.read_exclusion_events()
    assert [(e["id"], e["action"], e["recorded_by"]) for e in events] == [
        (first, "add", "alice"),
        (second, "revoke", "bob"),
    ]
    assert events[0]["payload"] == payload
    assert events[0]["recorded_at"].tzinfo is not None

    t = schema.exclusions
    for statement in (t.update().values(action="add").where(t.c.id == second), t.delete()):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), wh.get_engine().begin() as conn:
            conn.execute(statement)
    assert wh.read_exclusion_events() == events
    assert not [
        name
        for name in dir(WarehouseResource)
        if "exclusion" in name and not name.startswith(("append_", "read_"))
    ]

    with pytest.raises(WarehouseInputError, match=r"exclusions\.action: must be one of add, revoke"):
        wh.append_exclusion_event("db-upgrade", "delete", {}, recorded_by="eve")


# ---- budget snapshots ------------------------------------------------------------------------------


def snapshot(**overrides: object) -> dict[str, object]:
    row: dict[str, object] = {
        "slo": "api",
        "objective": "availability",
        "at": T0 + 86400,
        "window_start": T0 - 29 * 86400,
        "window_end": T0 + 86400,
        "good": 999_000.0,
        "total": 1_000_000.0,
        "sli": 0.999,
        "allowed_bad": 1000.0,
        "consumed_bad": 1000.0,
        "remaining_ratio": 0.0,
        "excluded_seconds": 7200,
        "coverage": 0.98,
        "status": "warning",
        "burn_rates": {"5m": 1.5, "1h": None},
        "alerts": [{"severity": "ticket", "long_window": "1d", "short_window": "2h", "threshold": 3.0}],
        "digest": "sha256:abc",
    }
    row.update(overrides)
    return row


def test_budget_snapshots_round_trip_with_nulls_and_upsert(wh: WarehouseResource) -> None:
    no_data = snapshot(
        slo="batch",
        objective=0,
        good=0.0,
        total=0.0,
        sli=np.nan,
        remaining_ratio=None,
        coverage=np.nan,
        status="no_data",
        burn_rates='{"5m": null}',
        alerts=[],
        digest=None,
    )
    assert wh.upsert_budget_snapshots(pd.DataFrame([snapshot(), no_data])) == 2

    read = wh.read_budget_snapshots()
    assert read["slo"].tolist() == ["api", "batch"]
    api, batch = read.iloc[0], read.iloc[1]
    assert api["sli"] == 0.999 and api["burn_rates"] == {"5m": 1.5, "1h": None}
    assert api["alerts"][0]["threshold"] == 3.0 and api["excluded_seconds"] == 7200.0
    assert batch["objective"] == "0"
    assert math.isnan(batch["sli"]) and math.isnan(batch["remaining_ratio"]) and math.isnan(batch["coverage"])
    assert batch["burn_rates"] == {"5m": None} and batch["alerts"] == [] and pd.isna(batch["digest"])
    nulls = sa.select(sa.func.count()).select_from(schema.budget_snapshots)
    assert scalar(wh, nulls.where(schema.budget_snapshots.c.sli.is_(None))) == 1
    assert scalar(wh, nulls.where(schema.budget_snapshots.c.digest.is_(None))) == 1

    wh.upsert_budget_snapshots(pd.DataFrame([snapshot(status="breach", remaining_ratio=-0.5)]))
    wh.upsert_budget_snapshots(pd.DataFrame([snapshot(at=T0 + 2 * 86400)]))
    read = wh.read_budget_snapshots(slos=["api"])
    assert read["at"].tolist() == [T0 + 86400, T0 + 2 * 86400]
    assert read.iloc[0]["status"] == "breach" and read.iloc[0]["remaining_ratio"] == -0.5
    assert wh.read_budget_snapshots(start=T0 + 86401)["at"].tolist() == [T0 + 2 * 86400]
    assert wh.read_budget_snapshots(end=T0 + 86401)["slo"].tolist() == ["api", "batch"]

    with pytest.raises(WarehouseInputError, match="budget_snapshots: missing column 'status'"):
        wh.upsert_budget_snapshots(pd.DataFrame([snapshot()]).drop(columns="status"))


# ---- alert events ----------------------------------------------------------------------------------


def test_alert_events_open_then_resolve(wh: WarehouseResource) -> None:
    page = {
        "slo": "api",
        "objective": "availability",
        "severity": "page",
        "long_window": "1h",
        "short_window": "5m",
        "threshold": 14.4,
        "started_at": T0,
    }
    ticket = {**page, "severity": "ticket", "long_window": "1d", "short_window": "2h", "threshold": 3.0}
    assert wh.upsert_alert_events(
        pd.DataFrame([page, {**ticket, "started_at": T0 - 86400, "ended_at": T0 - 3600}])
    )

    open_now = wh.read_alert_events(open_only=True)
    assert open_now["severity"].tolist() == ["page"] and pd.isna(open_now.iloc[0]["ended_at"])
    assert wh.read_alert_events(start=T0 - 1800, end=T0 + 60)["severity"].tolist() == ["page"]
    assert wh.read_alert_events(start=T0 - 7200, end=T0 + 60)["severity"].tolist() == ["ticket", "page"]

    wh.upsert_alert_events(pd.DataFrame([{**page, "ended_at": T0 + 900}]))
    events = wh.read_alert_events(slos=["api"])
    assert len(events) == 2 and wh.read_alert_events(open_only=True).empty
    assert events.set_index("severity").loc["page", "ended_at"] == T0 + 900
    assert wh.read_alert_events(start=T0 + 900).empty


# ---- schema ----------------------------------------------------------------------------------------


def test_schema_creation_is_idempotent_across_resources_and_restarts(warehouse_url: str) -> None:
    one = WarehouseResource(url=warehouse_url)
    assert one.schema_version() == 0
    assert one.ensure_schema() == schema.SCHEMA_VERSION
    assert one.ensure_schema() == schema.SCHEMA_VERSION
    one.upsert_buckets(minutes("api", 3), source="s")

    two = WarehouseResource(url=warehouse_url)
    assert len(two.read_buckets(T0, T0 + 600)) == 3

    one.dispose()  # as a new process would: fresh engine, schema checked again against existing tables
    assert one.ensure_schema() == schema.SCHEMA_VERSION
    assert one.schema_version() == schema.SCHEMA_VERSION
    rows = sa.select(sa.func.count()).select_from(schema.schema_version)
    assert scalar(one, rows) == 1
    assert len(one.read_buckets(T0, T0 + 600)) == 3
    with one.get_engine().connect() as conn:
        assert set(schema.METADATA.tables) <= set(sa.inspect(conn).get_table_names())
    one.dispose()


def test_a_database_from_an_older_version_is_migrated_forward(warehouse_url: str) -> None:
    wh = WarehouseResource(url=warehouse_url)
    wh.ensure_schema()
    wh.append_exclusion_event("x", "add", {}, recorded_by="a")
    with wh.get_engine().begin() as conn:
        conn.execute(schema.schema_version.update().values(version=0))
    wh.dispose()

    assert wh.schema_version() == 0
    assert wh.ensure_schema() == schema.SCHEMA_VERSION  # migration 1 re-applied over existing objects
    assert wh.schema_version() == schema.SCHEMA_VERSION
    assert len(wh.read_exclusion_events()) == 1
    wh.dispose()


def test_default_url_is_a_sqlite_file_under_dot_slo_and_bad_urls_are_explained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    wh = WarehouseResource()
    assert wh.url == "sqlite:///.slo/warehouse.db"
    wh.upsert_buckets(minutes("api", 1), source="s")
    assert (tmp_path / ".slo" / "warehouse.db").is_file()
    with wh.get_engine().connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
    wh.dispose()

    with pytest.raises(ValueError, match=r"unsupported database 'mysql' .*mysql://u:\*\*\*@h/db"):
        WarehouseResource(url="mysql://u:secret@h/db").ensure_schema()
    with pytest.raises(ValueError, match="not a database URL"):
        WarehouseResource(url="not a url").ensure_schema()


def test_schema_version_is_the_last_migration() -> None:
    from slo_pipelines.resources.warehouse_schema import MIGRATIONS, SCHEMA_VERSION

    # a migration numbered at or below a database's stored version would never run there
    assert max(MIGRATIONS) == SCHEMA_VERSION
