"""Validation of raw SLI sample rows (the samples format of DESIGN.md §6), vectorised with pandas.

Every rejected row keeps its reason (field, value, rule) so the CLI can fail with a precise one-line
error and the pipeline can quarantine it instead of dropping it.
"""

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from slo_pipelines.catalog.models import DEFAULT_BUCKET_SECONDS
from slo_pipelines.engine.common.timeutil import MAX_INSTANT, MIN_INSTANT

REQUIRED_COLUMNS = ("slo", "timestamp", "good", "total")
_OFFSET_RE = r"(?:Z|z|[+-]\d{2}:?\d{2})$"


class SamplesError(ValueError):
    """A whole-file problem (missing columns, empty file): no row can be trusted."""


@dataclass(frozen=True)
class ValidatedSamples:
    clean: pd.DataFrame  # slo, start, good, total, value, bucket_seconds
    rejected: pd.DataFrame  # row_number, slo, timestamp, good, total, field, value, reason

    def first_error(self, source: str) -> str:
        """One line naming file, row, field and value, plus how many more rows were rejected."""
        r = self.rejected.iloc[0]
        more = len(self.rejected) - 1
        tail = f" (and {more} more rejected row{'s' if more != 1 else ''})" if more else ""
        return f"{source} row {r['row_number']} {r['field']}: {r['reason']} (got {r['value']!r}){tail}"


# No real bucket holds 10^15 events; beyond it one row's count loses integer precision in float64.
# Sums of many rows may exceed int64: the engine then sums exact Python ints (DESIGN.md §3 "Bucket").
MAX_COUNT = 1e15

_TS_MISSING = "missing timestamp"
_TS_NOT_ISO = "not an ISO 8601 timestamp or Unix seconds"
_TS_NO_OFFSET = "timestamp has no UTC offset"
_TS_RANGE = "timestamp out of range (1970 to 2255)"
_TS_FRACTION = "timestamp must be whole seconds"
_TICKS_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}

Checks = list[tuple[np.ndarray, str]]  # (rows failing, reason) in the order the rules apply


def _is_number_dtype(raw: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype)


def _floats(raw: pd.Series) -> np.ndarray:
    return raw.to_numpy(dtype=np.float64, na_value=np.nan)


def _parse_timestamps(raw: pd.Series) -> tuple[np.ndarray, Checks]:
    """(epoch seconds, int64 or float, failing rules) for ISO-with-offset or Unix-seconds values.

    Typed columns (integers, floats, zoned datetimes, as Parquet carries them) are checked as numbers;
    text (CSV, JSONL) is parsed. Both apply the same rules in the same order with the same words.
    """
    if raw.dtype.kind in "iu":  # plain integer columns (Parquet int64): no nulls, no fractions
        ints = raw.to_numpy().astype(np.int64, copy=False)
        if ints.size and (ints.min() < MIN_INSTANT or ints.max() > MAX_INSTANT):
            return ints, [((ints < MIN_INSTANT) | (ints > MAX_INSTANT), _TS_RANGE)]
        return ints, []
    missing = raw.isna().to_numpy(dtype=bool)
    if _is_number_dtype(raw):
        seconds = _floats(raw)
        with np.errstate(invalid="ignore"):
            out_of_range = ~missing & ~((seconds >= MIN_INSTANT) & (seconds <= MAX_INSTANT))
            fraction = ~missing & ~out_of_range & (seconds != np.floor(seconds))
        return seconds, [(missing, _TS_MISSING), (out_of_range, _TS_RANGE), (fraction, _TS_FRACTION)]
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        # the column's own unit: Parquet read through Arrow keeps s, ms or us, not only ns
        per_second = _TICKS_PER_SECOND[raw.dtype.unit]
        ticks = raw.dt.tz_convert("UTC").array.asi8 if len(raw) else np.zeros(0, dtype=np.int64)
        seconds = np.where(missing, np.nan, ticks / per_second)
        with np.errstate(invalid="ignore"):
            out_of_range = ~missing & ~((seconds >= MIN_INSTANT) & (seconds <= MAX_INSTANT))
        fraction = ~missing & ~out_of_range & (np.asarray(ticks) % per_second != 0)
        return seconds, [(missing, _TS_MISSING), (out_of_range, _TS_RANGE), (fraction, _TS_FRACTION)]
    if pd.api.types.is_datetime64_dtype(raw.dtype):
        return np.full(len(raw), np.nan), [(missing, _TS_MISSING), (~missing, _TS_NO_OFFSET)]
    text = raw.astype("string").str.strip()
    numeric = pd.to_numeric(text, errors="coerce")
    is_num = numeric.notna().to_numpy(dtype=bool)
    iso = pd.to_datetime(text.where(~is_num), format="ISO8601", utc=True, errors="coerce")
    iso_seconds = ((iso - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)).to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    has_offset = text.str.contains(_OFFSET_RE, regex=True, na=False).to_numpy(dtype=bool)
    seconds = np.where(is_num, numeric.to_numpy(dtype=np.float64, na_value=np.nan), iso_seconds)
    blank = missing | (text == "").fillna(True).to_numpy(dtype=bool)
    bad_iso = ~is_num & iso.isna().to_numpy(dtype=bool)
    with np.errstate(invalid="ignore"):
        out_of_range = ~((seconds >= MIN_INSTANT) & (seconds <= MAX_INSTANT))
        fraction = seconds != np.floor(seconds)
    return seconds, [
        (blank, _TS_MISSING),
        (bad_iso, _TS_NOT_ISO),
        (~is_num & ~has_offset, _TS_NO_OFFSET),
        (out_of_range, _TS_RANGE),
        (fraction, _TS_FRACTION),
    ]


