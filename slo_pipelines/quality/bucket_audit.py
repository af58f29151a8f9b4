"""Data-quality audit of raw SLI bucket rows, before they reach the warehouse.

Great Expectations decides pass/fail (so the verdict is the same one GX Data Docs and checks would show);
pandas, using the very same rules, names the offending rows and says why, so bad rows can be quarantined
with a reason instead of dropped. An empty frame passes: no row contradicts any rule, and missing data
as such is what `coverage` reports downstream.
"""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from slo_pipelines.quality.bucket_rules import (
    BUCKET_RULES,
    BUCKET_SECONDS,
    FINITE,
    GOOD,
    SLO,
    START,
    START_OFFSET,
    TOTAL,
    BucketRule,
)
from slo_pipelines.quality.gx_runtime import dataframe_validation, run_lock

if TYPE_CHECKING:
    from great_expectations.core.expectation_validation_result import ExpectationValidationResult

DEFAULT_BUCKET_SECONDS = 60
MAX_EXAMPLES = 5
REASON_COLUMN = "reason"
REQUIRED_COLUMNS = (SLO, START, GOOD, TOTAL)

_VALIDATION_NAME = "raw_sli_buckets"
# SUMMARY keeps the result small whatever the row count; the rows themselves come from pandas.
_RESULT_FORMAT: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": MAX_EXAMPLES}


class BucketAuditInputError(ValueError):
    """The frame cannot be audited at all (e.g. a required column is absent)."""


class BucketAuditConsistencyError(RuntimeError):
    """GX and the pandas twin of a rule disagree, or GX could not evaluate a rule: the audit is void."""


@dataclass(frozen=True)
class ExpectationOutcome:
    """How one rule fared: GX's verdict and count, with a few offending source rows as examples."""

    name: str
    description: str
    success: bool
    unexpected_count: int
    examples: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class AuditResult:
    """Verdict over all rules, plus every failing source row with its joined reasons."""

    success: bool
    row_count: int
    expectations: list[ExpectationOutcome]
    failing_rows: pd.DataFrame
    # per rule, which input rows (by position) it found unexpected: verdicts per day are cut from these
    masks: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def failed(self) -> list[ExpectationOutcome]:
        return [outcome for outcome in self.expectations if not outcome.success]


def _as_numbers(values: pd.Series) -> pd.Series:
    """Numeric view of a column; text that is not a number becomes missing, as the samples format says."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.reset_index(drop=True)
    return pd.to_numeric(values, errors="coerce").reset_index(drop=True)


def _as_int(values: pd.Series) -> pd.Series:
    numbers = _as_numbers(values)
    try:
        return numbers.astype("Int64")
    except (TypeError, ValueError):
        # A fractional start cannot become Int64; keep it as a float so the alignment rule reports it.
        return numbers.astype("Float64")


def prepare_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The columns the rules read, positionally indexed, with the derived `start_offset`.

    `bucket_seconds` defaults to 60 when the column or a row's value is absent, as the samples format says.
    It is a plain int64 column on purpose: GX's range check is vectorised only for numpy dtypes and falls
    back to a per-row Python loop (seconds per million rows) on pandas' nullable ones.
    """
    missing = [column for column in REQUIRED_COLUMNS if column not in frame.columns]
    if missing:
        raise BucketAuditInputError(f"bucket rows lack required column(s): {', '.join(missing)}")
    start = _as_int(frame[START])
    if BUCKET_SECONDS in frame.columns:
        bucket_seconds = _as_int(frame[BUCKET_SECONDS]).fillna(DEFAULT_BUCKET_SECONDS)
        whole = bucket_seconds.dtype == "Int64"
        bucket_seconds = bucket_seconds.astype("int64" if whole else "float64")
    else:
        bucket_seconds = pd.Series(DEFAULT_BUCKET_SECONDS, index=start.index, dtype="int64")
    # A zero or negative bucket makes the offset meaningless; that row fails bucket_seconds_positive instead.
    usable = bucket_seconds.where(bucket_seconds >= 1)
    offset = start % usable
    good = _as_numbers(frame[GOOD]).astype("float64")
    total = _as_numbers(frame[TOTAL]).astype("float64")
    return pd.DataFrame(
        {
            SLO: frame[SLO].reset_index(drop=True),
            START: start,
            GOOD: good,
            TOTAL: total,
            BUCKET_SECONDS: bucket_seconds,
            START_OFFSET: offset,
            FINITE + GOOD: good.where(np.isfinite(good)),
            FINITE + TOTAL: total.where(np.isfinite(total)),
        },
        copy=False,  # copy-on-write keeps the inputs safe; stacking into blocks would copy every row again
    )


