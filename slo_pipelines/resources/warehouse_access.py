"""Team access control on PostgreSQL (DESIGN.md §12): row-level security and `slo access grant`.

Roles: `viewer` reads its team's rows; `team_admin` also records exclusions (and their reviews and
audit entries) for its team's services and SLOs; `auditor` reads every row and writes none; `admin`
(the schema owner, or a role granted `admin`) does everything. A row's team is its SLO's team
(`slo_teams`, synced from the catalog), an exclusion's team its scope's (a fleet-wide exclusion is
visible to every team), an audit entry's its `team` column.

Every table with SLO data has RLS enabled **and forced** (so the owner is bound too); the policies call
`SECURITY DEFINER` functions reading `access_grants` and `slo_teams`, to which no other role has any
privilege. Policies take `current_user`, so `SET ROLE` and a direct login behave the same.
"""

from collections.abc import Mapping
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from slo_pipelines.resources import warehouse_rls
from slo_pipelines.resources import warehouse_schema as schema

ROLES = warehouse_rls.ROLES
TEAM_WRITABLE = warehouse_rls.TEAM_WRITABLE


def policed_tables(conn: Connection) -> list[str]:
    """Every table with SLO data (RLS enabled and forced on each)."""
    return warehouse_rls.policed_tables(conn, schema.METADATA.tables)


def rls_state(conn: Connection) -> dict[str, tuple[bool, bool]]:
    """table -> (RLS enabled, RLS forced) for every policed table."""
    rows = conn.execute(
        sa.text(
            "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
            "WHERE relkind = 'r' AND relnamespace = current_schema()::regnamespace"
        )
    )
    state = {str(r[0]): (bool(r[1]), bool(r[2])) for r in rows}
    return {t: state.get(t, (False, False)) for t in policed_tables(conn)}


def sync_slo_teams(conn: Connection, teams: Mapping[str, tuple[str, str | None]]) -> None:
    """Replace `slo_teams` with the catalog's SLO -> (service, team) map."""
    t = schema.slo_teams
    conn.execute(t.delete())
    if teams:
        conn.execute(
            t.insert(), [{"slo": s, "service": svc, "team": team} for s, (svc, team) in teams.items()]
        )


def grant(conn: Connection, db_role: str, role: str, team: str | None, granted_by: str) -> list[str]:
    """Give an existing database role a product role; returns the SQL privileges granted.

    ValueError for an unknown role, a missing or superfluous team, or a database role that does not
    exist. Re-granting is harmless."""
    if role not in ROLES:
        raise ValueError(f"--role: must be one of {', '.join(ROLES)} (got {role!r})")
    needs_team = role in ("viewer", "team_admin")
    if needs_team and not team:
        raise ValueError(f"--team: required for role {role}")
    if not needs_team and team:
        raise ValueError(f"--team: role {role} covers every team (got {team!r})")
    exists = conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": db_role}).first()
    if exists is None:
        raise ValueError(f"--db-role: no such database role (got {db_role!r}); create it first")
    quoted = conn.dialect.identifier_preparer.quote(db_role)
    owner_schema = conn.execute(sa.text("SELECT current_schema()")).scalar_one()
    tables = policed_tables(conn)
    statements = [f"GRANT USAGE ON SCHEMA {owner_schema} TO {quoted}"]
    readable = [*tables, "schema_version"]
    statements.append(f"GRANT SELECT ON {', '.join(readable)} TO {quoted}")
    if role == "team_admin":
        statements.append(f"GRANT INSERT ON {', '.join(TEAM_WRITABLE)} TO {quoted}")
        statements.append(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {owner_schema} TO {quoted}")
    if role == "admin":
        mutable = [t for t in tables if t not in schema.APPEND_ONLY]
        statements.append(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(mutable)} TO {quoted}")
        statements.append(f"GRANT SELECT, INSERT ON {', '.join(schema.APPEND_ONLY)} TO {quoted}")
        statements.append(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {owner_schema} TO {quoted}")
    for statement in statements:
        conn.execute(sa.text(statement))
    t = schema.access_grants
    key = {"db_role": db_role, "role": role, "team": team or ""}
    present = conn.execute(sa.select(t.c.db_role).filter_by(**key)).first()
    if present is None:
        conn.execute(t.insert().values(**key, granted_by=granted_by, granted_at=datetime.now(UTC)))
    return statements
