"""`slo audit-log export|verify`: the warehouse's hash-chained record of who did what and why.

`export --since T` prints one JSON object per line, oldest first, with `seq`, `at`, `actor`, `action`,
`subject`, `reason`, `details`, `team`, `prev_hash` and `entry_hash` (docs/auditors.md). `verify`
exits 0 with a last line `N entries verified`, or 1 with one line per problem naming the seq.
"""

import argparse
import json
import os
from typing import Any

from slo_pipelines.cli.common import EXIT_INVALID, EXIT_USAGE, INSTANT_HELP, UserError, instant_argument

DEFAULT_WAREHOUSE_URL = "sqlite:///.slo/warehouse.db"


def add_parsers(sub: "argparse._SubParsersAction[Any]") -> None:
    p = sub.add_parser("audit-log", help="export or verify the hash-chained audit log")
    actions = p.add_subparsers(
        dest="audit_log_command", required=True, parser_class=type(p), metavar="ACTION"
    )
    export = actions.add_parser("export", help="audit entries as JSON lines, oldest first")
    export.add_argument("--since", type=instant_argument("--since"), help=f"first instant ({INSTANT_HELP})")
    warehouse_option(export)
    export.set_defaults(func=cmd_export)
    verify = actions.add_parser("verify", help="check the audit log's hash chain")
    warehouse_option(verify)
    verify.set_defaults(func=cmd_verify)


def warehouse_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--warehouse-url",
        default=None,
        help=f"SQLAlchemy URL (default $SLO_WAREHOUSE_URL, else {DEFAULT_WAREHOUSE_URL})",
    )


def open_warehouse(url: str | None) -> Any:
    """The warehouse with its schema checked; a bad URL is a usage error, a damaged table exit 1."""
    import sqlalchemy as sa

    from slo_pipelines.resources.warehouse import WarehouseResource
    from slo_pipelines.resources.warehouse_schema import AppendOnlyGuardError

    warehouse = WarehouseResource(url=url or os.environ.get("SLO_WAREHOUSE_URL") or DEFAULT_WAREHOUSE_URL)
    try:
        warehouse.ensure_schema()
    except AppendOnlyGuardError as exc:
        raise UserError(str(exc)) from None
    except ValueError as exc:
        raise UserError(f"--warehouse-url: {str(exc).removeprefix('warehouse url: ')}", EXIT_USAGE) from None
    except sa.exc.OperationalError as exc:  # no such database, server down, refused login
        raise UserError(f"--warehouse-url: {database_error(exc)}", EXIT_USAGE) from None
    return warehouse


def database_error(exc: Exception) -> str:
    """The first line of the database's own message (the DB-API error, not SQLAlchemy's wrapper)."""
    origin = getattr(exc, "orig", None)
    return (str(exc) if origin is None else str(origin)).strip().splitlines()[0]


def cmd_export(args: argparse.Namespace) -> int:
    from slo_pipelines.engine.common.timeutil import format_instant

    warehouse = open_warehouse(args.warehouse_url)
    since = None if args.since is None else format_instant(args.since)
    for entry in warehouse.read_audit_log(since):
        print(json.dumps(entry, sort_keys=True, ensure_ascii=False))
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from slo_pipelines.engine.audit.log import verify

    entries = open_warehouse(args.warehouse_url).read_audit_log()
    problems = verify(entries)
    for line in problems:
        print(line)
    if problems:
        return EXIT_INVALID
    print(f"{len(entries)} entries verified")
    return 0
