"""The evidence archived beside a closed period's reports, as JSON documents (DESIGN.md §10):
`exclusions.json` (what applied, who asked, approved and reviewed), `digests.json` (catalog and input
digests plus the headline numbers, which `slo archive recompute` compares), and the comparison itself."""

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

NUMBERS = ("good", "total", "sli", "coverage")
BUDGET_NUMBERS = ("allowed_bad", "consumed_bad", "remaining_ratio")
TOLERANCE = 1e-9


def to_bytes(document: Any) -> bytes:
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n").encode(
        "utf-8"
    )


def exclusions_evidence(
    period: str, runtime: Iterable[Mapping[str, Any]], report: Mapping[str, Any]
) -> dict[str, Any]:
    """Runtime exclusions on record (with review state) and, per SLO objective, those that touched
    its window in the period's report (catalog ones included)."""
    return {
        "period": period,
        "runtime_exclusions": list(runtime),
        "applied": [
            {"slo": s["name"], "objective": s["objective"], "exclusions": s.get("exclusions", [])}
            for s in report["slos"]
        ],
    }


def digests_evidence(
    period: str, start: str, end: str, report: Mapping[str, Any], inputs: Mapping[str, str]
) -> dict[str, Any]:
    """The identity of every number of the period: catalog digest, input digests, headline numbers."""
    return {
        "period": period,
        "start": start,
        "end": end,
        "evaluated_at": report["at"],
        "catalog_digest": report["catalog_digest"],
        "inputs_sha256": dict(inputs),
        "slos": [result_numbers(s) for s in report["slos"]],
    }


def result_numbers(result: Mapping[str, Any]) -> dict[str, Any]:
    budget = result.get("error_budget") or {}
    return {
        "name": result["name"],
        "objective": result["objective"],
        **{k: result.get(k) for k in NUMBERS},
        **{k: budget.get(k) for k in BUDGET_NUMBERS},
        "status": result.get("status"),
        "digest": result.get("digest"),
    }


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return math.isclose(float(a), float(b), rel_tol=TOLERANCE, abs_tol=TOLERANCE)
    return bool(a == b)


def compare(archived: Sequence[Mapping[str, Any]], recomputed: Sequence[Mapping[str, Any]]) -> list[str]:
    """One line per difference between archived and recomputed numbers (empty when they agree to 1e-9)."""
    problems = []
    fresh = {(r["name"], r["objective"]): r for r in recomputed}
    for old in archived:
        key = (old["name"], old["objective"])
        new = fresh.pop(key, None)
        if new is None:
            problems.append(f"{key[0]}/{key[1]}: archived but not recomputed")
            continue
        for field in (*NUMBERS, *BUDGET_NUMBERS, "status", "digest"):
            if not _same(old.get(field), new.get(field)):
                problems.append(
                    f"{key[0]}/{key[1]} {field}: archived {old.get(field)!r}, recomputed {new.get(field)!r}"
                )
    problems += [f"{name}/{objective}: recomputed but not archived" for name, objective in fresh]
    return problems
