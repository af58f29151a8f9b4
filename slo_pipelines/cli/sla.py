"""`slo sla evaluate` (DESIGN.md §6) and `slo sla gaps`: SLA contracts over a contractual period.

`slo sla evaluate --catalog DIR --samples FILE --period 2026-10|2026-Q4 [--format json|table|csv]`
prints, per contract, `{"contracts": [{"name", "customer", "period": {"start", "end"}, "minutes_total",
"minutes_excluded", "minutes_down", "attainment_percent", "target", "met", "credit_percent",
"credit_amount", ...}]}`. The period is read in each contract's time zone; `period.start` / `end` are
UTC instants with `Z` like every other instant the command prints, and `start_local` / `end_local` give
the same instants with the zone's offset. Exclusions honoured (and those not honoured) are listed with
reason, approver and minutes. With `--warehouse URL` (or `SLO_WAREHOUSE_URL` set) the runtime exclusions
recorded there count like the catalog's.
"""

import argparse
import json
import os
import sys
from typing import Any

from slo_pipelines.catalog import Catalog, load_catalog
from slo_pipelines.cli.common import (
    EXIT_USAGE,
    UserError,
    add_format_option,
    read_checked_samples,
    render_table,
)
from slo_pipelines.cli.evaluate import SAMPLES_HELP

PERIOD_HELP = "contractual period: YYYY-MM (a month) or YYYY-Qn (a quarter), read in each contract's zone"


def parse_period_argument(text: str) -> Any:
    """argparse `type` for `--period`: a `PeriodLabel`."""
    from slo_pipelines.engine.sla.periods import PeriodError, parse_period

    try:
        return parse_period(text)
    except PeriodError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


parse_period_argument.__name__ = "period"


def add_parsers(sub: "argparse._SubParsersAction[Any]") -> None:
    p = sub.add_parser("sla", help="SLA contracts: period statements and SLO/SLA gaps")
    sla_sub = p.add_subparsers(dest="sla_command", required=True, metavar="COMMAND")
    e = sla_sub.add_parser(
        "evaluate",
        help="attainment, downtime and credits of every contract for a period",
        description="Evaluate every SLAContract of the catalog over one contractual period.",
    )
    e.add_argument("--catalog", required=True, metavar="DIR", help="catalog directory")
    e.add_argument("--samples", required=True, metavar="FILE", help=SAMPLES_HELP)
    e.add_argument("--period", required=True, type=parse_period_argument, help=PERIOD_HELP)
    e.add_argument(
        "--contract", action="append", default=[], metavar="NAME", help="only this contract (repeatable)"
    )
    e.add_argument(
        "--warehouse",
        "--warehouse-url",
        dest="warehouse",
        metavar="URL",
        help="also honour the runtime exclusions recorded in this warehouse (default $SLO_WAREHOUSE_URL)",
    )
    add_format_option(e)
    e.set_defaults(func=cmd_sla_evaluate)

    g = sla_sub.add_parser(
        "gaps",
        help="SLO <-> SLA gaps: missing SLOs, looser objectives, misaligned windows, intervals, coverage",
        description="List where the catalog's SLOs do not back its SLA contracts. With --samples and "
        "--period, also the SLOs whose data covers too little of that period.",
    )
    g.add_argument("--catalog", required=True, metavar="DIR", help="catalog directory")
    g.add_argument("--samples", metavar="FILE", help=f"{SAMPLES_HELP}; needs --period")
    g.add_argument("--period", type=parse_period_argument, help=PERIOD_HELP)
    g.add_argument(
        "--min-coverage",
        type=float,
        default=0.9,
        metavar="RATIO",
        help="coverage below this share of eligible minutes is a gap (default 0.9)",
    )
    add_format_option(g)
    g.set_defaults(func=cmd_sla_gaps)


