"""`slo access grant`: give an existing PostgreSQL role a product role (DESIGN.md §12).

`--role viewer|team_admin --team T` binds the role to one team of the catalog; `auditor` (reads all,
writes nothing) and `admin` take no team. The warehouse comes from `SLO_WAREHOUSE_URL` (or
`--warehouse-url`) and must be PostgreSQL: SQLite is a single-user file with no access control.
Unknown team or database role: exit 1; a bad combination of options: exit 2.
"""

import argparse
import getpass
from typing import Any

from slo_pipelines.cli.audit_log import database_error, open_warehouse, warehouse_option
from slo_pipelines.cli.common import EXIT_USAGE, UserError

ROLES = ("viewer", "team_admin", "auditor", "admin")


def add_parsers(sub: "argparse._SubParsersAction[Any]") -> None:
    p = sub.add_parser("access", help="team access control on the PostgreSQL warehouse")
    actions = p.add_subparsers(dest="access_command", required=True, parser_class=type(p), metavar="ACTION")
    grant = actions.add_parser("grant", help="grant a product role to an existing database role")
    grant.add_argument(
        "--catalog", required=True, metavar="DIR", help="catalog directory (teams and services)"
    )
    grant.add_argument(
        "--role",
        required=True,
        choices=ROLES,
        help="viewer: its team's rows; team_admin: also its team's exclusions; "
        "auditor: reads all, writes nothing; admin: everything",
    )
    grant.add_argument("--team", help="the team (viewer and team_admin only)")
    grant.add_argument("--db-role", required=True, metavar="NAME", help="an existing database role")
    grant.add_argument("--by", default=None, help="who grants (default: the current user)")
    warehouse_option(grant)
    grant.set_defaults(func=cmd_grant)


def cmd_grant(args: argparse.Namespace) -> int:
    from slo_pipelines.catalog import load_catalog
    from slo_pipelines.catalog.teams import slo_teams, team_names

    if args.role in ("viewer", "team_admin") and not args.team:
        raise UserError(f"--team: required for role {args.role}", EXIT_USAGE)
    if args.role in ("auditor", "admin") and args.team:
        raise UserError(f"--team: role {args.role} covers every team (got {args.team!r})", EXIT_USAGE)
    catalog = load_catalog(args.catalog)
    teams = team_names(catalog)
    if args.team and args.team not in teams:
        raise UserError(f"--team: unknown team {args.team!r} (catalog teams: {', '.join(teams) or 'none'})")
    warehouse = open_warehouse(args.warehouse_url)
    engine = warehouse.get_engine()
    if engine.dialect.name != "postgresql":
        raise UserError(
            "access control needs the PostgreSQL warehouse: SQLite is a single-user file without roles"
        )
    import sqlalchemy as sa

    from slo_pipelines.resources.warehouse_access import grant, sync_slo_teams

    by = args.by or getpass.getuser()
    try:
        with engine.begin() as conn:
            sync_slo_teams(conn, slo_teams(catalog))
            statements = grant(conn, args.db_role, args.role, args.team, by)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    except sa.exc.DBAPIError as exc:  # e.g. the connecting role may not grant on the owner's tables
        raise UserError(f"grant to {args.db_role}: {database_error(exc)}") from None
    warehouse.append_audit(
        by,
        "access.grant",
        args.db_role,
        f"granted {args.role}" + (f" on team {args.team}" if args.team else ""),
        {"role": args.role, "team": args.team, "privileges": statements},
        team=args.team,
    )
    scope = f"team {args.team}" if args.team else "every team"
    print(f"granted {args.role} ({scope}) to database role {args.db_role}")
    return 0
