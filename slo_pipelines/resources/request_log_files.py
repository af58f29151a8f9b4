"""Reading request logs (JSONL or CSV access logs) into raw frames, keeping broken lines as rejections.

Real access logs contain truncated lines, stray banners and rotated fragments. One bad line must
not stop ingestion of a million good ones, nor vanish: each becomes a rejected row with its line
number and reason, and the rest of the file is read.
"""

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from slo_pipelines.engine.sli.request_logs import REJECTED_COLUMNS, RequestLogError

LOG_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".log": "jsonl", ".csv": "csv"}
_SHOWN_CHARS = 60


@dataclass(frozen=True)
class RequestLog:
    lines: pd.DataFrame  # one row per readable line, values as read, plus row_number (line in the file)
    malformed: pd.DataFrame  # row_number, slo (empty), field, value, reason


def _excerpt(text: str) -> str:
    text = text.rstrip("\r\n")
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "…"


def _malformed(rows: list[tuple[int, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "row_number": pd.Series([r[0] for r in rows], dtype="int64"),
            "slo": pd.Series([""] * len(rows), dtype=object),
            "field": pd.Series(["line"] * len(rows), dtype=object),
            "value": pd.Series([r[1] for r in rows], dtype=object),
            "reason": pd.Series([r[2] for r in rows], dtype=object),
        },
        columns=list(REJECTED_COLUMNS),
    )


def _read_jsonl(path: Path) -> RequestLog:
    records: list[dict[str, object]] = []
    broken: list[tuple[int, str, str]] = []
    with path.open(encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                broken.append((number, _excerpt(line), f"not valid JSON ({exc.msg})"))
                continue
            if not isinstance(obj, dict):
                broken.append((number, _excerpt(line), f"expected a JSON object (got {type(obj).__name__})"))
                continue
            obj["row_number"] = number
            records.append(obj)
    return RequestLog(pd.DataFrame.from_records(records), _malformed(broken))


def _read_csv(path: Path) -> RequestLog:
    records: list[dict[str, object]] = []
    broken: list[tuple[int, str, str]] = []
    with path.open(encoding="utf-8", errors="replace", newline="") as fh:
        reader = csv.reader(fh, skipinitialspace=True)
        try:
            header = [name.strip() for name in next(reader)]
        except StopIteration:
            raise RequestLogError(f"{path}: the CSV file has no header line") from None
        if not any(header):
            raise RequestLogError(f"{path}: the CSV file has no header line (line 1 is empty)")
        if len(set(header)) != len(header) or "" in header:
            raise RequestLogError(f"{path} line 1: the header needs distinct, non-empty field names")
        try:
            for row in reader:
                number = reader.line_num
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) != len(header):
                    broken.append(
                        (number, _excerpt(",".join(row)), f"{len(row)} fields, the header has {len(header)}")
                    )
                    continue
                record: dict[str, object] = {
                    name: (cell if cell.strip() else None) for name, cell in zip(header, row, strict=True)
                }
                record["row_number"] = number
                records.append(record)
        except csv.Error as exc:
            broken.append((reader.line_num, "", f"unreadable CSV from here on ({exc})"))
    return RequestLog(pd.DataFrame.from_records(records), _malformed(broken))


def read_request_log(path: str | Path) -> RequestLog:
    """The lines of a JSONL (.jsonl, .ndjson, .json, .log) or CSV access log."""
    p = Path(path)
    kind = LOG_SUFFIXES.get(p.suffix.lower())
    if kind is None:
        raise RequestLogError(f"{p}: unsupported log type {p.suffix!r} (use .jsonl or .csv)")
    if not p.is_file():
        raise RequestLogError(f"{p}: file not found")
    if p.stat().st_size == 0:
        raise RequestLogError(f"{p}: file is empty")
    log = _read_jsonl(p) if kind == "jsonl" else _read_csv(p)
    if log.lines.empty and log.malformed.empty:
        raise RequestLogError(f"{p}: no log lines")
    log.lines.columns = [str(c).strip() for c in log.lines.columns]
    return log
