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


def _read_jsonl(path: Path, bad_lines: list[dict[str, object]] | None) -> pd.DataFrame:
    records: list[dict[str, object]] = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                problem = (
                    "" if isinstance(obj, dict) else f"expected a JSON object (got {type(obj).__name__})"
                )
            except json.JSONDecodeError as exc:
                problem = f"not valid JSON ({exc.msg})"
            if problem:
                if bad_lines is None:
                    raise SamplesError(f"{path} line {number}: {problem}")
                bad_lines.append({"row_number": number, "raw": line.rstrip("\r\n"), "reason": problem})
                continue
            obj["row_number"] = number
            records.append(obj)
    if not records and bad_lines:
        return pd.DataFrame(columns=["slo", "timestamp", "good", "total", "row_number"])
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


def read_samples(path: str | Path, bad_lines: list[dict[str, object]] | None = None) -> pd.DataFrame:
    """Raw rows with a `row_number` (the line in CSV/JSONL, 1-based row in Parquet).

    A JSONL line that is not a JSON object (a truncated last line, say) fails the whole read, unless
    `bad_lines` is given: then it is appended there as {row_number, raw (the line's text), reason} and
    the other lines are read, so the pipeline can quarantine that line alone.
    """
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
            # blank lines kept (then dropped) so that row_number is the row's line in the file
            frame = pd.read_csv(
                p,
                dtype=str,
                keep_default_na=False,
                na_values=[""],
                skipinitialspace=True,
                skip_blank_lines=False,
            )
            frame["row_number"] = frame.index + 2
            frame = frame[frame.drop(columns="row_number").notna().any(axis=1)].reset_index(drop=True)
        elif kind == "jsonl":
            frame = _read_jsonl(p, bad_lines)
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


def original_rows(path: Path, rows: pd.DataFrame) -> list[object]:
    """The rows exactly as the file holds them, for quarantine: the line's text for CSV and JSONL (by
    `row_number`), the row's values for Parquet (which has no text). `rows` needs `row_number`."""
    numbers = [int(n) if pd.notna(n) else None for n in rows["row_number"]]
    if sample_format(path) == "parquet":
        table = pd.read_parquet(path)
        picked: list[object] = []
        for n in numbers:
            if n is None or not 1 <= n <= len(table):
                picked.append(None)
            else:
                picked.append({str(k): v for k, v in table.iloc[n - 1].items()})
        return picked
    wanted = {n for n in numbers if n is not None}
    texts: dict[int, str] = {}
    with path.open(encoding="utf-8", errors="replace", newline="") as fh:
        for number, line in enumerate(fh, start=1):
            if number in wanted:
                texts[number] = line.rstrip("\r\n")
                if len(texts) == len(wanted):
                    break
    return [texts.get(n) if n is not None else None for n in numbers]


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
