"""`slo demo`: the main job on the embedded default (SQLite), end to end, with per-asset progress."""

import argparse
from pathlib import Path
from typing import Any

from slo_pipelines.cli.common import UserError


def add_parsers(sub: "argparse._SubParsersAction[Any]") -> None:
    p = sub.add_parser(
        "demo",
        help="generate a fleet's history and run the whole Dagster graph locally",
        description="Generate minute-level history for the example fleet and run the whole Dagster graph "
        "on a persistent local instance (SQLite under DAGSTER_HOME); `make dev` shows the runs afterwards.",
    )
    p.add_argument("--days", type=int, default=90, help="days of minute-level history (default 90)")
    p.add_argument(
        "--out",
        default="out/demo",
        metavar="DIR",
        help="where reports (DIR/reports) and the compliance archive (DIR/archive) go (default out/demo)",
    )
    p.add_argument(
        "--catalog",
        default="examples/fleet",
        metavar="DIR",
        help="catalog directory (default examples/fleet)",
    )
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from slo_pipelines.demo.run import run_demo

    if args.days < 1:
        raise UserError(f"--days: must be >= 1 (got {args.days})", 2)
    return run_demo(days=args.days, out_dir=Path(args.out), catalog_dir=Path(args.catalog))
