"""`slo incidents impact`: the impact of incidents on their SLOs from files alone (DESIGN.md §9).

Exit 0 with the report, 1 for invalid data (catalog, samples, incidents file, an open incident that
starts after --at), 2 for usage (an open incident without --at).
"""

import argparse
import json
import os
import sys
from typing import Any

from slo_pipelines.catalog import load_catalog
from slo_pipelines.cli.common import (
    EXIT_USAGE,
    INSTANT_HELP,
    UserError,
    add_format_option,
    instant_argument,
    read_checked_samples,
    render_table,
)
from slo_pipelines.cli.evaluate import SAMPLES_HELP

IMPACT_HEADERS = [
    "INCIDENT",
    "SEVERITY",
    "EXPECTED",
    "SLO",
    "OBJECTIVE",
    "METHOD",
    "BAD",
    "TOTAL",
    "BUDGET CONSUMED",
    "ATTRIBUTED BAD",
    "PEAK BURN 1H",
]


def add_parsers(sub: "argparse._SubParsersAction[Any]") -> None:
    group = sub.add_parser(
        "incidents",
        help="incident impact on SLOs",
        description="Incidents: impact on the SLOs they affect, attribution across overlapping incidents.",
    )
    inner = group.add_subparsers(dest="incidents_command", required=True, metavar="COMMAND")
    p = inner.add_parser(
        "impact",
        help="budget consumed by each incident, per affected SLO (engine only)",
        description=(
            "Per incident and affected SLO objective (Dependency documents carry impact from an upstream "
            "to its dependents): bad/total in the incident window, budget consumed, peak 1 h burn rate, "
            "attribution across overlapping incidents, expected vs declared severity."
        ),
    )
    p.add_argument("--catalog", required=True, metavar="DIR", help="catalog directory")
    p.add_argument("--samples", required=True, metavar="FILE", help=SAMPLES_HELP)
    p.add_argument(
        "--incidents",
        required=True,
        metavar="FILE",
        help="YAML documents of kind Incident, or a JSON list of them",
    )
    p.add_argument(
        "--at",
        type=instant_argument("--at"),
        help=f"measure open incidents up to this instant (required when one is open): {INSTANT_HELP}",
    )
    add_format_option(p)
    p.set_defaults(func=cmd_impact)

    p = inner.add_parser(
        "rank",
        help="budget consumed by root cause and by service over a range, ranked",
        description=(
            "Attributed budget consumed by the incidents starting in [--from, --to) (default: the UTC "
            "calendar quarter holding --at), summed by root cause and by service, largest first."
        ),
    )
    _inputs(p)
    p.add_argument(
        "--from", dest="range_from", type=instant_argument("--from"), help=f"range start: {INSTANT_HELP}"
    )
    p.add_argument(
        "--to", dest="range_to", type=instant_argument("--to"), help=f"range end (exclusive): {INSTANT_HELP}"
    )
    add_format_option(p)
    p.set_defaults(func=cmd_rank)

    p = inner.add_parser(
        "postmortem",
        help="postmortem evidence of one incident as HTML and Markdown",
        description=(
            "Write postmortem.html and postmortem.md for --incident: impact per SLO, a burn chart of the "
            "incident window with its alerts, exclusions that applied, declared vs expected severity, "
            "attribution across overlapping incidents."
        ),
    )
    _inputs(p)
    p.add_argument("--incident", required=True, help="the incident's metadata.name")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    p.set_defaults(func=cmd_postmortem)

    p = inner.add_parser(
        "reconcile",
        help="audit: SLO evidence (pages, budget cost) against the incident records",
        description=(
            "Findings naming the incident and the SLO: pages no incident covers, incidents without "
            "measurable impact, start/end drift beyond --tolerance, severity mismatches."
        ),
    )
    _inputs(p)
    p.add_argument("--tolerance", default="15m", help="allowed drift, e.g. 15m or 1h (default 15m)")
    p.add_argument(
        "--warehouse",
        metavar="URL",
        help="read every recorded version of the incidents from this warehouse (default $SLO_WAREHOUSE_URL), "
        "to find incidents edited after their postmortem",
    )
    add_format_option(p)
    p.set_defaults(func=cmd_reconcile)

    p = inner.add_parser(
        "runbook",
        help="runbook snippet of a service: SLOs, budgets, cost of an outage minute, escalation",
        description=(
            "A service's SLOs, their budgets at --at (with --samples), what one minute of full outage "
            "costs each in budget percent, and the escalation of the service's Team."
        ),
    )
    p.add_argument("--catalog", required=True, metavar="DIR", help="catalog directory")
    p.add_argument("--service", required=True, help="service name")
    p.add_argument("--samples", metavar="FILE", help=SAMPLES_HELP + " (budgets now)")
    p.add_argument("--at", type=instant_argument("--at"), help=f"instant of the budgets: {INSTANT_HELP}")
    add_format_option(p)
    p.set_defaults(func=cmd_runbook)