def _is_bool(raw: pd.Series) -> np.ndarray:
    """JSON `true` / Parquet booleans: pandas would read them as 1 and 0, which is never meant."""
    if pd.api.types.is_bool_dtype(raw.dtype):
        return raw.notna().to_numpy(dtype=bool)
    if raw.dtype == object:
        return raw.map(lambda v: isinstance(v, bool | np.bool_)).to_numpy(dtype=bool)
    return np.zeros(len(raw), dtype=bool)


def _numeric(raw: pd.Series, name: str) -> tuple[np.ndarray, Checks]:
    """(values as float64, failing rules): typed numeric columns as they are, anything else parsed."""
    if raw.dtype.kind in "iu":  # plain integer columns: no nulls, booleans or fractions to look for
        ints = raw.to_numpy()
        if not ints.size or (ints.min() >= 0 and ints.max() < MAX_COUNT):
            return ints.astype(np.float64), []  # the usual typed column: one min/max pass, no masks
    if _is_number_dtype(raw):
        values = _floats(raw)
        with np.errstate(invalid="ignore"):
            if not bool(np.any(~(values >= 0) | (values >= MAX_COUNT))):
                return values, []  # every rule holds, no per-row masks
        missing = raw.isna().to_numpy(dtype=bool)
        boolean = np.zeros(len(raw), dtype=bool)
    else:
        missing = raw.isna().to_numpy(dtype=bool)
        boolean = _is_bool(raw)
        values = _floats(pd.to_numeric(raw.where(~boolean), errors="coerce"))
    with np.errstate(invalid="ignore"):
        return values, [
            (missing, f"missing {name}"),
            (boolean, "not a number (a boolean)"),
            (np.isnan(values), "not a number"),
            (~np.isfinite(values), "not a finite number"),
            (values < 0, "must be >= 0"),
            (values >= MAX_COUNT, "too large (must be < 1e15)"),
        ]


Why = str | Callable[[np.ndarray], Sequence[str]]  # one reason, or the reasons of the given rows


