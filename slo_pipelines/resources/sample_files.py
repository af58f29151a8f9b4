"""Reading sample files (CSV, JSONL, Parquet) into raw string-preserving frames.

Plain functions without Dagster, so `slo evaluate` stays an engine-only command; the drop-directory
resource builds on them. Values are kept as read (strings for CSV) so rejections can quote them.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from slo_pipelines.engine.sli.samples import SamplesError

SUFFIXES = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}


def sample_format(path: Path) -> str:
    try:
        return SUFFIXES[path.suffix.lower()]
    except KeyError:
        raise SamplesError(
            f"{path}: unsupported file type {path.suffix!r} (use .csv, .jsonl or .parquet)"
        ) from None


def _read_jsonl(path: Path) -> pd.DataFrame:
    records: list[dict[str, object]] = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise SamplesError(f"{path} line {number}: not valid JSON ({exc.msg})") from None
            if not isinstance(obj, dict):
                raise SamplesError(f"{path} line {number}: expected a JSON object (got {type(obj).__name__})")
            obj["row_number"] = number
            records.append(obj)
    return pd.DataFrame.from_records(records)


def _read_parquet(path: Path) -> pd.DataFrame:
    """Typed columns as they are; a text `slo` column as a dictionary (categorical): a few distinct
    names over millions of rows, so it is read and compared once per name, not once per row."""
    schema = pq.read_schema(path)
    text = [
        f.name
        for f in schema
        if f.name == "slo" and (pa.types.is_string(f.type) or pa.types.is_large_string(f.type))
    ]
    return pq.read_table(path, read_dictionary=text).to_pandas(split_blocks=True, self_destruct=True)


def read_samples(path: str | Path) -> pd.DataFrame:
    """Raw rows with a `row_number` (the line in CSV/JSONL, 1-based row in Parquet)."""
    p = Path(path)
    kind = sample_format(p)
    if p.is_dir():
        raise SamplesError(f"{p}: is a directory, not a file")
    if not p.is_file():
        raise SamplesError(f"{p}: file not found")
    if p.stat().st_size == 0:
        raise SamplesError(f"{p}: file is empty")
    try:
        if kind == "csv":
            frame = pd.read_csv(p, dtype=str, keep_default_na=False, na_values=[""], skipinitialspace=True)
            frame["row_number"] = frame.index + 2
        elif kind == "jsonl":
            frame = _read_jsonl(p)
        else:
            frame = _read_parquet(p)
            frame["row_number"] = np.arange(1, len(frame) + 1)
    except SamplesError:
        raise
    except (
        ValueError,
        OSError,
        UnicodeDecodeError,
        pd.errors.ParserError,
        pd.errors.EmptyDataError,
        pa.ArrowException,
    ) as exc:
        raise SamplesError(f"{p}: cannot read {kind}: {str(exc).splitlines()[0]}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def write_samples(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write buckets in the samples format (timestamp as ISO 8601 UTC), format chosen by suffix."""
    p = Path(path)
    kind = sample_format(p)
    out = frame.copy()
    if "start" in out and "timestamp" not in out:
        out.insert(
            1,
            "timestamp",
            pd.to_datetime(out.pop("start"), unit="s", utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.tmp")
    if kind == "csv":
        out.to_csv(tmp, index=False)
    elif kind == "jsonl":
        out.to_json(tmp, orient="records", lines=True)
    else:
        out.to_parquet(tmp, index=False)
    tmp.replace(p)
    return p