def _inputs(p: argparse.ArgumentParser) -> None:
    p.add_argument("--catalog", required=True, metavar="DIR", help="catalog directory")
    p.add_argument("--samples", required=True, metavar="FILE", help=SAMPLES_HELP)
    p.add_argument(
        "--incidents", required=True, metavar="FILE", help="YAML documents of kind Incident, or a JSON list"
    )
    p.add_argument(
        "--at", type=instant_argument("--at"), help=f"measure open incidents up to here: {INSTANT_HELP}"
    )


def impact_rows(payload: dict[str, Any]) -> list[list[str]]:
    def num(x: float | None, spec: str) -> str:
        return "—" if x is None else format(x, spec)

    rows = []
    for incident in payload["incidents"]:
        expected = incident["expected_severity"] or "—"
        if incident["severity_mismatch"]:
            expected += " (mismatch)"
        for s in incident["slos"] or [{}]:
            ratio = s.get("budget_consumed_ratio")
            rows.append(
                [
                    incident["name"],
                    incident["severity"],
                    expected,
                    s.get("name", "—"),
                    s.get("objective", "—"),
                    s.get("budgeting_method", "—"),
                    num(s.get("bad"), "g"),
                    num(s.get("total"), "g"),
                    "—" if ratio is None else f"{ratio * 100:.2f}%",
                    num(s.get("attributed_bad"), "g"),
                    num(s.get("peak_burn_rate_1h"), ".2f"),
                ]
            )
    return rows


def _impacts(args: argparse.Namespace) -> tuple[Any, list[Any]]:
    from slo_pipelines.catalog.incidents import load_incidents, severity_tiers
    from slo_pipelines.engine.incidents.impact import IncidentImpactError, incident_impacts

    catalog = load_catalog(args.catalog)
    incidents = load_incidents(args.incidents, catalog)
    open_ones = [i.name for i in incidents if i.end is None]
    if open_ones and args.at is None:
        raise UserError(
            f"{args.incidents}: incident {open_ones[0]} is open (no spec.end): give --at to measure it up to",
            EXIT_USAGE,
        )
    buckets = read_checked_samples(catalog, args.samples)
    try:
        return catalog, incident_impacts(catalog, buckets, incidents, args.at, severity_tiers(catalog))
    except IncidentImpactError as exc:
        raise UserError(f"{args.incidents}: {exc}") from None


def cmd_impact(args: argparse.Namespace) -> int:
    from slo_pipelines.engine.common.timeutil import format_instant

    catalog, impacts = _impacts(args)
    payload: dict[str, Any] = {
        "at": None if args.at is None else format_instant(args.at),
        "catalog_digest": catalog.digest(),
        "incidents": [i.to_json() for i in impacts],
    }
    if args.format == "json":
        print(json.dumps(payload, indent=2, allow_nan=False))
    else:
        print(render_table(impact_rows(payload), IMPACT_HEADERS, args.format))
    sys.stdout.flush()
    return 0


def cmd_rank(args: argparse.Namespace) -> int:
    import time

    from slo_pipelines.engine.common.timeutil import format_instant
    from slo_pipelines.engine.incidents.ranking import quarter_containing, rank

    _, impacts = _impacts(args)
    start, end = quarter_containing(args.at if args.at is not None else int(time.time()))
    start = args.range_from if args.range_from is not None else start
    end = args.range_to if args.range_to is not None else end
    if end <= start:
        raise UserError(
            f"--to must be after --from (got {format_instant(start)} .. {format_instant(end)})", EXIT_USAGE
        )
    ranked = rank(impacts, start, end)
    payload: dict[str, Any] = {
        "range": {"start": format_instant(start), "end": format_instant(end)},
        "root_causes": [r.to_json() for r in ranked["root_causes"]],
        "services": [r.to_json() for r in ranked["services"]],
    }
    if args.format == "json":
        print(json.dumps(payload, indent=2, allow_nan=False))
        return 0
    rows = [
        [kind, r["name"], f"{r['budget_consumed'] * 100:.2f}%", " ".join(r["incidents"])]
        for kind, key in (("root cause", "root_causes"), ("service", "services"))
        for r in payload[key]
    ]
    print(render_table(rows, ["BY", "NAME", "BUDGET CONSUMED", "INCIDENTS"], args.format))
    return 0


