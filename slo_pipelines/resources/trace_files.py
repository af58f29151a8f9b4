"""Reading the OpenTelemetry collector's `file` exporter output: JSON lines of OTLP trace exports.

The exporter appends one `{"resourceSpans": [...]}` object per line (JSON lines, UTF-8, `\\n`).
A truncated or garbled line (a collector killed mid-write, a rotated fragment) becomes a rejected
row with its line number and reason; the rest of the file is still read.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from slo_pipelines.engine.sli.otlp_spans import REJECTED_COLUMNS
from slo_pipelines.engine.sli.traces import TraceError

TRACE_SUFFIXES = (".jsonl", ".ndjson", ".json", ".log")
_SHOWN_CHARS = 60


@dataclass(frozen=True)
class TraceFile:
    records: list[tuple[int, object]]  # (line number, parsed JSON object)
    malformed: pd.DataFrame  # REJECTED_COLUMNS


def _excerpt(text: str) -> str:
    text = text.rstrip("\r\n")
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "…"


def read_trace_file(path: str | Path) -> TraceFile:
    """The parsed lines of an OTLP/JSON trace file, and every line that is not a JSON object."""
    p = Path(path)
    if p.suffix.lower() not in TRACE_SUFFIXES:
        raise TraceError(f"{p}: unsupported trace file type {p.suffix!r} (use .jsonl or .json)")
    if p.is_dir():
        raise TraceError(f"{p}: is a directory, not a file")
    if not p.is_file():
        raise TraceError(f"{p}: file not found")
    records: list[tuple[int, object]] = []
    broken: list[tuple[int, str, str, str, str, str]] = []
    with p.open(encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, start=1):
            text = line.lstrip("\ufeff")
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                broken.append((number, "", "", "line", _excerpt(text), f"not valid JSON ({exc.msg})"))
                continue
            if not isinstance(obj, dict):
                why = f"expected a JSON object (got {type(obj).__name__})"
                broken.append((number, "", "", "line", _excerpt(text), why))
                continue
            records.append((number, obj))
    if not records and not broken:
        raise TraceError(f"{p}: file is empty")
    malformed = pd.DataFrame.from_records(broken, columns=list(REJECTED_COLUMNS))
    malformed["row_number"] = malformed["row_number"].astype("int64")
    return TraceFile(records, malformed)
