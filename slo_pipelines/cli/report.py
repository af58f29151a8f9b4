"""`slo report --period 2026-10|2026-Q4`: the compliance report of a contractual period from a samples
file (the engine alone, no Dagster): per contract an HTML statement, JSON and CSV, and an executive
summary (`index.html`) across contracts with the trend over the previous periods.

A month label reports the monthly contracts, a quarter label the quarterly ones, each read in its zone.
"""

import argparse
import sys
from typing import Any

from slo_pipelines.catalog import load_catalog
from slo_pipelines.cli.common import EXIT_USAGE, UserError, read_checked_samples
from slo_pipelines.cli.evaluate import SAMPLES_HELP
from slo_pipelines.cli.sla import (
    PERIOD_HELP,
    parse_period_argument,
    with_warehouse_exclusions,
)


def add_parsers(sub: "argparse._SubParsersAction[Any]") -> None:
    p = sub.add_parser(
        "report",
        help="compliance report of a contract period (HTML, JSON, CSV per contract, and a summary)",
        description="Write the compliance report of one contractual period from a samples file.",
    )
    p.add_argument("--catalog", required=True, metavar="DIR", help="catalog directory")
    p.add_argument("--samples", required=True, metavar="FILE", help=SAMPLES_HELP)
    p.add_argument("--period", required=True, type=parse_period_argument, help=PERIOD_HELP)
    p.add_argument(
        "--out", default="out/reports", metavar="DIR", help="report directory (default out/reports)"
    )
    p.add_argument(
        "--warehouse",
        "--warehouse-url",
        dest="warehouse",
        metavar="URL",
        help="also honour the runtime exclusions recorded in this warehouse (default $SLO_WAREHOUSE_URL)",
    )
    p.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from slo_pipelines.engine.common.timeutil import format_instant
    from slo_pipelines.engine.sla.minutes import SLAInputError
    from slo_pipelines.engine.sla.report_model import period_report, reported_contracts
    from slo_pipelines.resources.report_store import ReportStoreResource

    catalog = with_warehouse_exclusions(load_catalog(args.catalog), args.warehouse)
    if not reported_contracts(catalog, [args.period]):
        kind = "monthly" if args.period.months == 1 else "quarterly"
        raise UserError(f"--period {args.period}: {args.catalog} has no {kind} SLAContract", EXIT_USAGE)
    frame = read_checked_samples(catalog, args.samples)
    now = format_instant(int(datetime.now(UTC).timestamp()))
    try:
        report = period_report(catalog, frame, args.period, f"SLA compliance {args.period}", now)
    except SLAInputError as exc:
        raise UserError(f"{args.samples}: {exc}") from None
    try:
        paths = ReportStoreResource(base_dir=args.out).write_compliance(f"sla-{args.period}", report)
    except OSError as exc:
        raise UserError(f"--out {args.out}: {exc.strerror or exc}", EXIT_USAGE) from None
    summary = report["summary"]
    owed = (
        ", ".join(f"{o['amount']} {o['currency'] or ''}".strip() for o in summary["credits_owed"]) or "none"
    )
    counts = f"{summary['contracts']} contracts: {summary['met']} met, {summary['missed']} missed"
    print(f"{counts}; credits owed: {owed}")
    print(f"report: {paths['html']}")
    sys.stdout.flush()
    return 0
