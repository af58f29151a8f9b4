"""`validate_samples`, the one definition of a valid sample row: typed Parquet columns are checked as
typed and text as text, with the same verdicts; the bucket size comes from the rows (DESIGN.md §3)."""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slo_pipelines.engine.budgets.evaluate import BucketSizeError, CatalogEvaluator
from slo_pipelines.engine.sli.samples import validate_samples
from slo_pipelines.resources.sample_files import read_samples
from tests.engine_helpers import make_catalog, make_slo
from tests.reference import RefSLO

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
ROOT = Path(__file__).resolve().parent.parent

timestamps = st.one_of(
    st.integers(0, 30).map(lambda k: T0 + 60 * k),  # aligned
    st.sampled_from([T0 + 7, -60, 10**11]),  # misaligned, before 1970, after 2255
    st.none(),
)
counts = st.one_of(
    st.integers(0, 1000),
    st.sampled_from([-5, 2 * 10**15, 999_999_999_999_999]),
    st.none(),
)


@st.composite
def sample_rows(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 25))
    slo = [draw(st.sampled_from(["a", "a", "b", "nope", " a "])) for _ in range(n)]
    frame = pd.DataFrame(
        {
            "slo": slo,
            "timestamp": [draw(timestamps) for _ in range(n)],
            "good": [draw(counts) for _ in range(n)],
            "total": [draw(counts) for _ in range(n)],
        }
    )
    if draw(st.booleans()):
        frame["bucket_seconds"] = [draw(st.sampled_from([60, 60, 60, 300, 0])) for _ in range(n)]
    return frame


def _verdicts(path: Path) -> tuple[pd.DataFrame, list[tuple[int, str, str]]]:
    checked = validate_samples(read_samples(path), known_slos={"a": 60, "b": 60})
    clean = checked.clean.assign(slo=checked.clean["slo"].astype(str)).reset_index(drop=True)
    rejected = list(
        zip(
            checked.rejected["row_number"], checked.rejected["field"], checked.rejected["reason"], strict=True
        )
    )
    return clean, [(int(r) - (2 if path.suffix == ".csv" else 1), f, w) for r, f, w in rejected]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sample_rows())
def test_typed_parquet_and_text_csv_get_the_same_verdicts(frame: pd.DataFrame) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        csv, parquet = Path(tmp) / "s.csv", Path(tmp) / "s.parquet"
        frame.to_csv(csv, index=False)
        typed = frame.copy()
        for column in ("timestamp", "good", "total"):
            typed[column] = pd.to_numeric(typed[column])  # int64, or float64 where a value is missing
        typed.to_parquet(parquet, index=False)
        assert read_samples(parquet)["timestamp"].dtype.kind in "if"
        clean_text, rejected_text = _verdicts(csv)
        clean_typed, rejected_typed = _verdicts(parquet)
    assert rejected_typed == rejected_text
    pd.testing.assert_frame_equal(clean_typed, clean_text, check_dtype=False, check_categorical=False)


def test_bucket_size_comes_from_the_rows_and_a_mix_names_both_sizes() -> None:
    rows = pd.DataFrame(
        {"slo": "a", "timestamp": [T0, T0 + 300, T0 + 600], "good": 9, "total": 10, "bucket_seconds": 300}
    )
    checked = validate_samples(rows, known_slos={"a": 60})
    assert checked.rejected.empty and checked.clean["bucket_seconds"].tolist() == [300, 300, 300]
    mixed = validate_samples(rows.assign(bucket_seconds=[300, 60, 300]), known_slos={"a": 60})
    assert mixed.first_error("s.csv") == (
        "s.csv row 2 bucket_seconds: bucket size 60 s differs from 300 s in row 1 of this SLO "
        "(one SLO keeps one bucket size) (got '60')"
    )


def test_time_slices_must_be_whole_buckets() -> None:
    slo = make_slo(RefSLO(method="Timeslices", target=0.9, window_seconds=3600, slice_seconds=60), name="a")
    rows = pd.DataFrame({"slo": "a", "start": [T0], "good": [1.0], "total": [1.0], "bucket_seconds": [300]})
    with pytest.raises(BucketSizeError, match="bucket_seconds=300 does not divide"):
        CatalogEvaluator(make_catalog([slo]), rows).evaluate(T0 + 600)


def test_evaluate_five_minute_samples_without_annotation(tmp_path: Path) -> None:
    """The field case: rows carry `bucket_seconds: 300`, the SLO has no bucket-size annotation."""
    starts = np.arange(T0, T0 + 86400, 300)
    pd.DataFrame(
        {"slo": "search-week", "timestamp": starts, "good": 99, "total": 100, "bucket_seconds": 300}
    ).to_csv(tmp_path / "s.csv", index=False)
    catalog = ROOT / "tests" / "fixtures" / "field_reports" / "int64-overflow"
    command = [sys.executable, "-m", "slo_pipelines.cli", "evaluate", "--catalog", str(catalog)]
    out = subprocess.run(
        [*command, "--samples", str(tmp_path / "s.csv"), "--at", str(T0 + 86400)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    [r] = json.loads(out.stdout)["slos"]
    assert r["bucket_seconds"] == 300 and r["total"] == 288 * 100 and r["coverage"] == 1.0
    assert r["not_measured_seconds"] == 6 * 86400


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_zoned_datetime_parquet_is_read_in_its_own_unit(tmp_path: Path, unit: str) -> None:
    """Arrow keeps a Parquet timestamp's unit (pandas reads `timestamp[us, UTC]` as microseconds)."""
    starts = [T0, T0 + 60, T0 + 120]
    frame = pd.DataFrame({"slo": "a", "good": [9, 10, 10], "total": [10, 10, 10]})
    frame["timestamp"] = pd.to_datetime(starts, unit="s", utc=True).as_unit(unit)
    path = tmp_path / "zoned.parquet"
    frame.to_parquet(path, index=False)
    assert isinstance(read_samples(path)["timestamp"].dtype, pd.DatetimeTZDtype)  # Parquet stores s as ms
    clean, rejected = _verdicts(path)
    assert rejected == []
    assert clean["start"].tolist() == starts
    if unit != "s":  # half a second past the minute is refused, whatever the unit
        frame["timestamp"] = frame["timestamp"] + pd.Timedelta(milliseconds=500)
        frame.to_parquet(path, index=False)
        _, rejected = _verdicts(path)
        assert [(f, w) for _, f, w in rejected] == [("timestamp", "timestamp must be whole seconds")] * 3
