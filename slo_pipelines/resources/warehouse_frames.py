"""Conversions between pandas DataFrames and the column values the warehouse writes.

Kept apart from the resource so the column rules (NaN is NULL, datetimes become epoch seconds, JSON
documents are made serialisable) are in one place and read the same for every table.

A typed column (numpy integers or floats, pandas strings, string categories) is converted whole, with
numpy: a backfill writes millions of rows per call, and a check that cannot fail (an int64 column
holds no fractions, no NULLs) is not made row by row. Any other column takes the general path, whose
rules and error messages are the same.
"""

import datetime as dt
import decimal
import itertools
import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import Table, bindparam, func, select
from sqlalchemy.engine import Connection

Kind = Literal["int", "float", "text", "json"]


class WarehouseInputError(ValueError):
    """A DataFrame handed to the warehouse cannot be stored as it is; the message names table and column."""


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _epoch_seconds(ser: pd.Series) -> pd.Series:
    """Datetime columns are accepted for epoch-second columns; naive values are taken as UTC."""
    stamps = pd.to_datetime(ser, utc=True)
    seconds = (stamps - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
    return seconds


def _numbers(ser: pd.Series, where: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(ser):
        return _epoch_seconds(ser)
    if pd.api.types.is_bool_dtype(ser):
        raise WarehouseInputError(f"{where}: must be numeric (got booleans)")
    num = pd.to_numeric(ser, errors="coerce")
    bad = ser.notna() & num.isna()
    if bad.any():
        first = bad.to_numpy().nonzero()[0][0]
        raise WarehouseInputError(
            f"{where}: row {first}: must be a number (got {_describe(ser.iloc[first])})"
        )
    return num


def _numpy_kind(ser: pd.Series, kinds: str) -> bool:
    """Whether `ser` holds plain numpy values of one of `kinds` (numpy dtype kind letters): such a
    column cannot hold anything invalid, so its conversion skips the checks."""
    return isinstance(ser.dtype, np.dtype) and ser.dtype.kind in kinds


def _ints(ser: pd.Series, where: str) -> tuple[np.ndarray, np.ndarray | None]:
    """int64 values (0 where NULL) and the NULL mask, None when nothing is NULL."""
    if _numpy_kind(ser, "iu"):
        return ser.to_numpy(dtype=np.int64), None
    num = _numbers(ser, where)
    missing = num.isna().to_numpy()
    if pd.api.types.is_integer_dtype(num.dtype) and not missing.any():
        return num.to_numpy(dtype=np.int64), None
    floats = num.to_numpy(dtype=np.float64, na_value=np.nan)
    present = ~missing
    fractional = present & (np.floor(floats) != floats)
    if fractional.any():
        first = int(fractional.nonzero()[0][0])
        raise WarehouseInputError(
            f"{where}: row {first}: must be an integer (got {_describe(ser.iloc[first])})"
        )
    return np.where(present, floats, 0).astype(np.int64), missing


def _floats(ser: pd.Series, where: str) -> tuple[np.ndarray, np.ndarray | None]:
    """float64 values (NaN where NULL) and the NULL mask."""
    if _numpy_kind(ser, "iuf"):
        floats = ser.to_numpy(dtype=np.float64)
    else:
        floats = _numbers(ser, where).to_numpy(dtype=np.float64, na_value=np.nan)
    return floats, np.isnan(floats)


def _exact_strings(labels: pd.Index) -> bool:
    return isinstance(labels.dtype, pd.StringDtype) or all(type(label) is str for label in labels)


def _texts(ser: pd.Series, where: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Python strings (None where NULL) as an object array, and the NULL mask.

    A string or string-categorical column is converted through its distinct values, so a name
    repeated on a million rows is one object, not a million; any other column is `str()` of each value.
    """
    missing = ser.isna().to_numpy()
    codes: np.ndarray
    if isinstance(ser.dtype, pd.StringDtype):
        codes, distinct = pd.factorize(ser)
    elif isinstance(ser.dtype, pd.CategoricalDtype) and _exact_strings(ser.cat.categories):
        codes, distinct = ser.cat.codes.to_numpy(), ser.cat.categories
    else:
        raw = ser.astype(object).tolist()
        if missing.any():
            values = [None if gone else str(value) for value, gone in zip(raw, missing, strict=True)]
        else:
            values = list(map(str, raw))
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out, missing
    labels = np.empty(len(distinct) + 1, dtype=object)  # the last stays None: code -1 is a missing value
    labels[:-1] = np.asarray(distinct, dtype=object)
    return labels[codes], missing


def json_safe(value: Any) -> Any:
    """Plain JSON types only: NaN becomes null, numpy scalars become Python, times become ISO 8601."""
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, np.generic):
        return json_safe(value.item())
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset | np.ndarray):
        return [json_safe(item) for item in value]
    if value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, pd.Timedelta | dt.timedelta):
        return None if pd.isna(value) else value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


def _jsons(ser: pd.Series, where: str) -> tuple[list[Any], np.ndarray | None]:
    """JSON-safe documents (None where NULL) and the NULL mask."""
    out: list[Any] = []
    for row, value in enumerate(ser.astype(object).tolist()):
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise WarehouseInputError(
                    f"{where}: row {row}: not valid JSON ({exc.msg}) (got {_describe(value)})"
                ) from None
        elif not isinstance(value, Mapping | list | tuple | np.ndarray) and pd.isna(value):
            value = None
        out.append(json_safe(value))
    return out, np.array([value is None for value in out], dtype=bool)


Column = np.ndarray | list[Any]
"""One column of a bulk write: an int64 array (no NULLs), a float64 array whose NaN are NULL, or Python
values with None for NULL (a list or an object array)."""

_CONVERTERS: dict[str, Callable[[pd.Series, str], tuple[Column, np.ndarray | None]]] = {
    "int": _ints,
    "float": _floats,
    "text": _texts,
    "json": _jsons,
}


def column_array(
    df: pd.DataFrame,
    table: str,
    name: str,
    kind: Kind,
    *,
    required: bool = True,
    nullable: bool = False,
    default: Any = None,
) -> Column:
    """One column, validated against the column's rules, as `Column` values for `bulk_upsert`.

    `kind` int gives an int64 array (an object array of int / None when NULLs remain), float a float64
    array (NaN is NULL), text an object array of str / None, json a list of JSON-safe documents / None.
    A missing optional column is `[default] * len(df)`; `default` also replaces NULLs.
    WarehouseInputError names table, column and row for a missing required column, a value of the
    wrong kind, or a NULL in a non-nullable column.
    """
    where = f"{table}.{name}"
    if name not in df.columns:
        if required:
            have = ", ".join(str(column) for column in df.columns) or "none"
            raise WarehouseInputError(f"{table}: missing column '{name}' (columns given: {have})")
        return [default] * len(df)
    values, missing = _CONVERTERS[kind](df[name], where)
    if missing is None or not missing.any():
        return values
    if default is not None:
        if isinstance(values, np.ndarray):
            values = values.copy()  # it may be a view of the caller's frame
            values[missing] = default
        else:
            values = [default if value is None else value for value in values]
        return values
    if not nullable:
        row = int(missing.nonzero()[0][0])
        raise WarehouseInputError(f"{where}: row {row}: must not be empty (got {df[name].iloc[row]!r})")
    if kind == "int" and isinstance(values, np.ndarray):
        boxed = values.astype(object)  # Python ints
        boxed[missing] = None
        return boxed
    return values


def python_values(values: Column) -> list[Any]:
    """A `Column` as a list of Python values with None for NULL (what a driver binds)."""
    if not isinstance(values, np.ndarray):
        return list(values)
    out: list[Any] = values.tolist()
    if values.dtype.kind == "f":
        for index in np.isnan(values).nonzero()[0].tolist():
            out[index] = None
    return out


def column_values(
    df: pd.DataFrame,
    table: str,
    name: str,
    kind: Kind,
    *,
    required: bool = True,
    nullable: bool = False,
    default: Any = None,
) -> list[Any]:
    """One column as a list of bound-parameter values (None for NULL), validated as `column_array`."""
    array = column_array(df, table, name, kind, required=required, nullable=nullable, default=default)
    return python_values(array)


def read_bucket_columns(
    conn: Connection, table: Table, names: Sequence[str], start: int, end: int
) -> list[tuple[str, dict[str, np.ndarray]]]:
    """Per SLO name, in the order given: its buckets with start in `[start, end)`, ordered by start, as
    numpy columns start, bucket_seconds (int64), good, total, value (float64, NaN for NULL).

    Each name is one search of the (slo, start) key. A Python driver returns every value of every
    row as an object, the main cost of a long read, so a summary query per name first says which
    columns need fetching: a ratio SLO's value is NULL throughout and its bucket size is one number,
    so its rows come back as (start, good, total). Epoch seconds and bucket sizes are far below 2^53
    and pass through float64 exactly.
    """
    t = table
    where = (t.c.slo == bindparam("slo"), t.c.start >= int(start), t.c.start < int(end))
    bs = t.c.bucket_seconds
    summary = select(func.count(), func.count(t.c.value), func.min(bs), func.max(bs)).where(*where)
    queries: dict[tuple[str, ...], Any] = {}
    dbapi: Any = conn.connection.dbapi_connection
    cursor = dbapi.cursor()

    def run(query: Any, name: str) -> list[tuple[Any, ...]]:
        compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
        params = compiled.construct_params({"slo": name})
        args: Any = tuple(params[k] for k in compiled.positiontup or ()) if compiled.positional else params
        cursor.execute(str(compiled), args)
        return list(cursor.fetchall())

    out = []
    try:
        for name in names:
            [(rows, valued, low, high)] = run(summary, name)
            wanted = ["start", "good", "total"]
            wanted += ["bucket_seconds"] if low != high else []
            wanted += ["value"] if valued else []
            key = tuple(wanted)
            if key not in queries:
                queries[key] = select(*(t.c[c] for c in wanted)).where(*where).order_by(t.c.start)
            fetched = run(queries[key], name) if rows else []
            try:
                flat = itertools.chain.from_iterable(fetched)
                data = np.fromiter(flat, np.float64, count=len(wanted) * len(fetched))
            except TypeError:  # a NULL written since the summary: the slower path reads it as NaN
                data = np.array(fetched, dtype=np.float64)
            data = data.reshape(-1, len(wanted))
            columns = {c: data[:, i] for i, c in enumerate(wanted)}
            n = len(fetched)
            out.append(
                (
                    name,
                    {
                        "start": columns["start"].astype(np.int64),
                        "bucket_seconds": columns["bucket_seconds"].astype(np.int64)
                        if "bucket_seconds" in columns
                        else np.full(n, low if low is not None else 0, dtype=np.int64),
                        # contiguous, as the engine's prefix sums and slices expect
                        "good": np.ascontiguousarray(columns["good"]),
                        "total": np.ascontiguousarray(columns["total"]),
                        "value": np.ascontiguousarray(columns["value"])
                        if "value" in columns
                        else np.full(n, np.nan),
                    },
                )
            )
        return out
    finally:
        cursor.close()


def bucket_frame(parts: Sequence[tuple[str, Mapping[str, np.ndarray]]]) -> pd.DataFrame:
    """Buckets read one SLO at a time, as (name, numpy columns), as one frame
    (slo, start, bucket_seconds, good, total, value) in the order given."""
    counts = [len(columns["start"]) for _, columns in parts]
    dtypes = {"start": np.int64, "bucket_seconds": np.int64}
    frame_columns = {
        column: np.concatenate([c[column] for _, c in parts] or [np.zeros(0)]).astype(
            dtypes.get(column, np.float64), copy=False
        )
        for column in ("start", "bucket_seconds", "good", "total", "value")
    }
    codes = np.repeat(np.arange(len(parts), dtype=np.int32), counts)
    # the names column built in Arrow from one copy of each name, not from a Python object per row
    labels = pa.DictionaryArray.from_arrays(codes, pa.array([name for name, _ in parts], pa.string()))
    slo = pd.Series(pd.array(labels.cast(pa.large_string()), dtype="str"))
    return pd.DataFrame({"slo": slo, **frame_columns})


def frame(rows: Sequence[Sequence[Any]], columns: Sequence[str], dtypes: Mapping[str, str]) -> pd.DataFrame:
    """Query rows as a DataFrame whose dtypes do not depend on whether any row came back."""
    if rows:
        df = pd.DataFrame.from_records([tuple(r) for r in rows], columns=list(columns), coerce_float=False)
    else:
        df = pd.DataFrame({name: [] for name in columns})
    for name, dtype in dtypes.items():
        if dtype == "utc":
            df[name] = pd.to_datetime(df[name], utc=True)
        elif dtype == "object":
            df[name] = df[name].astype(object)
        else:
            df[name] = df[name].astype(pd.api.types.pandas_dtype(dtype))
    return df