class _Verdicts:
    """The first failing rule of every row: a rule number per row (0 = valid), words built only for
    the rows that fail, so a valid file of millions of rows never builds a string per row."""

    def __init__(self, n: int) -> None:
        self.code = np.zeros(n, dtype=np.int16)
        self.rules: list[tuple[str, Why, pd.Series]] = []
        self.flagged = 0

    @property
    def ok(self) -> np.ndarray:
        return self.code == 0

    @property
    def all_ok(self) -> bool:
        return self.flagged == 0

    def flag(self, mask: np.ndarray, field: str, why: Why, raw: pd.Series) -> None:
        if not mask.any():
            return
        m = mask & (self.code == 0)
        count = int(np.count_nonzero(m))
        if count:
            self.rules.append((field, why, raw))
            self.code[m] = len(self.rules)
            self.flagged += count

    def rejected(self, frame: pd.DataFrame, row_number: np.ndarray) -> pd.DataFrame:
        pos = np.flatnonzero(self.code)
        out = frame.iloc[pos].copy() if pos.size else frame.head(0).copy()
        out["row_number"] = row_number[pos]
        field = np.empty(pos.size, dtype=object)
        reason = np.empty(pos.size, dtype=object)
        shown = np.empty(pos.size, dtype=object)
        codes = self.code[pos]
        for number, (name, why, raw) in enumerate(self.rules, start=1):
            sel = codes == number
            rows = pos[sel]
            field[sel] = name
            reason[sel] = why if isinstance(why, str) else np.asarray(why(rows), dtype=object)
            shown[sel] = raw.iloc[rows].astype("string").fillna("").to_numpy(dtype=object)
        out["field"] = field
        out["value_shown"] = shown
        out["reason"] = reason
        out = out.rename(columns={"value": "sample_value"}).rename(columns={"value_shown": "value"})
        return out.reset_index(drop=True)


