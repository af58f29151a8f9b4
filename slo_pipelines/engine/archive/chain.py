"""The archive manifest as a hash chain (DESIGN.md §10).

`ARCHIVE/manifest.jsonl` holds one JSON object per line, appended and never rewritten::

    {"seq": 1, "path": "records/2026-10/budget-report/report.json", "sha256": HEX64, "bytes": 1234,
     "created_at": "2026-11-01T00:05:00Z", "record_class": "budget_report",
     "retain_until": "2029-11-01T00:05:00Z", "prev_hash": HEX64, "entry_hash": HEX64,
     "signature": HEX64}                                   # only when the archive is signed

- `seq` counts from 1 without gaps; `path` is relative to `ARCHIVE/`, under `records/`.
- `entry_hash` = SHA-256 (hex) of the canonical JSON of the entry without `entry_hash` and without
  `signature`; canonical = `json.dumps(entry, sort_keys=True, separators=(",", ":"),
  ensure_ascii=False)` encoded as UTF-8.
- `prev_hash` = the previous line's `entry_hash`; `GENESIS` (64 zeros) for seq 1.
- `signature` = HMAC-SHA256 with the key's UTF-8 bytes as key and the 64 ASCII hex characters of
  `entry_hash` as message, lower-case hex. It is what a rewrite of the whole chain cannot forge.
- A tombstone records the deletion of a record whose retention ended: `record_class` is `"tombstone"`,
  `path`, `sha256` and `bytes` repeat the deleted record's, `retain_until` is null (a tombstone is
  kept for ever), `created_at` is when it was deleted, plus `tombstone_of` (the deleted entry's seq),
  `pruned_by` and `reason`. After a valid tombstone the path must be absent from `records/`.

Retention (`RETENTION_YEARS`): financial records (SLA statements, compliance reports and the evidence
they rest on) are kept 7 years, budget reports 3 years; `retain_until` = `created_at` + that many
calendar years (29 February → 28 February).
"""

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64
MANIFEST = "manifest.jsonl"
RECORDS = "records"
TOMBSTONE = "tombstone"

# Record class -> years kept. SOX §802 and most financial regulators ask for 7 years; budget reports
# are operational and kept 3.
RETENTION_YEARS: dict[str, int] = {
    "sla_statement": 7,
    "compliance_report": 7,
    "budget_report": 3,
    "exclusions": 7,
    "incidents": 7,
    "digests": 7,
}

BASE_FIELDS = (
    "seq",
    "path",
    "sha256",
    "bytes",
    "created_at",
    "record_class",
    "retain_until",
    "prev_hash",
    "entry_hash",
)
TOMBSTONE_FIELDS = ("tombstone_of", "pruned_by", "reason")
_HEX = frozenset("0123456789abcdef")


class ArchiveError(ValueError):
    """A request the archive refuses (a path written twice, a prune before retention, a bad key...)."""


def canonical_json(entry: Mapping[str, Any]) -> bytes:
    """The exact bytes `entry_hash` is computed over (DESIGN.md §10)."""
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def entry_hash(entry: Mapping[str, Any]) -> str:
    """SHA-256 hex of the canonical JSON of `entry` without its `entry_hash` and `signature`."""
    body = {k: v for k, v in entry.items() if k not in ("entry_hash", "signature")}
    return hashlib.sha256(canonical_json(body)).hexdigest()


def sign(key: bytes, hash_hex: str) -> str:
    """HMAC-SHA256(key, entry_hash as ASCII hex), lower-case hex."""
    return hmac.new(key, hash_hex.encode("ascii"), hashlib.sha256).hexdigest()


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """`YYYY-MM-DDTHH:MM:SSZ` only: the one form the manifest writes."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def retain_until(created_at: datetime, record_class: str) -> datetime:
    """`created_at` plus the class's years; ArchiveError for a class without a retention rule."""
    years = RETENTION_YEARS.get(record_class)
    if years is None:
        known = ", ".join(sorted(RETENTION_YEARS))
        raise ArchiveError(f"record_class: no retention rule for {record_class!r} (known: {known})")
    try:
        return created_at.replace(year=created_at.year + years)
    except ValueError:  # 29 February in a year that has none
        return created_at.replace(year=created_at.year + years, day=28)


