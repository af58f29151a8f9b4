"""OTLP/JSON trace exports (the collector's `file` exporter) flattened into one row per span.

The OTLP JSON encoding is the proto3 JSON mapping with OTLP's deviations: `traceId`/`spanId`/
`parentSpanId` are case-insensitive hex (16 and 8 bytes), enums (`status.code`, `kind`) are integers,
64-bit integers (`startTimeUnixNano`, `intValue`) are decimal strings though numbers are accepted,
fields holding a default value (an empty `parentSpanId` on a root span, status code 0) may be absent,
and unknown fields are ignored. Each line of the file is one `{"resourceSpans": [...]}` object.

A span that cannot be read is rejected with its line and reason instead of dropped: its trace would
otherwise look complete while missing a part, and its latency would be wrong.
"""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

SPAN_COLUMNS = (
    "row_number",
    "trace_id",
    "span_id",
    "parent_span_id",
    "service",
    "name",
    "kind",
    "start_ns",
    "end_ns",
    "status_code",
)
REJECTED_COLUMNS = ("row_number", "trace_id", "span_id", "field", "value", "reason")
UNKNOWN_SERVICE = "unknown_service"  # what OpenTelemetry SDKs report when service.name is not set
STATUS_UNSET, STATUS_OK, STATUS_ERROR = 0, 1, 2
_STATUS_NAMES = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}
_TRACE_ID = re.compile(r"[0-9a-fA-F]{32}")
_SPAN_ID = re.compile(r"[0-9a-fA-F]{16}")
_SHOWN_CHARS = 60


@dataclass(frozen=True)
class SpanFrames:
    spans: pd.DataFrame  # SPAN_COLUMNS plus one column per attribute of interest
    rejected: pd.DataFrame  # REJECTED_COLUMNS, one row per unreadable span or envelope


