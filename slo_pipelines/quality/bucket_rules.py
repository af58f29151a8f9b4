"""The bucket audit's rules: each pairs a GX expectation with the same rule written in pandas.

GX decides whether a rule holds; the pandas twin finds the offending rows and words the reason, which GX
cannot do for millions of rows cheaply. Keeping both halves of a rule side by side is what keeps them in
step, and the audit cross-checks their counts on every run.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from slo_pipelines.engine.sli.samples import MAX_COUNT

if TYPE_CHECKING:
    from great_expectations.expectations import Expectation

# Column names of the prepared frame that both GX and pandas look at.
SLO = "slo"
START = "start"
GOOD = "good"
TOTAL = "total"
BUCKET_SECONDS = "bucket_seconds"
START_OFFSET = "start_offset"  # start % bucket_seconds; null where either is unusable
FINITE = "finite_"  # prefix: good/total with ±inf as null, so infinities fail only *_finite

_FLOAT_MAX = float(np.finfo(np.float64).max)

Mask = Callable[[pd.DataFrame], np.ndarray]
Reason = Callable[[pd.DataFrame], pd.Series]


@dataclass(frozen=True)
class BucketRule:
    """One named check on raw bucket rows."""

    name: str
    description: str
    gx_expectation: str  # class name in great_expectations.expectations
    gx_kwargs: Mapping[str, Any]
    unexpected: Mask
    reason: Reason

    def build_expectation(self) -> "Expectation":
        """The GX expectation, tagged so its result can be matched back to this rule."""
        from great_expectations import expectations as gxe

        expectation_class = getattr(gxe, self.gx_expectation)
        expectation: Expectation = expectation_class(
            **self.gx_kwargs, description=self.description, meta={"audit_rule": self.name}
        )
        return expectation


def _text(values: pd.Series) -> pd.Series:
    """Values as the user would read them in a reason (5.0, inf, 61, checkout-availability).

    Floats go through Arrow's formatter: pandas' own float-to-str takes seconds per million rows, and a
    whole file of bad rows must still be reported quickly. Arrow writes 5.0 as "5", so ".0" is put back.
    """
    if not pd.api.types.is_float_dtype(values):
        return values.astype("str")
    text = pc.cast(pa.array(values.to_numpy(dtype=float, na_value=np.nan), from_pandas=True), pa.string())
    whole = pc.match_substring_regex(text, r"^-?[0-9]+$")
    text = pc.if_else(whole, pc.binary_join_element_wise(text, ".0", ""), text)
    return pd.Series(text, index=values.index, dtype="str")


def _compose(*pieces: str | pd.Series) -> pd.Series:
    """Concatenate literal text and per-row value columns in one Arrow pass (all Series share an index)."""
    index = next(piece.index for piece in pieces if isinstance(piece, pd.Series))
    arrays = [
        pa.scalar(piece, pa.large_string())
        if isinstance(piece, str)
        else pa.array(_text(piece), from_pandas=True).cast(pa.large_string())
        for piece in pieces
    ]
    joined = pc.binary_join_element_wise(*arrays, pa.scalar("", pa.large_string()))
    return pd.Series(joined, index=index, dtype="str")


def _constant(sub: pd.DataFrame, text: str) -> pd.Series:
    return pd.Series(text, index=sub.index, dtype="str")


def _bool(values: pd.Series | np.ndarray) -> np.ndarray:
    """A plain bool mask with missing comparisons counted as 'not unexpected' (as GX skips them)."""
    if isinstance(values, pd.Series):
        return values.fillna(False).to_numpy(dtype=bool)
    return np.asarray(values, dtype=bool)


def _not_null(column: str, missing_text: str) -> BucketRule:
    return BucketRule(
        name=f"{column}_not_null",
        description=f"every row has {column}",
        gx_expectation="ExpectColumnValuesToNotBeNull",
        gx_kwargs={"column": column},
        unexpected=lambda frame: frame[column].isna().to_numpy(dtype=bool),
        reason=lambda sub: _constant(sub, missing_text),
    )


def _non_negative(column: str) -> BucketRule:
    return BucketRule(
        name=f"{column}_non_negative",
        description=f"{column} >= 0",
        gx_expectation="ExpectColumnValuesToBeBetween",
        gx_kwargs={"column": column, "min_value": 0},
        unexpected=lambda frame: _bool(frame[column] < 0),
        reason=lambda sub: _compose(f"{column} < 0 ({column}=", sub[column], ")"),
    )


def _finite(column: str) -> BucketRule:
    return BucketRule(
        name=f"{column}_finite",
        description=f"{column} is a finite number",
        # Every finite float lies in [-max, max]; only ±inf falls outside. Nulls are left to *_not_null.
        gx_expectation="ExpectColumnValuesToBeBetween",
        gx_kwargs={"column": column, "min_value": -_FLOAT_MAX, "max_value": _FLOAT_MAX},
        unexpected=lambda frame: np.isinf(frame[column].to_numpy(dtype=float, na_value=np.nan)),
        reason=lambda sub: _compose(f"{column} is not finite ({column}=", sub[column], ")"),
    )


def _below_max(column: str) -> BucketRule:
    return BucketRule(
        name=f"{column}_below_max",
        description=f"{column} < {MAX_COUNT:.0e} (the samples format's bound, as `slo evaluate` applies it)",
        gx_expectation="ExpectColumnValuesToBeBetween",
        gx_kwargs={"column": FINITE + column, "max_value": MAX_COUNT, "strict_max": True},
        unexpected=lambda frame: _bool(frame[FINITE + column] >= MAX_COUNT),
        # worded as `slo evaluate` words it, so the audit and evaluate name a row's fault the same way
        reason=lambda sub: _compose(f"{column}: too large (must be < 1e15; got ", sub[column], ")"),
    )


def _good_le_total() -> BucketRule:
    return BucketRule(
        name="good_le_total",
        description="good <= total",
        gx_expectation="ExpectColumnPairValuesAToBeGreaterThanB",
        gx_kwargs={
            "column_A": TOTAL,
            "column_B": GOOD,
            "or_equal": True,
            "ignore_row_if": "either_value_is_missing",
        },
        unexpected=lambda frame: _bool(frame[GOOD] > frame[TOTAL]),
        reason=lambda sub: _compose("good > total (good=", sub[GOOD], ", total=", sub[TOTAL], ")"),
    )


def _duplicate_mask(frame: pd.DataFrame) -> np.ndarray:
    # Rows missing slo or start are ignored here (they already fail *_not_null), as GX is told to.
    keyed = frame[SLO].notna().to_numpy(dtype=bool) & frame[START].notna().to_numpy(dtype=bool)
    mask = np.zeros(len(frame), dtype=bool)
    mask[keyed] = frame.loc[keyed, [SLO, START]].duplicated(keep=False).to_numpy(dtype=bool)
    return mask


def _duplicate_reason(sub: pd.DataFrame) -> pd.Series:
    copies = sub.groupby([SLO, START], sort=False)[SLO].transform("size")
    return _compose(
        "duplicate (slo, start) key (slo=", sub[SLO], ", start=", sub[START], ") on ", copies, " rows"
    )


def _unique_keys() -> BucketRule:
    return BucketRule(
        name="slo_start_unique",
        description="no two rows share (slo, start)",
        gx_expectation="ExpectCompoundColumnsToBeUnique",
        gx_kwargs={"column_list": [SLO, START], "ignore_row_if": "any_value_is_missing"},
        unexpected=_duplicate_mask,
        reason=_duplicate_reason,
    )


def _bucket_seconds_positive() -> BucketRule:
    return BucketRule(
        name="bucket_seconds_positive",
        description="bucket_seconds >= 1",
        gx_expectation="ExpectColumnValuesToBeBetween",
        gx_kwargs={"column": BUCKET_SECONDS, "min_value": 1},
        unexpected=lambda frame: _bool(frame[BUCKET_SECONDS] < 1),
        reason=lambda sub: _compose("bucket_seconds < 1 (bucket_seconds=", sub[BUCKET_SECONDS], ")"),
    )


def _start_aligned() -> BucketRule:
    return BucketRule(
        name="start_aligned",
        description="start is a multiple of bucket_seconds",
        gx_expectation="ExpectColumnValuesToBeInSet",
        gx_kwargs={"column": START_OFFSET, "value_set": [0]},
        unexpected=lambda frame: _bool(frame[START_OFFSET] != 0),
        reason=lambda sub: _compose(
            "start not aligned to bucket_seconds (start=",
            sub[START],
            ", bucket_seconds=",
            sub[BUCKET_SECONDS],
            ")",
        ),
    )


BUCKET_RULES: tuple[BucketRule, ...] = (
    _not_null(SLO, "slo is missing"),
    _not_null(START, "start is missing"),
    _not_null(GOOD, "good is missing or not a number"),
    _not_null(TOTAL, "total is missing or not a number"),
    _non_negative(GOOD),
    _non_negative(TOTAL),
    _finite(GOOD),
    _finite(TOTAL),
    _below_max(GOOD),
    _below_max(TOTAL),
    _good_le_total(),
    _unique_keys(),
    _bucket_seconds_positive(),
    _start_aligned(),
)
