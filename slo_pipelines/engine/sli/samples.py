"""Validation of raw SLI sample rows (the samples format of DESIGN.md §6), vectorised with pandas.

Every rejected row keeps its reason (field, value, rule) so the CLI can fail with a precise one-line
error and the pipeline can quarantine it instead of dropping it.
"""

from collections.abc import Collection, Mapping
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


def _parse_timestamps(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(epoch seconds as float, reason or '') for ISO-with-offset or Unix-seconds values."""
    text = raw.astype("string").str.strip()
    numeric = pd.to_numeric(text, errors="coerce")
    is_num = numeric.notna()
    iso = pd.to_datetime(text.where(~is_num), format="ISO8601", utc=True, errors="coerce")
    iso_seconds = (iso - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)
    has_offset = text.str.contains(_OFFSET_RE, regex=True, na=False)
    seconds = pd.Series(np.where(is_num, numeric, iso_seconds), index=raw.index, dtype="float64")
    reason = pd.Series("", index=raw.index, dtype=object)
    reason[raw.isna() | (text == "")] = "missing timestamp"
    bad_iso = ~is_num & (reason == "") & iso.isna()
    reason[bad_iso] = "not an ISO 8601 timestamp or Unix seconds"
    no_offset = ~is_num & (reason == "") & ~has_offset
    reason[no_offset] = "timestamp has no UTC offset"
    out_of_range = (reason == "") & ~seconds.between(MIN_INSTANT, MAX_INSTANT)
    reason[out_of_range] = "timestamp out of range (1970 to 2255)"
    frac = (reason == "") & (seconds != np.floor(seconds))
    reason[frac] = "timestamp must be whole seconds"
    return seconds, reason


# No real bucket holds 10^15 events; beyond it sums lose integer precision and ratios lose meaning.
MAX_COUNT = 1e15


def _is_bool(raw: pd.Series) -> pd.Series:
    """JSON `true` / Parquet booleans: pandas would read them as 1 and 0, which is never meant."""
    if raw.dtype == bool or str(raw.dtype) == "boolean":
        return raw.notna()
    if raw.dtype == object:
        return raw.map(lambda v: isinstance(v, bool | np.bool_)).astype(bool)
    return pd.Series(False, index=raw.index)


def _numeric(raw: pd.Series, name: str) -> tuple[pd.Series, pd.Series]:
    boolean = _is_bool(raw)
    values = pd.to_numeric(raw.where(~boolean), errors="coerce").astype("float64")
    reason = pd.Series("", index=raw.index, dtype=object)
    reason[raw.isna()] = f"missing {name}"
    reason[(reason == "") & boolean] = "not a number (a boolean)"
    reason[(reason == "") & values.isna()] = "not a number"
    reason[(reason == "") & ~np.isfinite(values.fillna(0))] = "not a finite number"
    reason[(reason == "") & (values < 0)] = "must be >= 0"
    reason[(reason == "") & (values >= MAX_COUNT)] = "too large (must be < 1e15)"
    return values, reason


def validate_samples(
    frame: pd.DataFrame, known_slos: Mapping[str, int] | Collection[str] | None = None
) -> ValidatedSamples:
    """Split raw rows into clean buckets and rejected rows; the first failing rule per row is its reason.

    With `known_slos` as a mapping of SLO name to its catalog bucket size, rows default to that size and
    a row declaring another size is rejected (the catalog's timeslice checks assume it).
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise SamplesError(f"missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
    if frame.empty:
        raise SamplesError("no rows")
    frame = frame.reset_index(drop=True)
    if "row_number" not in frame:
        frame["row_number"] = np.arange(1, len(frame) + 1)
    slo = frame["slo"].astype("string").str.strip()
    start, ts_reason = _parse_timestamps(frame["timestamp"])
    good, good_reason = _numeric(frame["good"], "good")
    total, total_reason = _numeric(frame["total"], "total")
    catalog_b = (
        slo.map(dict(known_slos)).astype("float64")
        if isinstance(known_slos, Mapping)
        else pd.Series(np.nan, index=frame.index)
    )
    default_b = catalog_b.fillna(DEFAULT_BUCKET_SECONDS)
    if "bucket_seconds" in frame:
        bsec = pd.to_numeric(frame["bucket_seconds"], errors="coerce")
        bsec = bsec.fillna(default_b) if frame["bucket_seconds"].isna().all() else bsec
    else:
        bsec = default_b
    value = (
        pd.to_numeric(frame["value"], errors="coerce").astype("float64")
        if "value" in frame
        else pd.Series(np.nan, index=frame.index)
    )

    field = pd.Series("", index=frame.index, dtype=object)
    reason = pd.Series("", index=frame.index, dtype=object)
    shown = pd.Series("", index=frame.index, dtype=object)

    def flag(mask: pd.Series, name: str, why: pd.Series | str, raw: pd.Series) -> None:
        m = mask & (reason == "")
        field[m] = name
        reason[m] = why[m] if isinstance(why, pd.Series) else why
        shown[m] = raw[m].astype("string").fillna("")

    flag(slo.isna() | (slo == ""), "slo", "missing slo", frame["slo"])
    if known_slos is not None:
        flag(~slo.isin(list(known_slos)), "slo", "unknown SLO (not in the catalog)", frame["slo"])
    flag(ts_reason != "", "timestamp", ts_reason, frame["timestamp"])
    flag(good_reason != "", "good", good_reason, frame["good"])
    flag(total_reason != "", "total", total_reason, frame["total"])
    if "bucket_seconds" in frame:
        bad_b = bsec.isna() | (bsec <= 0) | (bsec != np.floor(bsec.fillna(0)))
        flag(bad_b, "bucket_seconds", "must be a positive whole number of seconds", frame["bucket_seconds"])
        differs = catalog_b.notna() & (bsec != catalog_b)
        why = (
            "differs from the catalog's bucket size for this SLO ("
            + catalog_b.astype("Int64").astype(str)
            + " s)"
        )
        flag(differs, "bucket_seconds", why, frame["bucket_seconds"])
    if "value" in frame:
        bad_v = frame["value"].notna() & ~np.isfinite(value.fillna(0)) | (
            frame["value"].notna() & value.isna()
        )
        flag(bad_v, "value", "not a finite number", frame["value"])
    flag(good > total, "good", "good > total (total=" + total.astype("string") + ")", frame["good"])
    ok = reason == ""
    b_int = bsec.where(ok, DEFAULT_BUCKET_SECONDS).astype("int64")
    s_int = start.where(ok, 0).astype("int64")
    flag(
        ok & ((s_int % b_int) != 0),
        "timestamp",
        "not aligned to bucket_seconds=" + b_int.astype(str),
        frame["timestamp"],
    )
    ok = reason == ""
    dup = ok & pd.DataFrame({"slo": slo, "start": s_int}).where(ok).duplicated(keep=False)
    flag(dup, "timestamp", "duplicate bucket for this slo", frame["timestamp"])
    ok = reason == ""
    per_slo = pd.DataFrame({"slo": slo[ok], "b": b_int[ok]}).groupby("slo")["b"].nunique()
    mixed = slo.isin(list(per_slo[per_slo > 1].index))
    flag(ok & mixed, "bucket_seconds", "several bucket sizes for one SLO", frame.get("bucket_seconds", b_int))
    ok = reason == ""

    clean = pd.DataFrame(
        {
            "slo": slo[ok].astype(str).to_numpy(dtype=object),
            "start": s_int[ok].to_numpy(dtype=np.int64),
            "good": good[ok].to_numpy(dtype=np.float64),
            "total": total[ok].to_numpy(dtype=np.float64),
            "value": value[ok].to_numpy(dtype=np.float64),
            "bucket_seconds": b_int[ok].to_numpy(dtype=np.int64),
        }
    ).sort_values(["slo", "start"], kind="stable", ignore_index=True)
    rejected = frame.loc[~ok, [c for c in frame.columns]].copy()
    rejected["field"] = field[~ok]
    rejected["value_shown"] = shown[~ok]
    rejected["reason"] = reason[~ok]
    rejected = rejected.rename(columns={"value": "sample_value"}).rename(columns={"value_shown": "value"})
    return ValidatedSamples(clean=clean, rejected=rejected.reset_index(drop=True))


def stage_raw(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Type raw rows for the pipeline's data-quality audit without rejecting anything.

    Unparseable values become nulls (the audit's not-null and finite rules then name them), so every
    row reaches the audit and is either staged or quarantined with a reason — none is lost here.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise SamplesError(f"{source}: missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
    frame = frame.reset_index(drop=True)
    start, reason = _parse_timestamps(frame["timestamp"])
    start = start.where(reason == "")
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
