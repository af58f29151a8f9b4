"""Assemble the budget report's data (results + burn-down series) from engine outputs; no rendering."""

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from slo_pipelines.catalog.edge_case_policy import (
    DEFAULT_POLICY,
    EdgeCasePolicy,
    PolicyResolutionError,
    catalog_policies,
    policy_for,
)
from slo_pipelines.catalog.journeys import journey_groups
from slo_pipelines.engine.budgets.evaluate import CatalogEvaluator
from slo_pipelines.engine.budgets.windows import window_bounds_series
from slo_pipelines.engine.common.timeutil import format_instant
from slo_pipelines.engine.exclusions.runtime import budget_restored

CHART_STEP_SECONDS = 3600


def budget_report(
    evaluator: CatalogEvaluator,
    at: int,
    title: str,
    events: Mapping[tuple[str, str], list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """Results at `at` plus, per SLO objective, hourly across its window: remaining budget, SLI, bad
    events consumed and allowed (and, for calendar Occurrences windows, the allowance projected to the
    whole period at the traffic seen so far); with `events` (see `window_events`), the alerts and
    policy decisions of each window."""
    results = evaluator.evaluate(at)
    policies = catalog_policies(evaluator.catalog.documents)
    series_by_key: dict[tuple[str, str], dict[str, list[Any]]] = {}
    restored: dict[tuple[str, str], dict[str, float]] = {}
    for r in results:
        slo = evaluator.catalog.slos[r.name]
        objective = next(o for o in slo.objectives if o.name == r.objective)
        first = -(-r.window_start // CHART_STEP_SECONDS) * CHART_STEP_SECONDS
        ev = evaluator.evaluator(slo, objective, first, at)
        ats = np.arange(first, at + 1, CHART_STEP_SECONDS, dtype=np.int64)
        s = ev.series(ats)
        allowed = s["allowed_bad"].to_numpy(dtype=float)
        projected = None
        if not slo.time_window.is_rolling and slo.budgeting_method == "Occurrences":
            starts, full_ends = window_bounds_series(slo.time_window, ats)
            elapsed = (ats - starts).astype(float)
            with np.errstate(divide="ignore", invalid="ignore"):
                projected = np.where(elapsed > 0, allowed * (full_ends - starts) / elapsed, np.nan)
        intervals = evaluator.intervals(slo, r.window_start, at)
        restored[(r.name, r.objective)] = {
            b.rule.name: b.bad
            for b in budget_restored(evaluator.by_slo[slo.data_key(objective)], intervals, r.window_start, at)
        }
        series_by_key[(r.name, r.objective)] = {
            "t": [int(x) for x in s["at"]],
            "remaining_ratio": [None if np.isnan(x) else float(x) for x in s["remaining_ratio"]],
            "sli": [None if np.isnan(x) else float(x) for x in s["sli"]],
            "consumed_bad": _floats(s["consumed_bad"]),
            "allowed_bad": _floats(allowed),
            **({"projected_allowed_bad": _floats(projected)} if projected is not None else {}),
        }
    return {
        "title": title,
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "at": format_instant(at),
        "catalog_digest": evaluator.catalog_digest,
        "slos": [
            dict(
                _with_restored(r.to_json(), restored.get((r.name, r.objective), {})),
                series=series_by_key[(r.name, r.objective)],
                events=[
                    e
                    for e in (events or {}).get((r.name, r.objective), [])
                    if e["t"] < at and (e.get("end") is None or e["end"] > r.window_start)
                ],
                edge_case_policy=_policy_line(policies, r.name, r.service),
            )
            for r in results
        ],
        "journeys": journey_groups(evaluator.catalog),
    }


def _floats(values: Any) -> list[float | None]:
    return [None if np.isnan(x) else float(x) for x in np.asarray(values, dtype=float)]


def window_events(
    alerts: pd.DataFrame,
    decisions: pd.DataFrame,
    incidents: Sequence[Mapping[str, Any]] = (),
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Alert events (warehouse `alert_events` rows), policy decisions (`policy_decisions` rows) and
    incidents per (slo, objective), as `{"t", "end", "kind": "alert"|"decision"|"incident", "severity",
    "label"}`, oldest first. `incidents`: one mapping per incident and affected SLO objective with `slo`,
    `objective`, `name`, `title`, `severity`, `start`, `end` (None while open) and
    `budget_consumed_ratio` (None when unknown), as `incident_impact` stores them (DESIGN.md §9)."""
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for i in incidents:
        end = None if i.get("end") is None else int(i["end"])
        until = "still open" if end is None else f"until {format_instant(end)}"
        consumed = i.get("budget_consumed_ratio")
        spent = "" if consumed is None else f"; spent {float(consumed) * 100:.1f} % of a period's budget"
        label = f"incident {i['name']} ({i['severity']}) from {format_instant(int(i['start']))} {until}"
        label += f": {i.get('title') or ''}{spent}"
        out.setdefault((str(i["slo"]), str(i["objective"])), []).append(
            {"t": int(i["start"]), "end": end, "kind": "incident", "severity": i["severity"], "label": label}
        )
    for a in alerts.to_dict("records"):
        ended = None if pd.isna(a["ended_at"]) else int(a["ended_at"])
        until = "still firing" if ended is None else f"until {format_instant(ended)}"
        label = (
            f"{a['severity']} alert from {format_instant(int(a['started_at']))} {until}: burn over "
            f"{a['long_window']} and {a['short_window']} above {float(a['threshold']):g}"
        )
        key = (str(a["slo"]), str(a["objective"]))
        out.setdefault(key, []).append(
            {
                "t": int(a["started_at"]),
                "end": ended,
                "kind": "alert",
                "severity": a["severity"],
                "label": label,
            }
        )
    for d in decisions.to_dict("records"):
        label = f"{d['action']} {d['state']} at {format_instant(int(d['at']))} ({d['policy']}): {d['reason']}"
        out.setdefault((str(d["slo"]), str(d["objective"])), []).append(
            {"t": int(d["at"]), "end": None, "kind": "decision", "severity": d["state"], "label": label}
        )
    for items in out.values():
        items.sort(key=lambda e: (e["t"], e["kind"]))
    return out


def _policy_line(policies: list[EdgeCasePolicy], slo: str, service: str) -> str | None:
    """How retries, timeouts, partial responses and sampling count for this SLO, when a policy says so."""
    try:
        policy = policy_for(policies, slo, service)
    except PolicyResolutionError as exc:
        return f"ambiguous: {exc}"
    return None if policy == DEFAULT_POLICY else policy.describe()


def _with_restored(result: dict[str, Any], restored: dict[str, float]) -> dict[str, Any]:
    """Each listed exclusion with the bad events it alone took out of this window (its restored budget)."""
    result["exclusions"] = [dict(e, restored_bad=restored.get(e["name"], 0.0)) for e in result["exclusions"]]
    return result


def report_for_slos(report: dict[str, Any], slos: set[str]) -> dict[str, Any]:
    """The report restricted to `slos` (a team's bundle): their results, journeys that touch only
    them, and exclusions of the register scoped to them or fleet-wide."""
    scopes = {f"slo:{name}" for name in slos}
    services = {s["service"] for s in report["slos"] if s["name"] in slos}
    scopes |= {f"service:{name}" for name in services} | {"all"}
    return {
        **report,
        "slos": [s for s in report["slos"] if s["name"] in slos],
        "journeys": {
            journey: members
            for journey, members in (report.get("journeys") or {}).items()
            if {str(m) for m in members} <= slos
        },
        "exclusion_register": [e for e in report.get("exclusion_register", []) if e.get("scope") in scopes],
    }