def with_warehouse_exclusions(catalog: Catalog, url: str | None) -> Catalog:
    """The catalog plus the active runtime exclusions of the warehouse at `url` (or $SLO_WAREHOUSE_URL)."""
    chosen = url or os.environ.get("SLO_WAREHOUSE_URL")
    if not chosen:
        return catalog
    from slo_pipelines.engine.exclusions.runtime import with_runtime_exclusions
    from slo_pipelines.resources.warehouse import WarehouseResource

    warehouse = WarehouseResource(url=chosen)
    try:
        warehouse.ensure_schema()
        events = warehouse.read_exclusion_events()
        reviews = warehouse.read_exclusion_reviews()
    except ValueError as exc:
        raise UserError(f"--warehouse: {str(exc).removeprefix('warehouse url: ')}", EXIT_USAGE) from None
    return with_runtime_exclusions(catalog, events, reviews)


def cmd_sla_evaluate(args: argparse.Namespace) -> int:
    from slo_pipelines.engine.sla.minutes import SLAInputError
    from slo_pipelines.engine.sla.statement import evaluate_contracts
    from slo_pipelines.reports.sla_tables import (
        CONTRACT_HEADERS,
        CSV_HEADERS,
        EXCLUSION_HEADERS,
        contract_rows,
        exclusion_rows,
    )

    catalog = with_warehouse_exclusions(load_catalog(args.catalog), args.warehouse)
    frame = read_checked_samples(catalog, args.samples)
    try:
        statements = evaluate_contracts(catalog, frame, args.period, args.contract)
    except KeyError as exc:
        raise UserError(
            f"--contract: no SLAContract named {exc.args[0]!r} in {args.catalog}", EXIT_USAGE
        ) from None
    except SLAInputError as exc:
        raise UserError(f"{args.samples}: {exc}") from None
    contracts = [s.to_json() for s in statements]
    if args.format == "json":
        payload = {"period": str(args.period), "catalog_digest": catalog.digest(), "contracts": contracts}
        print(json.dumps(payload, indent=2, ensure_ascii=False, allow_nan=False))
    elif args.format == "csv":
        print(render_table(contract_rows(contracts, machine=True), CSV_HEADERS, "csv"))
    else:
        print(render_table(contract_rows(contracts), CONTRACT_HEADERS, "table"))
        excluded = exclusion_rows(contracts)
        if excluded:
            print()
            print(render_table(excluded, EXCLUSION_HEADERS, "table"))
    sys.stdout.flush()
    return 0


GAP_HEADERS = ["CONTRACT", "SLO", "OBJECTIVE", "CHECK", "DETAIL"]


def cmd_sla_gaps(args: argparse.Namespace) -> int:
    from slo_pipelines.catalog.sla_contract import catalog_sla_contracts
    from slo_pipelines.engine.sla.gaps import contract_gaps
    from slo_pipelines.engine.sla.minutes import SLAInputError
    from slo_pipelines.engine.sla.statement import evaluate_contracts

    if (args.samples is None) != (args.period is None):
        raise UserError("--samples and --period go together (coverage is measured over a period)", EXIT_USAGE)
    if not 0 <= args.min_coverage <= 1:
        raise UserError(f"--min-coverage: must be between 0 and 1 (got {args.min_coverage!r})", EXIT_USAGE)
    catalog = load_catalog(args.catalog)
    coverage = None
    if args.samples is not None:
        frame = read_checked_samples(catalog, args.samples)
        try:
            statements = evaluate_contracts(catalog, frame, args.period)
        except SLAInputError as exc:
            raise UserError(f"{args.samples}: {exc}") from None
        coverage = {
            (s.contract.name, slo): share for s in statements for slo, share in s.slo_coverage.items()
        }
    gaps = [
        g.to_json()
        for g in contract_gaps(
            catalog_sla_contracts(catalog.documents), catalog.slos, coverage, args.min_coverage
        )
    ]
    if args.format == "json":
        payload = {"period": None if args.period is None else str(args.period), "gaps": gaps}
        print(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        rows = [[g["contract"], g["slo"], g["objective"] or "", g["check"], g["detail"]] for g in gaps]
        print(render_table(rows, GAP_HEADERS, args.format))
    sys.stdout.flush()
    return 0
