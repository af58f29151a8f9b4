"""`slo incidents impact`: the impact of incidents on their SLOs from files alone (DESIGN.md §9).

Exit 0 with the report, 1 for invalid data (catalog, samples, incidents file, an open incident that
starts after --at), 2 for usage (an open incident without --at).
"""

import argparse
import json
import sys
from typing import Any

from slo_pipelines.catalog import load_catalog
from slo_pipelines.cli.common import (
    EXIT_USAGE,
    INSTANT_HELP,
    UserError,
    add_format_option,
    instant_argument,
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


def cmd_impact(args: argparse.Namespace) -> int:
    from slo_pipelines.catalog.incidents import load_incidents, severity_tiers
    from slo_pipelines.engine.common.timeutil import format_instant
    from slo_pipelines.engine.incidents.impact import IncidentImpactError, incident_impacts
    from slo_pipelines.engine.sli.samples import SamplesError, validate_samples
    from slo_pipelines.resources.sample_files import read_samples

    catalog = load_catalog(args.catalog)
    incidents = load_incidents(args.incidents, catalog)
    open_ones = [i.name for i in incidents if i.end is None]
    if open_ones and args.at is None:
        raise UserError(
            f"{args.incidents}: incident {open_ones[0]} is open (no spec.end): give --at to measure it up to",
            EXIT_USAGE,
        )
    raw = read_samples(args.samples)
    try:
        checked = validate_samples(raw, known_slos={n: s.bucket_seconds for n, s in catalog.slos.items()})
    except SamplesError as exc:
        raise UserError(f"{args.samples}: {exc}") from None
    if not checked.rejected.empty:
        raise UserError(checked.first_error(args.samples))
    try:
        impacts = incident_impacts(catalog, checked.clean, incidents, args.at, severity_tiers(catalog))
    except IncidentImpactError as exc:
        raise UserError(f"{args.incidents}: {exc}") from None
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