def cmd_runbook(args: argparse.Namespace) -> int:
    from slo_pipelines.engine.alerting.policies import warning_thresholds
    from slo_pipelines.engine.budgets.evaluate import CatalogEvaluator
    from slo_pipelines.engine.incidents.runbook import runbook

    catalog = load_catalog(args.catalog)
    if not any(s.service == args.service for s in catalog.slos.values()):
        known = sorted({s.service for s in catalog.slos.values()})
        raise UserError(
            f"--service: no SLO of this service in {args.catalog} "
            f"(got {args.service!r}; known: {', '.join(known)})"
        )
    if (args.samples is None) != (args.at is None):
        raise UserError("give --samples and --at together (budgets now), or neither", EXIT_USAGE)
    results = None
    if args.samples is not None:
        evaluator = CatalogEvaluator(
            catalog, read_checked_samples(catalog, args.samples), warning_thresholds(catalog)
        )
        results = evaluator.evaluate(args.at)
    snippet = runbook(catalog, args.service, results)
    if args.format == "json":
        print(json.dumps(snippet, indent=2, allow_nan=False, default=str))
        return 0
    rows = [
        [
            s["slo"],
            s["objective"],
            s["window"],
            f"{s['target'] * 100:.3f}%",
            "—" if s["remaining_ratio"] is None else f"{s['remaining_ratio'] * 100:.1f}%",
            f"{s['outage_minute_cost'] * 100:.3f}%",
        ]
        for s in snippet["slos"]
    ]
    table = render_table(
        rows, ["SLO", "OBJECTIVE", "WINDOW", "TARGET", "BUDGET LEFT", "1 MIN OUTAGE COSTS"], args.format
    )
    if args.format == "csv":
        print(table)
        return 0
    print(f"service {args.service} (team {snippet['team'] or '—'})")
    print(table)
    for step in snippet["escalation"] or []:
        shown = ", ".join(f"{k} {v}" for k, v in step.items()) if isinstance(step, dict) else str(step)
        print(f"escalation: {shown}")
    return 0


def cmd_postmortem(args: argparse.Namespace) -> int:
    from pathlib import Path

    from slo_pipelines.engine.incidents.postmortem import postmortem_evidence
    from slo_pipelines.reports.postmortem import render_postmortem

    catalog, impacts = _impacts(args)
    names = [i.incident.name for i in impacts]
    if args.incident not in names:
        raise UserError(f"--incident: no incident of this name in {args.incidents} (got {args.incident!r})")
    evidence = postmortem_evidence(
        catalog, read_checked_samples(catalog, args.samples), impacts, args.incident
    )
    rendered = render_postmortem(evidence)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        for suffix, text in rendered.items():
            (out / f"postmortem.{suffix}").write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"--out: cannot write to {out}: {exc.strerror or exc}") from None
    print(f"{out / 'postmortem.html'}\n{out / 'postmortem.md'}")
    return 0


def _history(args: argparse.Namespace, impacts: Any) -> dict[str, Any] | None:
    """Every stored version of each incident (by name), when a warehouse is given or configured."""
    url = args.warehouse or os.environ.get("SLO_WAREHOUSE_URL")
    if not url:
        return None
    from slo_pipelines.cli.audit_log import open_warehouse
    from slo_pipelines.resources.incident_store import IncidentStore, incident_key

    store = IncidentStore(open_warehouse(url))
    history = {}
    for impact in impacts:
        system, source_id, _ = incident_key(impact.incident)
        history[impact.incident.name] = store.history(system, source_id)
    return history


def cmd_reconcile(args: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd

    from slo_pipelines.catalog.durations import DurationError, parse_fixed_seconds
    from slo_pipelines.engine.alerting.events import alert_events
    from slo_pipelines.engine.budgets.evaluate import CatalogEvaluator
    from slo_pipelines.engine.incidents.reconcile import reconcile

    try:
        tolerance = parse_fixed_seconds(args.tolerance)
    except DurationError as exc:
        raise UserError(f"--tolerance: {exc}", EXIT_USAGE) from None
    catalog, impacts = _impacts(args)
    buckets = read_checked_samples(catalog, args.samples)
    frames = []
    if not buckets.empty:
        start = int(np.asarray(buckets["start"]).min())
        end = int(np.asarray(buckets["start"]).max()) + 60
        if args.at is not None:
            end = min(end, args.at)
        evaluator = CatalogEvaluator(catalog, buckets)
        for slo, objective, series in evaluator.series(start, end):
            events = alert_events(
                slo.name, objective.name, slo.time_window.duration.nominal_seconds(), series
            )
            frames.append(events[events["severity"] == "page"])
    pages = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=["slo", "objective", "started_at", "ended_at"])
    )
    findings = [f.to_json() for f in reconcile(impacts, pages, tolerance, _history(args, impacts))]
    if args.format == "json":
        print(json.dumps({"tolerance_seconds": tolerance, "findings": findings}, indent=2))
        return 0
    rows = [[f["kind"], f["incident"] or "—", f["slo"] or "—", f["detail"]] for f in findings]
    print(render_table(rows, ["FINDING", "INCIDENT", "SLO", "DETAIL"], args.format))
    return 0