def new_entry(
    previous: Mapping[str, Any] | None,
    path: str,
    sha256: str,
    size: int,
    created_at: datetime,
    record_class: str,
    key: bytes | None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The next manifest entry after `previous` (None for the first), hashed and, with a key, signed."""
    until = None if record_class == TOMBSTONE else format_time(retain_until(created_at, record_class))
    entry: dict[str, Any] = {
        "seq": 1 if previous is None else int(previous["seq"]) + 1,
        "path": path,
        "sha256": sha256,
        "bytes": size,
        "created_at": format_time(created_at),
        "record_class": record_class,
        "retain_until": until,
        "prev_hash": GENESIS if previous is None else str(previous["entry_hash"]),
        **(extra or {}),
    }
    entry["entry_hash"] = entry_hash(entry)
    if key is not None:
        entry["signature"] = sign(key, entry["entry_hash"])
    return entry


def tombstone(
    previous: Mapping[str, Any],
    target: Mapping[str, Any],
    now: datetime,
    pruned_by: str,
    reason: str,
    key: bytes | None,
) -> dict[str, Any]:
    """The tombstone for deleting `target`; ArchiveError while its retention runs."""
    if target.get("record_class") == TOMBSTONE:
        raise ArchiveError(f"{target['path']}: already deleted (tombstone seq {target['seq']})")
    until = parse_time(str(target["retain_until"]))
    if now < until:
        raise ArchiveError(
            f"{target['path']}: retained until {target['retain_until']} ({target['record_class']}); "
            "nothing deleted"
        )
    return new_entry(
        previous,
        str(target["path"]),
        str(target["sha256"]),
        int(target["bytes"]),
        now,
        TOMBSTONE,
        key,
        {"tombstone_of": int(target["seq"]), "pruned_by": pruned_by, "reason": reason},
    )


# ---- reading and verifying ----------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedManifest:
    entries: list[dict[str, Any]]
    problems: list[str]


def _shape_problem(entry: Any) -> str | None:
    if not isinstance(entry, dict):
        return "not a JSON object"
    missing = [f for f in BASE_FIELDS if f not in entry]
    if missing:
        return f"missing field {missing[0]!r}"
    if not isinstance(entry["seq"], int) or isinstance(entry["seq"], bool) or entry["seq"] < 1:
        return f"seq: must be a positive integer (got {entry['seq']!r})"
    for field in ("sha256", "prev_hash", "entry_hash"):
        value = entry[field]
        if not isinstance(value, str) or len(value) != 64 or not set(value) <= _HEX:
            return f"{field}: must be 64 lower-case hex digits (got {value!r})"
    if not isinstance(entry["bytes"], int) or isinstance(entry["bytes"], bool) or entry["bytes"] < 0:
        return f"bytes: must be a non-negative integer (got {entry['bytes']!r})"
    path = entry["path"]
    if not isinstance(path, str) or not is_record_path(path):
        return f"path: must be a relative path under {RECORDS}/ (got {path!r})"
    for field in ("created_at",) + (() if entry["record_class"] == TOMBSTONE else ("retain_until",)):
        try:
            parse_time(entry[field])
        except (TypeError, ValueError):
            return f"{field}: must be YYYY-MM-DDTHH:MM:SSZ (got {entry[field]!r})"
    if entry["record_class"] == TOMBSTONE:
        missing = [f for f in TOMBSTONE_FIELDS if f not in entry]
        if missing:
            return f"tombstone without {missing[0]!r}"
    return None


def is_record_path(path: str) -> bool:
    parts = path.split("/")
    return (
        len(parts) >= 2
        and parts[0] == RECORDS
        and all(p not in ("", ".", "..") for p in parts)
        and "\\" not in path
    )


def parse_manifest(text: str) -> ParsedManifest:
    """Every well-formed entry, and one problem per garbage or truncated line (named by line number)."""
    entries: list[dict[str, Any]] = []
    problems: list[str] = []
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for number, line in enumerate(lines, start=1):
        try:
            entry = json.loads(line)
        except ValueError:
            shown = line if len(line) <= 40 else line[:37] + "..."
            problems.append(f"{MANIFEST} line {number}: not a JSON object (truncated or garbage: {shown!r})")
            continue
        shape = _shape_problem(entry)
        if shape is not None:
            problems.append(f"{MANIFEST} line {number}: {shape}")
            continue
        entries.append(entry)
    if text and not text.endswith("\n") and not problems:
        problems.append(f"{MANIFEST} line {len(lines)}: no final newline (truncated write)")
    return ParsedManifest(entries, problems)


def verify(
    manifest_text: str,
    files: Mapping[str, tuple[str, int]],
    key: bytes | None = None,
    expect_head: str | None = None,
) -> tuple[int, list[str]]:
    """(entries checked, problems): `files` maps every file under `records/` (path relative to the
    archive) to (sha256 hex, bytes), or to (why, -1) for a file whose bytes cannot be compared (a
    link, an unreadable file). Problems name the file or the seq; an empty list means intact."""
    parsed = parse_manifest(manifest_text)
    problems = list(parsed.problems)
    entries = parsed.entries
    previous: dict[str, Any] | None = None
    latest: dict[str, dict[str, Any]] = {}  # path -> last entry naming it
    by_seq: dict[int, dict[str, Any]] = {}
    for entry in entries:
        seq = entry["seq"]
        computed = entry_hash(entry)
        expected_prev = GENESIS if previous is None else previous["entry_hash"]
        expected_seq = 1 if previous is None else previous["seq"] + 1
        if computed != entry["entry_hash"]:
            problems.append(f"seq {seq}: modified entry ({entry['path']}): entry_hash does not match")
        if entry["prev_hash"] != expected_prev or seq != expected_seq:
            problems.append(
                f"chain broken at seq {seq}: expected seq {expected_seq} after "
                f"{'the start' if previous is None else 'seq ' + str(previous['seq'])} "
                "(entries reordered, removed or inserted)"
            )
        if key is not None:
            signature = entry.get("signature")
            if not isinstance(signature, str):
                problems.append(f"seq {seq}: bad signature ({entry['path']}): entry is not signed")
            elif not hmac.compare_digest(signature, sign(key, computed)):
                problems.append(f"seq {seq}: bad signature ({entry['path']})")
        problems.extend(_path_rules(entry, latest, by_seq))
        latest[entry["path"]] = entry
        by_seq.setdefault(seq, entry)
        previous = entry
    for path, entry in sorted(latest.items()):
        present = files.get(path)
        if entry["record_class"] == TOMBSTONE:
            if present is not None:
                problems.append(f"{path}: unexpected (deleted by tombstone seq {entry['seq']} but present)")
        elif present is None:
            problems.append(f"{path}: missing (seq {entry['seq']})")
        elif present != (entry["sha256"], entry["bytes"]):
            why = present[0] if present[1] < 0 else "sha256 or size differs"
            problems.append(f"{path}: modified (seq {entry['seq']}: {why})")
    for path in sorted(set(files) - set(latest)):
        problems.append(f"{path}: unexpected (not in the manifest)")
    if expect_head is not None:
        head = GENESIS if previous is None else previous["entry_hash"]
        if head != expect_head.strip().lower():
            problems.append(f"head mismatch: manifest head is {head}, expected {expect_head}")
    return len(entries), problems


def _path_rules(
    entry: Mapping[str, Any], latest: Mapping[str, Mapping[str, Any]], by_seq: Mapping[int, Mapping[str, Any]]
) -> list[str]:
    """A path is written once; a tombstone must delete that path's record after its retention."""
    seq, path = entry["seq"], entry["path"]
    before = latest.get(path)
    if entry["record_class"] != TOMBSTONE:
        if before is not None:
            return [f"seq {seq}: {path} written again (first written at seq {before['seq']})"]
        return []
    target = by_seq.get(entry["tombstone_of"]) if isinstance(entry["tombstone_of"], int) else None
    if target is None or target["path"] != path or before is None or before is not target:
        return [
            f"seq {seq}: tombstone for {path} names no live record (tombstone_of {entry['tombstone_of']!r})"
        ]
    if parse_time(entry["created_at"]) < parse_time(target["retain_until"]):
        return [f"seq {seq}: {path} deleted before its retention ended ({target['retain_until']})"]
    if (entry["sha256"], entry["bytes"]) != (target["sha256"], target["bytes"]):
        return [f"seq {seq}: tombstone for {path} does not match the deleted record's digest"]
    return []


def head(entries: Sequence[Mapping[str, Any]]) -> str:
    """The chain head: the last entry's hash, or GENESIS for an empty archive."""
    return GENESIS if not entries else str(entries[-1]["entry_hash"])
