"""Row-level security on PostgreSQL, installed by schema migration 15 (see `warehouse_access` for the
roles and grants): SECURITY DEFINER functions reading `access_grants` and `slo_teams`, and per-table
policies keyed on the team, enabled and forced. Imports no schema module, so the schema can import it."""

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

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


def policed_tables(conn: Connection, declared: Iterable[str] = ()) -> list[str]:
    """Every warehouse table with SLO data: those with an `slo` column, plus the scoped and team-keyed
    ones (tables of later migrations included, since this reads the database, not a fixed list)."""
    inspector = sa.inspect(conn)
    names = []
    for table in inspector.get_table_names():
        if table in _UNPOLICED:
            continue
        columns = {c["name"] for c in inspector.get_columns(table)}
        if "slo" in columns or table in _SCOPED or table in _TEAM_COLUMN or table in declared:
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


def install_row_level_security(conn: Connection, declared: Iterable[str] = ()) -> None:
    """Enable and force RLS with read/write policies on every policed table (idempotent)."""
    owner_schema = conn.execute(sa.text("SELECT current_schema()")).scalar_one()
    for statement in _functions(owner_schema):
        conn.execute(sa.text(statement))
    for table in ("access_grants", "slo_teams"):
        conn.execute(sa.text(f"REVOKE ALL ON {table} FROM PUBLIC"))
    for table in policed_tables(conn, declared):
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


def rls_missing(conn: Connection, declared: Iterable[str] = ()) -> list[str]:
    """Policed tables whose row-level security is not both enabled and forced."""
    rows = conn.execute(
        sa.text(
            "SELECT relname FROM pg_class WHERE relkind = 'r' "
            "AND relnamespace = current_schema()::regnamespace AND relrowsecurity AND relforcerowsecurity"
        )
    )
    protected = {str(r[0]) for r in rows}
    return [t for t in policed_tables(conn, declared) if t not in protected]