class _Bad(ValueError):
    def __init__(self, field: str, value: object, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.value = value
        self.reason = reason


def _shown(value: object) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "…"


def any_value(value: object) -> object:
    """The Python value of an OTLP `AnyValue`; arrays, maps and bytes are kept as their JSON text."""
    if not isinstance(value, dict) or not value:
        return None
    if "stringValue" in value:
        return str(value["stringValue"])
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "intValue" in value:
        try:
            return int(value["intValue"])
        except (TypeError, ValueError):
            return str(value["intValue"])
    if "doubleValue" in value:
        try:
            return float(value["doubleValue"])
        except (TypeError, ValueError):
            return str(value["doubleValue"])
    return str(next(iter(value.values())))


def attributes(raw: object) -> dict[str, object]:
    """`[{"key": k, "value": AnyValue}, ...]` as a dict; malformed entries are skipped."""
    out: dict[str, object] = {}
    if not isinstance(raw, list):
        return out
    for item in raw:
        if isinstance(item, dict) and isinstance(item.get("key"), str):
            out[item["key"]] = any_value(item.get("value"))
    return out


def _hex_id(span: dict[str, Any], key: str, pattern: re.Pattern[str], *, required: bool) -> str:
    value = span.get(key)
    if value is None or value == "":
        if required:
            raise _Bad(key, value, f"missing {key}")
        return ""
    if not isinstance(value, str) or not pattern.fullmatch(value):
        size = "32" if pattern is _TRACE_ID else "16"
        raise _Bad(key, value, f"{key} must be {size} hex digits")
    if set(value) == {"0"}:
        raise _Bad(key, value, f"{key} must not be all zeroes")
    return value.lower()


def _nanos(span: dict[str, Any], key: str) -> int:
    value = span.get(key)
    if value is None or value == "":
        raise _Bad(key, value, f"missing {key}")
    if isinstance(value, bool):
        raise _Bad(key, value, f"{key} must be an integer number of nanoseconds")
    try:
        nanos = int(value) if isinstance(value, int | str) else int(str(value))
    except ValueError:
        raise _Bad(key, value, f"{key} must be an integer number of nanoseconds") from None
    if nanos <= 0:
        raise _Bad(key, value, f"{key} must be > 0")
    return nanos


def _status(span: dict[str, Any]) -> int:
    status = span.get("status")
    if status is None:
        return STATUS_UNSET
    if not isinstance(status, dict):
        raise _Bad("status", status, "status must be an object")
    code = status.get("code", STATUS_UNSET)
    if isinstance(code, str) and code in _STATUS_NAMES:
        return _STATUS_NAMES[code]
    if isinstance(code, int) and not isinstance(code, bool) and code in (0, 1, 2):
        return code
    raise _Bad("status.code", code, "status.code must be 0 (unset), 1 (ok) or 2 (error)")


def _span_row(span: dict[str, Any], service: str, resource: dict[str, object], keys: Sequence[str]) -> dict:
    trace_id = _hex_id(span, "traceId", _TRACE_ID, required=True)
    span_id = _hex_id(span, "spanId", _SPAN_ID, required=True)
    parent = _hex_id(span, "parentSpanId", _SPAN_ID, required=False)
    name = span.get("name")
    if name is not None and not isinstance(name, str):
        raise _Bad("name", name, "name must be a string")
    start = _nanos(span, "startTimeUnixNano")
    end = _nanos(span, "endTimeUnixNano")
    if end < start:
        raise _Bad("endTimeUnixNano", end, "span ends before it starts")
    kind = span.get("kind", 0)
    own = attributes(span.get("attributes"))
    row: dict[str, object] = {
        "trace_id": trace_id,
        "span_id": span_id,
        "parent_span_id": parent,
        "service": service,
        "name": name or "",
        "kind": kind if isinstance(kind, int) and not isinstance(kind, bool) else 0,
        "start_ns": start,
        "end_ns": end,
        "status_code": _status(span),
    }
    for key in keys:
        row[key] = own.get(key, resource.get(key))
    return row


def flatten_otlp(records: Iterable[tuple[int, object]], attribute_keys: Sequence[str] = ()) -> SpanFrames:
    """One row per span of `(line number, parsed JSON line)` records, with unreadable spans rejected.

    `attribute_keys` become columns: the span's attribute, else its resource's, else None.
    """
    keys = [k for k in dict.fromkeys(attribute_keys) if k not in SPAN_COLUMNS]
    rows: list[dict[str, object]] = []
    bad: list[tuple[int, str, str, str, str, str]] = []
    for number, record in records:
        if not isinstance(record, dict) or not isinstance(record.get("resourceSpans"), list):
            bad.append((number, "", "", "resourceSpans", _shown(record), "not an OTLP trace export line"))
            continue
        for rs in record["resourceSpans"]:
            rs = rs if isinstance(rs, dict) else {}
            resource = attributes((rs.get("resource") or {}).get("attributes"))
            name = resource.get("service.name")
            service = name if isinstance(name, str) and name else UNKNOWN_SERVICE
            for ss in rs.get("scopeSpans") or []:
                for span in (ss.get("spans") if isinstance(ss, dict) else None) or []:
                    try:
                        if not isinstance(span, dict):
                            raise _Bad("span", span, "a span must be an object")
                        row = _span_row(span, service, resource, keys)
                    except _Bad as exc:
                        got = span if isinstance(span, dict) else {}
                        trace = got.get("traceId")
                        span_id = got.get("spanId")
                        bad.append(
                            (
                                number,
                                trace.lower() if isinstance(trace, str) else "",
                                span_id.lower() if isinstance(span_id, str) else "",
                                exc.field,
                                _shown(exc.value),
                                exc.reason,
                            )
                        )
                        continue
                    row["row_number"] = number
                    rows.append(row)
    columns = [*SPAN_COLUMNS, *keys]
    spans = pd.DataFrame.from_records(rows, columns=columns)
    for column in ("row_number", "kind", "start_ns", "end_ns", "status_code"):
        spans[column] = spans[column].astype("int64")
    rejected = pd.DataFrame.from_records(bad, columns=list(REJECTED_COLUMNS))
    rejected["row_number"] = rejected["row_number"].astype("int64")
    return SpanFrames(spans, rejected)