def _plain(value: Any) -> Any:
    """JSON-friendly scalar: NA/NaN become None, numpy scalars become Python ones."""
    if value is None or (not isinstance(value, (list, dict, str)) and pd.isna(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def _examples(frame: pd.DataFrame, positions: np.ndarray) -> list[dict[str, Any]]:
    if positions.size == 0:  # the usual case: selecting no rows of a wide frame still costs a millisecond
        return []
    rows = frame.iloc[positions[:MAX_EXAMPLES]]
    return [{str(k): _plain(v) for k, v in row.items()} for row in rows.to_dict(orient="records")]


def _result_by_rule(results: "list[ExpectationValidationResult]") -> "dict[str, ExpectationValidationResult]":
    by_rule: dict[str, ExpectationValidationResult] = {}
    for result in results:
        config = result.expectation_config
        meta = (config.meta or {}) if config is not None else {}
        by_rule[str(meta.get("audit_rule"))] = result
    return by_rule


def _checked_count(rule: BucketRule, result: "ExpectationValidationResult | None", mask: np.ndarray) -> int:
    """GX's unexpected_count, after making sure pandas found exactly the same rows."""
    if result is None:
        raise BucketAuditConsistencyError(f"bucket audit: GX returned no result for rule {rule.name}")
    info = result.exception_info or {}
    if info.get("raised_exception"):
        message = str(info.get("exception_message") or "unknown error").splitlines()[0]
        raise BucketAuditConsistencyError(f"bucket audit: GX could not evaluate {rule.name}: {message}")
    count = int(result.result.get("unexpected_count") or 0)
    found = int(mask.sum())
    sample = [int(i) for i in result.result.get("partial_unexpected_index_list") or []]
    if count != found or not all(mask[i] for i in sample):
        raise BucketAuditConsistencyError(
            f"bucket audit: rule {rule.name} disagrees: "
            f"GX counts {count} unexpected rows, pandas finds {found}"
        )
    return count


def _reasons(prepared: pd.DataFrame, masks: dict[str, np.ndarray], positions: np.ndarray) -> pd.Series:
    """Semicolon-joined reasons for the failing positions, in rule order, built column-wise (no row loop)."""
    joined: pd.Series | None = None
    for rule in BUCKET_RULES:
        hit = positions[masks[rule.name][positions]]
        if hit.size == 0:
            continue
        part = rule.reason(prepared.iloc[hit]).astype("str").reindex(positions)
        joined = part if joined is None else (joined + "; " + part).fillna(joined).fillna(part)
    return joined if joined is not None else pd.Series([], index=positions, dtype="str")


def audit_buckets(frame: pd.DataFrame) -> AuditResult:
    """Audit raw bucket rows against every rule in `BUCKET_RULES` with one GX validation."""
    prepared = prepare_frame(frame)
    validation = dataframe_validation(_VALIDATION_NAME, lambda: [r.build_expectation() for r in BUCKET_RULES])
    with run_lock():
        suite_result = validation.run(batch_parameters={"dataframe": prepared}, result_format=_RESULT_FORMAT)
    by_rule = _result_by_rule(list(suite_result.results))

    masks: dict[str, np.ndarray] = {}
    outcomes: list[ExpectationOutcome] = []
    for rule in BUCKET_RULES:
        mask = rule.unexpected(prepared)
        result = by_rule.get(rule.name)
        count = _checked_count(rule, result, mask)
        masks[rule.name] = mask
        outcomes.append(
            ExpectationOutcome(
                name=rule.name,
                description=rule.description,
                success=bool(result.success) if result is not None else False,
                unexpected_count=count,
                examples=_examples(frame, np.flatnonzero(mask)),
            )
        )

    any_failure = np.zeros(len(prepared), dtype=bool)
    for mask in masks.values():
        any_failure |= mask
    positions = np.flatnonzero(any_failure)
    failing = frame.iloc[positions].copy()
    failing[REASON_COLUMN] = _reasons(prepared, masks, positions).set_axis(failing.index)
    return AuditResult(
        success=bool(suite_result.success),
        row_count=len(prepared),
        expectations=outcomes,
        failing_rows=failing,
        masks=masks,
    )