def _names(raw: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """(code per row, -1 where missing or blank; stripped names): work on the few distinct names."""
    if isinstance(raw.dtype, pd.CategoricalDtype):  # Parquet dictionary columns: codes already exist
        codes, uniques = raw.cat.codes.to_numpy(), raw.cat.categories
    else:
        codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    stripped = pd.Index(uniques).astype("string").str.strip()
    merged, names = pd.factorize(stripped, use_na_sentinel=True)
    names = pd.Index(np.asarray(names, dtype=object)).astype(str)
    blank = np.append(np.asarray(names == "", dtype=bool), True)
    merged = np.where(blank[merged], -1, merged)
    if np.array_equal(merged, np.arange(len(uniques))):
        return codes, names  # names already distinct, stripped and non-blank: codes stand as they are
    return np.append(merged, -1).astype(np.int64)[codes], names


def _valid_positions(v: "_Verdicts") -> np.ndarray | None:
    """Positions of the rows valid so far; None when every row is (most files), to skip copies."""
    return None if v.all_ok else np.flatnonzero(v.ok)


def _pick(values: np.ndarray, positions: np.ndarray | None) -> np.ndarray:
    return values if positions is None else values[positions]


def _sorted_order(codes: np.ndarray, starts: np.ndarray) -> np.ndarray | None:
    """None when rows are already grouped by SLO in time order (the usual case), else a sort order."""
    if codes.size and starts.size and int(starts.min()) >= 0 and int(starts.max()) < 2**34:
        key = (codes.astype(np.int64) << 34) | starts  # one comparison per row instead of five
        if bool(np.all(key[1:] > key[:-1])):
            return None
    else:
        dc, ds = np.diff(codes), np.diff(starts)
        if bool(np.all((dc > 0) | ((dc == 0) & (ds > 0)))):
            return None
    return np.lexsort((starts, codes))


def validate_samples(
    frame: pd.DataFrame, known_slos: Mapping[str, int] | Collection[str] | None = None
) -> ValidatedSamples:
    """The one definition of a valid sample row (DESIGN.md §3 "Bucket", §6 samples format).

    `slo evaluate` refuses a file with any row rejected here, `slo audit` counts and lists the same
    rows, and the pipeline quarantines them. Splits raw rows into clean buckets and rejected rows; a
    rejected row keeps the first rule it fails (field, shown value, reason).

    `frame`: columns slo, timestamp, good, total (optional bucket_seconds, value, row_number), typed
    (Parquet) or text (CSV, JSONL). `known_slos`: the catalog's SLO names, or a mapping of name to the
    bucket size of its annotation, used for rows without `bucket_seconds` (else 60 s). A row's
    `bucket_seconds` is its bucket size; rows of one SLO with different sizes are rejected naming both.
    Raises SamplesError for a missing column or an empty frame.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise SamplesError(f"missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
    if frame.empty:
        raise SamplesError("no rows")
    n = len(frame)
    row_number = (
        frame["row_number"].to_numpy() if "row_number" in frame else np.arange(1, n + 1, dtype=np.int64)
    )
    codes, names = _names(frame["slo"])
    start, ts_checks = _parse_timestamps(frame["timestamp"])
    good, good_checks = _numeric(frame["good"], "good")
    total, total_checks = _numeric(frame["total"], "total")
    sizes = known_slos if isinstance(known_slos, Mapping) else {}
    default_b = np.array([sizes.get(name, DEFAULT_BUCKET_SECONDS) for name in names], dtype=np.int64)
    has_b = "bucket_seconds" in frame and not frame["bucket_seconds"].isna().all()
    bsec: np.ndarray
    if has_b:
        raw_b = frame["bucket_seconds"]
        bsec = _floats(raw_b) if _is_number_dtype(raw_b) else _floats(pd.to_numeric(raw_b, errors="coerce"))
    elif len(set(default_b.tolist())) <= 1:  # one size for every SLO: no per-row lookup
        bsec = np.full(n, int(default_b[0]) if len(default_b) else DEFAULT_BUCKET_SECONDS, dtype=np.int64)
    else:
        bsec = np.append(default_b, DEFAULT_BUCKET_SECONDS)[codes]
    value = (
        (
            _floats(frame["value"])
            if _is_number_dtype(frame["value"])
            else _floats(pd.to_numeric(frame["value"], errors="coerce"))
        )
        if "value" in frame
        else np.full(n, np.nan)
    )

    v = _Verdicts(n)
    v.flag(codes < 0, "slo", "missing slo", frame["slo"])
    if known_slos is not None:
        known = np.append(np.asarray(names.isin(list(known_slos)), dtype=bool), True)  # [-1]: missing
        v.flag(~known[codes], "slo", "unknown SLO (not in the catalog)", frame["slo"])
    for mask, why in ts_checks:
        v.flag(mask, "timestamp", why, frame["timestamp"])
    for mask, why in good_checks:
        v.flag(mask, "good", why, frame["good"])
    for mask, why in total_checks:
        v.flag(mask, "total", why, frame["total"])
    if has_b:
        with np.errstate(invalid="ignore"):
            bad_b = np.isnan(bsec) | (bsec <= 0) | (bsec != np.floor(bsec))
        v.flag(bad_b, "bucket_seconds", "must be a positive whole number of seconds", frame["bucket_seconds"])
    if "value" in frame:
        given = frame["value"].notna().to_numpy(dtype=bool)
        v.flag(given & ~np.isfinite(value), "value", "not a finite number", frame["value"])
    with np.errstate(invalid="ignore"):
        over = good > total
    v.flag(
        over,
        "good",
        lambda rows: [f"good > total (total={t!r})" for t in total[rows].tolist()],
        frame["good"],
    )
    all_ok = v.all_ok
    ok = np.ones(n, dtype=bool) if all_ok else v.ok
    b_int = (bsec if all_ok else np.where(ok, bsec, DEFAULT_BUCKET_SECONDS)).astype(np.int64)
    s_int = (start if all_ok else np.where(ok, start, 0)).astype(np.int64)
    one_b = n > 0 and int(b_int.min()) == int(b_int.max())
    misaligned = s_int % (int(b_int[0]) if one_b else b_int) != 0
    v.flag(
        misaligned if all_ok else ok & misaligned,
        "timestamp",
        lambda rows: [f"not aligned to bucket_seconds={b}" for b in b_int[rows].tolist()],
        frame["timestamp"],
    )
    okpos = _valid_positions(v)
    order = _sorted_order(_pick(codes, okpos), _pick(s_int, okpos))
    if order is not None:
        c, s = _pick(codes, okpos)[order], _pick(s_int, okpos)[order]
        same = (np.diff(c) == 0) & (np.diff(s) == 0)
        dup = np.zeros(c.size, dtype=bool)
        dup[1:] |= same
        dup[:-1] |= same
        if dup.any():
            mask = np.zeros(n, dtype=bool)
            mask[_pick(np.arange(n), okpos)[order[dup]]] = True
            v.flag(mask, "timestamp", "duplicate bucket for this slo", frame["timestamp"])
    if has_b and not one_b:
        okpos = np.flatnonzero(v.ok)
        b_ok = b_int[okpos]
        if b_ok.size and b_ok.min() != b_ok.max():
            grouped = pd.DataFrame({"c": codes[okpos], "b": b_ok, "row": row_number[okpos]}).groupby("c")
            first_b = grouped["b"].transform("first").to_numpy()
            first_row = grouped["row"].transform("first").to_numpy()
            mask = np.zeros(n, dtype=bool)
            mask[okpos[b_ok != first_b]] = True
            other_b = np.zeros(n, dtype=np.int64)
            other_row = np.zeros(n, dtype=np.int64)
            other_b[okpos], other_row[okpos] = first_b, first_row

            def mixed(rows: np.ndarray) -> list[str]:
                return [
                    f"bucket size {b_int[r]} s differs from {other_b[r]} s in row {other_row[r]} "
                    "of this SLO (one SLO keeps one bucket size)"
                    for r in rows.tolist()
                ]

            v.flag(mask, "bucket_seconds", mixed, frame["bucket_seconds"])
    final = _valid_positions(v)
    if final is not None or okpos is not None:
        order = _sorted_order(_pick(codes, final), _pick(s_int, final))
    take = final if order is None else _pick(np.arange(n), final)[order]
    clean = pd.DataFrame(
        {
            "slo": pd.Categorical.from_codes(_pick(codes, take), categories=names),
            "start": _pick(s_int, take),
            "good": _pick(good, take),
            "total": _pick(total, take),
            "value": _pick(value, take),
            "bucket_seconds": _pick(b_int, take),
        },
        copy=False,
    )
    return ValidatedSamples(clean=clean, rejected=v.rejected(frame, row_number))


def stage_raw(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Type raw rows for the pipeline's data-quality audit without rejecting anything.

    Unparseable values become nulls (the audit's not-null and finite rules then name them), so every
    row reaches the audit and is either staged or quarantined with a reason — none is lost here.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise SamplesError(f"{source}: missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
    frame = frame.reset_index(drop=True)
    seconds, checks = _parse_timestamps(frame["timestamp"])
    unusable = np.logical_or.reduce([mask for mask, _ in checks])
    start = pd.Series(np.where(unusable, np.nan, seconds), index=frame.index)
    out = pd.DataFrame(
        {
            "slo": frame["slo"].astype("string").str.strip(),
            "start": start.round().astype("Int64"),
            "good": pd.to_numeric(frame["good"], errors="coerce").astype("float64"),
            "total": pd.to_numeric(frame["total"], errors="coerce").astype("float64"),
            "value": pd.to_numeric(frame["value"], errors="coerce").astype("float64")
            if "value" in frame
            else np.nan,
            "bucket_seconds": pd.to_numeric(frame["bucket_seconds"], errors="coerce").astype("Int64")
            if "bucket_seconds" in frame
            else DEFAULT_BUCKET_SECONDS,
            "source": source,
            "row_number": frame["row_number"] if "row_number" in frame else np.arange(1, len(frame) + 1),
        }
    )
    out["bucket_seconds"] = out["bucket_seconds"].fillna(DEFAULT_BUCKET_SECONDS).astype("Int64")
    return out


def staged_buckets(buckets: pd.DataFrame, source: str) -> pd.DataFrame:
    """Already-typed buckets (slo, start, good, total, value, bucket_seconds) in the staged shape."""
    return pd.DataFrame(
        {
            "slo": buckets["slo"].astype("string"),
            "start": buckets["start"].astype("Int64"),
            "good": buckets["good"].astype("float64"),
            "total": buckets["total"].astype("float64"),
            "value": buckets["value"].astype("float64") if "value" in buckets else np.nan,
            "bucket_seconds": buckets.get("bucket_seconds", DEFAULT_BUCKET_SECONDS),
            "source": source,
            "row_number": np.arange(1, len(buckets) + 1),
        }
    ).astype({"bucket_seconds": "Int64"})
