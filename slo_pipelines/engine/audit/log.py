"""Audit-log entries and their hash chain (docs/auditors.md).

An entry is ``{"seq", "at", "actor", "action", "subject", "reason", "details", "prev_hash"}`` plus
``entry_hash`` = SHA-256 of the canonical JSON (the archive's, `engine.archive.chain.canonical_json`)
of those eight fields; ``prev_hash`` is the previous entry's ``entry_hash`` (64 zeros for seq 1) and
``seq`` counts from 1 without gaps. ``at`` is ``YYYY-MM-DDTHH:MM:SSZ`` UTC; ``details`` any JSON value.
"""

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from slo_pipelines.engine.archive.chain import GENESIS, canonical_json

ACTIONS = (
    "exclusion.add",
    "exclusion.approve",
    "exclusion.review",
    "exclusion.revoke",
    "policy.decision",
    "report.generate",
    "archive.write",
    "archive.prune",
    "access.grant",
    "release.gate",
    "release.flags",
    "release.plan",
    "release.canary",
    "release.rollback_check",
    "release.cab_assess",
)
HASHED_FIELDS = ("seq", "at", "actor", "action", "subject", "reason", "details", "prev_hash")


def entry_hash(entry: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json({k: entry[k] for k in HASHED_FIELDS})).hexdigest()


def next_entry(
    previous: Mapping[str, Any] | None,
    at: str,
    actor: str,
    action: str,
    subject: str,
    reason: str,
    details: Any,
) -> dict[str, Any]:
    """The entry after `previous`; ValueError for an unknown action or an empty actor."""
    if action not in ACTIONS:
        raise ValueError(f"audit_log.action: must be one of {', '.join(ACTIONS)} (got {action!r})")
    if not actor.strip():
        raise ValueError("audit_log.actor: must not be empty")
    entry: dict[str, Any] = {
        "seq": 1 if previous is None else int(previous["seq"]) + 1,
        "at": at,
        "actor": actor,
        "action": action,
        "subject": subject,
        "reason": reason,
        "details": details,
        "prev_hash": GENESIS if previous is None else str(previous["entry_hash"]),
    }
    entry["entry_hash"] = entry_hash(entry)
    return entry


def verify(entries: Sequence[Mapping[str, Any]]) -> list[str]:
    """One problem per rewritten, removed, inserted or reordered entry, named by seq."""
    problems = []
    previous: Mapping[str, Any] | None = None
    for entry in entries:
        seq = entry["seq"]
        if entry_hash(entry) != entry["entry_hash"]:
            problems.append(f"seq {seq}: modified entry ({entry['action']} {entry['subject']})")
        expected_seq = 1 if previous is None else int(previous["seq"]) + 1
        expected_prev = GENESIS if previous is None else previous["entry_hash"]
        if seq != expected_seq or entry["prev_hash"] != expected_prev:
            problems.append(
                f"chain broken at seq {seq}: expected seq {expected_seq} (entries removed or reordered)"
            )
        previous = entry
    return problems
