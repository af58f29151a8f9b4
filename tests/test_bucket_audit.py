"""The bucket audit: GX verdicts, pandas-built reasons, and that the two agree row for row."""

import dataclasses
import json
import math
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd
import pytest

from slo_pipelines.quality import (
    BUCKET_RULES,
    AuditResult,
    BucketAuditConsistencyError,
    BucketAuditInputError,
    audit_buckets,
    bucket_audit,
    get_gx_context,
)
from slo_pipelines.quality.gx_runtime import dataframe_validation

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z, a multiple of 60 and of 300
RULE_NAMES = [rule.name for rule in BUCKET_RULES]


def frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows typed as the samples parser hands them over."""
    df = pd.DataFrame(rows)
    return df.astype(
        {
            "slo": "str",
            "start": "Int64",
            "good": "float64",
            "total": "float64",
            "bucket_seconds": "Int64",
            "source": "str",
            "row_number": "int64",
        }
    )


def clean_rows(n: int = 6) -> list[dict[str, Any]]:
    return [
        {
            "slo": "checkout-availability" if i % 2 == 0 else "search-latency",
            "start": T0 + 60 * (i // 2),
            "good": 99.0,
            "total": 100.0,
            "bucket_seconds": 60,
            "source": "samples.csv",
            "row_number": i + 2,
        }
        for i in range(n)
    ]


def with_changes(changes: dict[int, dict[str, Any]], n: int = 6) -> pd.DataFrame:
    rows = clean_rows(n)
    for index, change in changes.items():
        rows[index].update(change)
    return frame(rows)


def outcome(result: AuditResult, name: str) -> Any:
    return next(o for o in result.expectations if o.name == name)


def failing_reasons(result: AuditResult) -> dict[int, str]:
    return dict(zip(result.failing_rows["row_number"], result.failing_rows["reason"], strict=True))


def test_clean_frame_passes_every_rule() -> None:
    result = audit_buckets(frame(clean_rows()))

    assert result.success is True
    assert result.row_count == 6
    assert [o.name for o in result.expectations] == RULE_NAMES
    assert all(o.success and o.unexpected_count == 0 and o.examples == [] for o in result.expectations)
    assert result.failing_rows.empty
    assert list(result.failing_rows.columns) == [*frame(clean_rows()).columns, "reason"]


# (changes to a clean frame, the rule that must fail, {row_number: reason})
SINGLE_VIOLATIONS = [
    pytest.param({1: {"slo": None}}, "slo_not_null", {3: "slo is missing"}, id="slo-null"),
    pytest.param({2: {"start": None}}, "start_not_null", {4: "start is missing"}, id="start-null"),
    pytest.param(
        {0: {"good": math.nan}}, "good_not_null", {2: "good is missing or not a number"}, id="good-nan"
    ),
    pytest.param(
        {5: {"total": math.nan}}, "total_not_null", {7: "total is missing or not a number"}, id="total-nan"
    ),
    pytest.param({3: {"good": -2.5}}, "good_non_negative", {5: "good < 0 (good=-2.5)"}, id="good-negative"),
    pytest.param(
        {4: {"good": math.inf, "total": math.inf}},
        "good_finite",
        {6: "good is not finite (good=inf); total is not finite (total=inf)"},
        id="good-inf",
    ),
    pytest.param(
        {1: {"total": math.inf}}, "total_finite", {3: "total is not finite (total=inf)"}, id="total-inf"
    ),
    pytest.param(
        {2: {"good": 5.0, "total": 3.0}},
        "good_le_total",
        {4: "good > total (good=5.0, total=3.0)"},
        id="good>total",
    ),
    pytest.param(
        {0: {"start": T0 + 61}},
        "start_aligned",
        {2: f"start not aligned to bucket_seconds (start={T0 + 61}, bucket_seconds=60)"},
        id="misaligned",
    ),
    pytest.param(
        {0: {"bucket_seconds": 300}, 4: {"bucket_seconds": 300}},
        "start_aligned",
        {6: f"start not aligned to bucket_seconds (start={T0 + 120}, bucket_seconds=300)"},
        id="misaligned-5m-bucket",
    ),
    pytest.param(
        {3: {"bucket_seconds": 0}},
        "bucket_seconds_positive",
        {5: "bucket_seconds < 1 (bucket_seconds=0)"},
        id="zero-bucket",
    ),
]


@pytest.mark.parametrize(("changes", "rule", "expected"), SINGLE_VIOLATIONS)
def test_each_violation_is_caught_with_count_reason_and_rows(
    changes: dict[int, dict[str, Any]], rule: str, expected: dict[int, str]
) -> None:
    result = audit_buckets(with_changes(changes))

    assert result.success is False
    failed = outcome(result, rule)
    assert failed.success is False
    assert failed.unexpected_count == 1
    assert [e["row_number"] for e in failed.examples] == list(expected)
    assert failing_reasons(result) == expected
    finite_pair = {"good_finite", "total_finite"} if rule == "good_finite" else {rule}
    assert {o.name for o in result.failed} == finite_pair


def test_reasons_of_one_row_are_joined_in_rule_order() -> None:
    result = audit_buckets(with_changes({2: {"good": -1.0, "total": -0.5, "start": T0 + 90}}))

    assert failing_reasons(result) == {
        4: (
            "good < 0 (good=-1.0); total < 0 (total=-0.5); "
            f"start not aligned to bucket_seconds (start={T0 + 90}, bucket_seconds=60)"
        )
    }
    assert {o.name for o in result.failed} == {"good_non_negative", "total_non_negative", "start_aligned"}


def test_negative_infinity_is_both_negative_and_not_finite() -> None:
    result = audit_buckets(with_changes({1: {"good": -math.inf}}))

    assert failing_reasons(result) == {3: "good < 0 (good=-inf); good is not finite (good=-inf)"}


def test_duplicates_report_every_copy() -> None:
    dup = {"slo": "checkout-availability", "start": T0}
    result = audit_buckets(with_changes({2: dup, 4: dup}))

    unique = outcome(result, "slo_start_unique")
    assert unique.success is False
    assert unique.unexpected_count == 3
    assert sorted(e["row_number"] for e in unique.examples) == [2, 4, 6]
    reason = f"duplicate (slo, start) key (slo=checkout-availability, start={T0}) on 3 rows"
    assert failing_reasons(result) == {2: reason, 4: reason, 6: reason}


def test_rows_missing_a_key_part_are_not_also_called_duplicates() -> None:
    result = audit_buckets(with_changes({0: {"slo": None}, 2: {"slo": None, "start": T0}}))

    assert outcome(result, "slo_start_unique").success is True
    assert outcome(result, "slo_not_null").unexpected_count == 2
    assert failing_reasons(result) == {2: "slo is missing", 4: "slo is missing"}


def test_failing_rows_are_the_original_rows_with_their_index() -> None:
    source = with_changes({1: {"good": 7.0, "total": 2.0}})
    source.index = pd.Index([100 + i for i in range(len(source))])

    failing = audit_buckets(source).failing_rows

    assert list(failing.index) == [101]
    pd.testing.assert_frame_equal(failing.drop(columns="reason"), source.loc[[101]])


def test_examples_are_capped_and_json_ready() -> None:
    result = audit_buckets(with_changes({i: {"good": math.nan} for i in range(8)}, n=8))

    missing = outcome(result, "good_not_null")
    assert missing.unexpected_count == 8
    assert [e["row_number"] for e in missing.examples] == [2, 3, 4, 5, 6]
    assert missing.examples[0]["good"] is None
    json.dumps(missing.examples)  # Dagster metadata must be able to carry them


def test_empty_frame_passes() -> None:
    result = audit_buckets(frame(clean_rows())[0:0])

    assert result.success is True
    assert result.row_count == 0
    assert all(o.success and o.unexpected_count == 0 for o in result.expectations)
    assert result.failing_rows.empty and "reason" in result.failing_rows.columns


def test_bucket_seconds_defaults_to_a_minute() -> None:
    rows = clean_rows(2)
    rows[1]["start"] = T0 + 30
    source = frame(rows).drop(columns="bucket_seconds")

    result = audit_buckets(source)

    assert failing_reasons(result) == {
        3: f"start not aligned to bucket_seconds (start={T0 + 30}, bucket_seconds=60)"
    }


def test_missing_required_column_is_a_clear_error() -> None:
    with pytest.raises(BucketAuditInputError, match=r"lack required column\(s\): good, total"):
        audit_buckets(frame(clean_rows()).drop(columns=["good", "total"]))


def test_gx_is_set_up_once_per_process() -> None:
    audit_buckets(frame(clean_rows()))
    first = dataframe_validation("raw_sli_buckets", lambda: pytest.fail("suite rebuilt"))

    audit_buckets(frame(clean_rows()))

    assert dataframe_validation("raw_sli_buckets", lambda: pytest.fail("suite rebuilt")) is first
    assert get_gx_context() is get_gx_context()
    progress_bars = get_gx_context().progress_bars
    assert progress_bars is not None and progress_bars.globally is False


def test_pandas_and_gx_disagreeing_voids_the_audit(monkeypatch: pytest.MonkeyPatch) -> None:
    blind = [
        dataclasses.replace(rule, unexpected=lambda f: np.zeros(len(f), dtype=bool))
        if rule.name == "good_le_total"
        else rule
        for rule in BUCKET_RULES
    ]
    monkeypatch.setattr(bucket_audit, "BUCKET_RULES", tuple(blind))

    with pytest.raises(
        BucketAuditConsistencyError, match=r"good_le_total disagrees: GX counts 1 .* pandas finds 0"
    ):
        audit_buckets(with_changes({0: {"good": 2.0, "total": 1.0}}))


def _reference_reasons(df: pd.DataFrame) -> dict[int, str]:
    """Row-at-a-time restatement of the rules, independent of the vectorised code."""

    def missing(value: Any) -> bool:
        return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))

    rows: list[dict[Any, Any]] = df.to_dict(orient="records")
    keys = Counter((r["slo"], r["start"]) for r in rows if not missing(r["slo"]) and not missing(r["start"]))
    out: dict[int, str] = {}
    for r in rows:
        reasons = [f"{c} is missing" for c in ("slo", "start") if missing(r[c])]
        reasons += [f"{c} is missing or not a number" for c in ("good", "total") if missing(r[c])]
        reasons += [f"{c} < 0 ({c}={r[c]!r})" for c in ("good", "total") if not missing(r[c]) and r[c] < 0]
        reasons += [
            f"{c} is not finite ({c}={r[c]!r})"
            for c in ("good", "total")
            if not missing(r[c]) and math.isinf(r[c])
        ]
        if not missing(r["good"]) and not missing(r["total"]) and r["good"] > r["total"]:
            reasons.append(f"good > total (good={r['good']!r}, total={r['total']!r})")
        copies = keys.get((r["slo"], r["start"]), 0)
        if copies > 1:
            reasons.append(
                f"duplicate (slo, start) key (slo={r['slo']}, start={r['start']}) on {copies} rows"
            )
        bucket = r["bucket_seconds"]
        if bucket < 1:
            reasons.append(f"bucket_seconds < 1 (bucket_seconds={bucket})")
        elif not missing(r["start"]) and r["start"] % bucket != 0:
            reasons.append(
                f"start not aligned to bucket_seconds (start={r['start']}, bucket_seconds={bucket})"
            )
        if reasons:
            out[int(r["row_number"])] = "; ".join(reasons)
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_dirty_frames_match_a_row_by_row_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 400
    total = rng.integers(0, 2000, n) / 4
    good = np.minimum(total, rng.integers(0, 2000, n) / 4)
    df = pd.DataFrame(
        {
            "slo": pd.array(rng.choice(["a", "b", "c"], n), dtype="str"),
            "start": pd.array(T0 + 60 * rng.integers(0, 2000, n), dtype="Int64"),
            "good": good,
            "total": total,
            "bucket_seconds": pd.array(np.full(n, 60), dtype="Int64"),
            "source": "fleet.jsonl",
            "row_number": np.arange(1, n + 1),
        }
    )
    # Sprinkle every kind of fault, some rows getting several.
    for column, value, share in [
        ("slo", None, 0.02),
        ("start", None, 0.02),
        ("good", np.nan, 0.03),
        ("total", np.nan, 0.03),
        ("good", -1.5, 0.02),
        ("total", -3.0, 0.02),
        ("good", np.inf, 0.01),
        ("total", -np.inf, 0.01),
        ("good", 5000.25, 0.03),
        ("bucket_seconds", 0, 0.01),
        ("bucket_seconds", 300, 0.05),
    ]:
        hit = rng.random(n) < share
        df.loc[hit, column] = value
    odd = rng.random(n) < 0.03
    df.loc[odd, "start"] = df.loc[odd, "start"] + 7

    result = audit_buckets(df)
    expected = _reference_reasons(df)

    assert failing_reasons(result) == expected
    assert result.success is (not expected)
    for rule_outcome in result.expectations:
        assert rule_outcome.success is (rule_outcome.unexpected_count == 0)
