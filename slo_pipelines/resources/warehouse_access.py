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

from slo_pipelines.resources import warehouse_schema as schema

ROLES = ("viewer", "team_admin", "auditor", "admin")
# Tables whose rows are keyed by another rule than their `slo` column.
_SCOPED = {"exclusions": "payload", "exclusion_reviews": "scope"}
_TEAM_COLUMN = {"audit_log": "team"}
# Not SLO data: read only through the SECURITY DEFINER functions (or, for schema_version, by anyone).
_UNPOLICED = {"access_grants", "slo_teams", "schema_version"}
TEAM_WRITABLE = ("exclusions", "exclusion_reviews", "audit_log")
# A scalar sub-select is evaluated once per statement (an InitPlan), not once per row.
_ADMIN = "(SELECT slo_rls_is_admin(current_user::text))"


def _functions(owner_schema: str) -> list[str]:
    definer = f"LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {owner_schema}, pg_catalog"
    grants = "SELECT team FROM access_grants WHERE db_role = r AND role IN ({})"
    return [
        f"""CREATE OR REPLACE FUNCTION slo_rls_is_admin(r text) RETURNS boolean {definer} AS $$
            SELECT pg_has_role(r::name, (SELECT relowner FROM pg_class
                                         WHERE oid = '{owner_schema}.schema_version'::regclass), 'MEMBER')
                OR EXISTS (SELECT 1 FROM access_grants WHERE db_role = r AND role = 'admin') $$""",
        f"""CREATE OR REPLACE FUNCTION slo_rls_reads_all(r text) RETURNS boolean {definer} AS $$
            SELECT slo_rls_is_admin(r)
                OR EXISTS (SELECT 1 FROM access_grants WHERE db_role = r AND role = 'auditor') $$""",
        f"""CREATE OR REPLACE FUNCTION slo_rls_teams(r text) RETURNS SETOF text {definer} AS $$
            {grants.format("'viewer', 'team_admin'")} $$""",
        f"""CREATE OR REPLACE FUNCTION slo_rls_admin_teams(r text) RETURNS SETOF text {definer} AS $$
            {grants.format("'team_admin'")} $$""",
        f"""CREATE OR REPLACE FUNCTION slo_rls_slos(r text) RETURNS SETOF text {definer} AS $$
            SELECT slo FROM slo_teams WHERE team IN (SELECT slo_rls_teams(r)) $$""",
        f"""CREATE OR REPLACE FUNCTION slo_rls_team_ok(r text, t text, writing boolean)
            RETURNS boolean {definer} AS $$
            SELECT EXISTS (SELECT 1 FROM access_grants g WHERE g.db_role = r AND g.team = t
                           AND (g.role = 'team_admin' OR (NOT writing AND g.role = 'viewer'))) $$""",
        f"""CREATE OR REPLACE FUNCTION slo_rls_scope_ok(r text, scope jsonb, writing boolean)
            RETURNS boolean {definer} AS $$
            SELECT CASE
                WHEN scope IS NULL OR jsonb_typeof(scope) <> 'object' THEN false
                WHEN scope ? 'slo' THEN EXISTS (SELECT 1 FROM slo_teams t
                    WHERE t.slo = scope->>'slo' AND slo_rls_team_ok(r, t.team, writing))
                WHEN scope ? 'service' THEN EXISTS (SELECT 1 FROM slo_teams t
                    WHERE t.service = scope->>'service' AND slo_rls_team_ok(r, t.team, writing))
                ELSE NOT writing AND EXISTS (SELECT 1 FROM access_grants g
                    WHERE g.db_role = r AND g.role IN ('viewer', 'team_admin'))
            END $$""",
        f"""CREATE OR REPLACE FUNCTION slo_audit_head()
            RETURNS TABLE(seq bigint, entry_hash text) {definer} AS $$
            SELECT seq, entry_hash FROM audit_log ORDER BY seq DESC LIMIT 1 $$""",
    ]


def policed_tables(conn: Connection) -> list[str]:
    """Every warehouse table with SLO data: those with an `slo` column, plus the scoped and team-keyed
    ones (tables of later migrations included, since this reads the database, not a fixed list)."""
    inspector = sa.inspect(conn)
    names = []
    for table in inspector.get_table_names():
        if table in _UNPOLICED:
            continue
        columns = {c["name"] for c in inspector.get_columns(table)}
        if "slo" in columns or table in _SCOPED or table in _TEAM_COLUMN or table in schema.METADATA.tables:
            names.append(table)
    return sorted(names)


def _read_rule(conn: Connection, table: str) -> str:
    reader = "current_user::text"
    if table in _SCOPED:
        column = _SCOPED[table]
        scope = f"({column}::jsonb -> 'scope')" if column == "payload" else f"{column}::jsonb"
        return f"slo_rls_scope_ok({reader}, {scope}, false)"
    if table in _TEAM_COLUMN:
        return f"{_TEAM_COLUMN[table]} IN (SELECT slo_rls_teams({reader}))"
    columns = {c["name"] for c in sa.inspect(conn).get_columns(table)}
    if "slo" in columns:
        return f"slo IN (SELECT slo_rls_slos({reader}))"
    return "false"  # fleet-wide data (e.g. data-quality verdicts): auditors and admins only


def _write_rule(table: str) -> str | None:
    reader = "current_user::text"
    if table == "exclusions":
        return f"slo_rls_scope_ok({reader}, payload::jsonb -> 'scope', true)"
    if table == "exclusion_reviews":
        return f"slo_rls_scope_ok({reader}, scope::jsonb, true)"
    if table == "audit_log":
        return f"team IN (SELECT slo_rls_admin_teams({reader}))"
    return None


def install_row_level_security(conn: Connection) -> None:
    """Enable and force RLS with read/write policies on every policed table (idempotent)."""
    owner_schema = conn.execute(sa.text("SELECT current_schema()")).scalar_one()
    for statement in _functions(owner_schema):
        conn.execute(sa.text(statement))
    for table in ("access_grants", "slo_teams"):
        conn.execute(sa.text(f"REVOKE ALL ON {table} FROM PUBLIC"))
    for table in policed_tables(conn):
        conn.execute(sa.text(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY"))
        conn.execute(sa.text(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY"))
        for name in ("slo_read", "slo_admin", "slo_team_write"):
            conn.execute(sa.text(f"DROP POLICY IF EXISTS {name} ON {table}"))
        conn.execute(
            sa.text(
                f"CREATE POLICY slo_read ON {table} FOR SELECT USING "
                f"((SELECT slo_rls_reads_all(current_user::text)) OR {_read_rule(conn, table)})"
            )
        )
        conn.execute(
            sa.text(f"CREATE POLICY slo_admin ON {table} FOR ALL USING ({_ADMIN}) WITH CHECK ({_ADMIN})")
        )
        write = _write_rule(table)
        if write is not None:
            conn.execute(sa.text(f"CREATE POLICY slo_team_write ON {table} FOR INSERT WITH CHECK ({write})"))


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
