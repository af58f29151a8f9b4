"""Tables of the SLO warehouse and the rules by which their shape evolves.

One SQLAlchemy Core `MetaData` describes the same schema on SQLite (embedded default) and PostgreSQL
(production), so a URL is the only thing that changes between the two.

Schema evolution
----------------
The `schema_version` table holds a single row with the version the database has reached.
`ensure_schema` runs, in one transaction:

1. `METADATA.create_all(checkfirst=True)`: a missing table is created in its *current* shape, so a fresh
   database is complete at once;
2. every entry of `MIGRATIONS` whose key is above the stored version, in ascending order;
3. the stored version is raised to `SCHEMA_VERSION`.

Migrations are additive and idempotent: they add tables, nullable columns, indexes or triggers, and
check for presence first (a fresh database already has the current shape from step 1). Nothing is ever
dropped, renamed or rewritten in place: old readers keep working and history stays auditable. A change
that would need a destructive step gets a new table or column instead.
"""

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection

SCHEMA_VERSION = 17  # the highest key of MIGRATIONS; a new migration takes a higher number (10-12 unused)

METADATA = sa.MetaData()

# JSON documents: JSONB on PostgreSQL (queryable, compact), TEXT-backed JSON on SQLite.
# `none_as_null` stores Python None as SQL NULL rather than the JSON literal `null`.
JsonDocument = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

Timestamp = sa.DateTime(timezone=True)

buckets = sa.Table(
    "buckets",
    METADATA,
    sa.Column("slo", sa.Text, primary_key=True),
    sa.Column("start", sa.BigInteger, primary_key=True, comment="bucket start, epoch seconds UTC"),
    sa.Column("bucket_seconds", sa.Integer, nullable=False),
    sa.Column("good", sa.Float, nullable=False),
    sa.Column("total", sa.Float, nullable=False),
    sa.Column("value", sa.Float, nullable=True, comment="per-bucket value for thresholdMetric SLIs"),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("ingested_at", Timestamp, nullable=False),
)

rollups = sa.Table(
    "rollups",
    METADATA,
    sa.Column("grain", sa.Text, primary_key=True),
    sa.Column("slo", sa.Text, primary_key=True),
    sa.Column("start", sa.BigInteger, primary_key=True),
    sa.Column("good", sa.Float, nullable=False),
    sa.Column("total", sa.Float, nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("excluded_buckets", sa.Integer, nullable=False),
    sa.Column("digest", sa.Text, nullable=True, comment="sha256 of the day's buckets (day grain)"),
    sa.CheckConstraint("grain IN ('hour', 'day')", name="rollups_grain"),
)

quarantine = sa.Table(
    "quarantine",
    METADATA,
    sa.Column("id", AutoId, primary_key=True, autoincrement=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("row_number", sa.Integer, nullable=True),
    sa.Column("slo", sa.Text, nullable=True),
    sa.Column("start", sa.BigInteger, nullable=True),
    sa.Column("raw", JsonDocument, nullable=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("quarantined_at", Timestamp, nullable=False),
    sa.Column("row_key", sa.Text, nullable=False, unique=True),
)

exclusions = sa.Table(
    "exclusions",
    METADATA,
    sa.Column("id", AutoId, primary_key=True, autoincrement=True),
    sa.Column("exclusion_id", sa.Text, nullable=False, index=True),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("payload", JsonDocument, nullable=True),
    sa.Column("recorded_by", sa.Text, nullable=False),
    sa.Column("recorded_at", Timestamp, nullable=False),
    sa.CheckConstraint("action IN ('add', 'revoke')", name="exclusions_action"),
)

budget_snapshots = sa.Table(
    "budget_snapshots",
    METADATA,
    sa.Column("slo", sa.Text, primary_key=True),
    sa.Column("objective", sa.Text, primary_key=True),
    sa.Column("at", sa.BigInteger, primary_key=True),
    sa.Column("window_start", sa.BigInteger, nullable=False),
    sa.Column("window_end", sa.BigInteger, nullable=False),
    sa.Column("good", sa.Float, nullable=False),
    sa.Column("total", sa.Float, nullable=False),
    sa.Column("sli", sa.Float, nullable=True),
    sa.Column("allowed_bad", sa.Float, nullable=False),
    sa.Column("consumed_bad", sa.Float, nullable=False),
    sa.Column("remaining_ratio", sa.Float, nullable=True),
    sa.Column("excluded_seconds", sa.Float, nullable=False),
    sa.Column("coverage", sa.Float, nullable=True),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("burn_rates", JsonDocument, nullable=True),
    sa.Column("alerts", JsonDocument, nullable=True),
    sa.Column("digest", sa.Text, nullable=True),
)

alert_events = sa.Table(
    "alert_events",
    METADATA,
    sa.Column("slo", sa.Text, primary_key=True),
    sa.Column("objective", sa.Text, primary_key=True),
    sa.Column("severity", sa.Text, primary_key=True),
    sa.Column("long_window", sa.Text, primary_key=True),
    sa.Column("short_window", sa.Text, nullable=False),
    sa.Column("threshold", sa.Float, nullable=False),
    sa.Column("started_at", sa.BigInteger, primary_key=True),
    sa.Column("ended_at", sa.BigInteger, nullable=True),
)

audit_results = sa.Table(
    "audit_results",
    METADATA,
    sa.Column("partition_start", sa.BigInteger, primary_key=True),
    sa.Column("partition_end", sa.BigInteger, primary_key=True),
    sa.Column("scope", sa.Text, primary_key=True),  # rows | collection
    sa.Column("check_name", sa.Text, primary_key=True),
    sa.Column("success", sa.Integer, nullable=False),
    sa.Column("unexpected_count", sa.BigInteger, nullable=False),
    sa.Column("details", sa.JSON, nullable=True),
    sa.Column("audited_at", Timestamp, nullable=False, server_default=sa.func.now()),
)

policy_decisions = sa.Table(
    "policy_decisions",
    METADATA,
    sa.Column("slo", sa.Text, primary_key=True),
    sa.Column("objective", sa.Text, primary_key=True),
    sa.Column("action", sa.Text, primary_key=True),
    sa.Column("at", sa.BigInteger, primary_key=True),
    sa.Column("state", sa.Text, nullable=False),  # engaged | lifted
    sa.Column("policy", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("rollout_cap_percent", sa.Float, nullable=True),
    sa.Column("inputs", sa.JSON, nullable=True),
    sa.Column("escalation", sa.JSON, nullable=True),
)

notification_deliveries = sa.Table(
    "notification_deliveries",  # append-only: every attempt, delivered, failed or suppressed
    METADATA,
    sa.Column("provider", sa.Text, primary_key=True),
    sa.Column("dedup_key", sa.Text, primary_key=True),
    sa.Column("started_at", sa.BigInteger, primary_key=True),
    sa.Column("action", sa.Text, primary_key=True),
    sa.Column("attempted_at", sa.BigInteger, primary_key=True),
    sa.Column("outcome", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("rule", sa.Text, nullable=False),
    sa.Column("status_code", sa.Integer, nullable=True),
    sa.Column("provider_reference", sa.Text, nullable=False),
    sa.Column("slo", sa.Text, nullable=False),
    sa.Column("objective", sa.Text, nullable=False),
    sa.Column("severity", sa.Text, nullable=False),
)

outage_proposals = sa.Table(
    "outage_proposals",  # dependency-outage exclusions proposed from evidence, awaiting approval
    METADATA,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("slo", sa.Text, nullable=False),
    sa.Column("start", sa.BigInteger, nullable=False),
    sa.Column("end", sa.BigInteger, nullable=False),
    sa.Column("proposal", sa.JSON, nullable=False),
    sa.Column("proposed_at", Timestamp, nullable=False, server_default=sa.func.now()),
)

incident_versions = sa.Table(
    "incident_versions",  # every version of every incident, opened, updated, resolved; never rewritten
    METADATA,
    sa.Column("seq", AutoId, primary_key=True, autoincrement=True, comment="arrival order: the cursor"),
    sa.Column("system", sa.Text, nullable=False, comment="pagerduty | opsgenie | catalog | ..."),
    sa.Column("incident_id", sa.Text, nullable=False, comment="the incident's id in its system"),
    sa.Column("updated_at", sa.BigInteger, nullable=False, comment="version time, epoch seconds UTC"),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("severity", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=True),
    sa.Column("start", sa.BigInteger, nullable=False),
    sa.Column("end", sa.BigInteger, nullable=True, comment="null while the incident is open"),
    sa.Column("services", JsonDocument, nullable=False),
    sa.Column("source_priority", sa.Text, nullable=True, comment="P1..P5 / urgency as the source gave it"),
    sa.Column("document", JsonDocument, nullable=False, comment="the version as an Incident document"),
    sa.Column("recorded_at", Timestamp, nullable=False),
    sa.UniqueConstraint("system", "incident_id", "updated_at", name="incident_versions_key"),
)

webhook_inbox = sa.Table(
    "webhook_inbox",  # verified webhook deliveries, appended in arrival order
    METADATA,
    sa.Column("id", AutoId, primary_key=True, autoincrement=True),
    sa.Column("provider", sa.Text, nullable=False),
    sa.Column("delivery_id", sa.Text, nullable=False, unique=True, comment="event id: replays are refused"),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("occurred_at", sa.BigInteger, nullable=True),
    sa.Column("payload", JsonDocument, nullable=False),
    sa.Column("received_at", Timestamp, nullable=False),
)

webhook_rejections = sa.Table(
    "webhook_rejections",  # refused deliveries with the reason, kept for audit
    METADATA,
    sa.Column("id", AutoId, primary_key=True, autoincrement=True),
    sa.Column("provider", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("delivery_id", sa.Text, nullable=True),
    sa.Column("remote_address", sa.Text, nullable=True),
    sa.Column("body_sha256", sa.Text, nullable=False),
    sa.Column("received_at", Timestamp, nullable=False),
)

incident_impact = sa.Table(
    "incident_impact",  # impact per incident version and affected SLO objective (DESIGN.md §9)
    METADATA,
    sa.Column("system", sa.Text, primary_key=True),
    sa.Column("incident_id", sa.Text, primary_key=True),
    sa.Column("updated_at", sa.BigInteger, primary_key=True),
    sa.Column("slo", sa.Text, primary_key=True),
    sa.Column("objective", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("measured_until", sa.BigInteger, nullable=False),
    sa.Column("bad", sa.Float, nullable=False),
    sa.Column("total", sa.Float, nullable=False),
    sa.Column("allowed_bad", sa.Float, nullable=False),
    sa.Column("budget_consumed_ratio", sa.Float, nullable=True),
    sa.Column("attributed_bad", sa.Float, nullable=False),
    sa.Column("peak_burn_rate_1h", sa.Float, nullable=True),
    sa.Column("severity", sa.Text, nullable=False),
    sa.Column("expected_severity", sa.Text, nullable=True),
    sa.Column("computed_at", Timestamp, nullable=False),
)

schema_version = sa.Table(
    "schema_version",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.CheckConstraint("id = 1", name="schema_version_single_row"),
)

audit_log = sa.Table(
    "audit_log",  # append-only and hash-chained: who did what and why (engine/audit/log.py)
    METADATA,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("at", sa.Text, nullable=False, comment="YYYY-MM-DDTHH:MM:SSZ, part of the hashed entry"),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("details", sa.Text, nullable=False, comment="canonical JSON, hashed as stored"),
    sa.Column("prev_hash", sa.Text, nullable=False),
    sa.Column("entry_hash", sa.Text, nullable=False, unique=True),
    sa.Column("team", sa.Text, nullable=True, comment="the team the entry concerns, for row-level security"),
)

exclusion_reviews = sa.Table(
    "exclusion_reviews",  # append-only: second approvals (or rejections) of flagged exclusions
    METADATA,
    sa.Column("id", AutoId, primary_key=True, autoincrement=True),
    sa.Column("exclusion_id", sa.Text, nullable=False, index=True),
    sa.Column("decision", sa.Text, nullable=False),
    sa.Column("reviewer", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("recorded_at", Timestamp, nullable=False),
    sa.Column("scope", JsonDocument, nullable=True, comment="the exclusion's scope, for row-level security"),
    sa.CheckConstraint("decision IN ('approve', 'reject')", name="exclusion_reviews_decision"),
)

slo_teams = sa.Table(
    "slo_teams",  # SLO -> service -> team, from the catalog (DESIGN.md §12); keys the RLS policies
    METADATA,
    sa.Column("slo", sa.Text, primary_key=True),
    sa.Column("service", sa.Text, nullable=False),
    sa.Column("team", sa.Text, nullable=True),
)

access_grants = sa.Table(
    "access_grants",  # database role -> product role (and team) granted with `slo access grant`
    METADATA,
    sa.Column("db_role", sa.Text, primary_key=True),
    sa.Column("role", sa.Text, primary_key=True),
    sa.Column("team", sa.Text, primary_key=True, comment="'' for roles without a team"),
    sa.Column("granted_by", sa.Text, nullable=False),
    sa.Column("granted_at", Timestamp, nullable=False),
    sa.CheckConstraint("role IN ('viewer', 'team_admin', 'auditor', 'admin')", name="access_grants_role"),
)


_SQLITE_APPEND_ONLY = """
    CREATE TRIGGER IF NOT EXISTS exclusions_no_{op}
    BEFORE {OP} ON exclusions
    BEGIN SELECT RAISE(ABORT, 'exclusions is an append-only audit log'); END
    """

_POSTGRES_APPEND_ONLY_FUNCTION = """
    CREATE OR REPLACE FUNCTION slo_exclusions_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'exclusions is an append-only audit log';
    END;
    $$ LANGUAGE plpgsql
"""

_POSTGRES_APPEND_ONLY_TRIGGER = """
    DO $$
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'exclusions_append_only') THEN
            CREATE TRIGGER exclusions_append_only
            BEFORE UPDATE OR DELETE ON exclusions
            FOR EACH ROW EXECUTE FUNCTION slo_exclusions_append_only();
        END IF;
    END
    $$
"""


def _migration_1_append_only_exclusions(conn: Connection) -> None:
    """The exclusion log is audit evidence: the database itself refuses edits, not just the API."""
    if conn.dialect.name == "sqlite":
        for op in ("update", "delete"):
            conn.execute(sa.text(_SQLITE_APPEND_ONLY.format(op=op, OP=op.upper())))
    elif conn.dialect.name == "postgresql":
        conn.execute(sa.text(_POSTGRES_APPEND_ONLY_FUNCTION))
        conn.execute(sa.text(_POSTGRES_APPEND_ONLY_TRIGGER))


def _migration_2_audit_results(conn: Connection) -> None:
    """Version 2 adds `audit_results` (data-quality history); create_all already made it, this checks."""
    audit_results.create(conn, checkfirst=True)


def _migration_3_policy_decisions(conn: Connection) -> None:
    """Version 3 adds `policy_decisions` (budget-policy actions engaging and lifting)."""
    policy_decisions.create(conn, checkfirst=True)


def _migration_4_notification_deliveries(conn: Connection) -> None:
    """Version 4 adds `notification_deliveries` (the alert delivery log)."""
    notification_deliveries.create(conn, checkfirst=True)


def _migration_5_outage_proposals(conn: Connection) -> None:
    """Version 5 adds `outage_proposals`."""
    outage_proposals.create(conn, checkfirst=True)


def _migration_6_incident_versions(conn: Connection) -> None:
    """Version 6 adds `incident_versions` (every version of every incident, keyed by system and id)."""
    incident_versions.create(conn, checkfirst=True)


def _migration_7_webhook_inbox(conn: Connection) -> None:
    """Version 7 adds `webhook_inbox` (verified deliveries)."""
    webhook_inbox.create(conn, checkfirst=True)


def _migration_8_webhook_rejections(conn: Connection) -> None:
    """Version 8 adds `webhook_rejections` (refused deliveries and why)."""
    webhook_rejections.create(conn, checkfirst=True)


def _migration_9_incident_impact(conn: Connection) -> None:
    """Version 9 adds `incident_impact` (impact per incident version and SLO objective)."""
    incident_impact.create(conn, checkfirst=True)


def _migration_13_audit_log(conn: Connection) -> None:
    """Version 13 adds the hash-chained `audit_log`."""
    audit_log.create(conn, checkfirst=True)


def _migration_14_append_only_guards(conn: Connection) -> None:
    """Version 14 closes the holes in append-only tables: REPLACE INTO on SQLite (its implicit delete
    fires no trigger), TRUNCATE on PostgreSQL (no row trigger sees it), and write privileges of others."""
    exclusion_reviews.create(conn, checkfirst=True)
    install_append_only_guards(conn)


def _migration_15_row_level_security(conn: Connection) -> None:
    """Version 15 adds team access control (DESIGN.md §12): RLS enabled and forced on PostgreSQL."""
    slo_teams.create(conn, checkfirst=True)
    access_grants.create(conn, checkfirst=True)
    if conn.dialect.name == "postgresql":
        from slo_pipelines.resources.warehouse_rls import install_row_level_security

        install_row_level_security(conn, METADATA.tables)


def _migration_16_exclusion_reviews(conn: Connection) -> None:
    """Version 16 checks that second approvals have their table (created with the guards in 14)."""
    exclusion_reviews.create(conn, checkfirst=True)


def _migration_17_rollup_digests(conn: Connection) -> None:
    """Version 17 adds `rollups.digest`: a day's bucket digest, so budgets read from daily rollups
    report the same input identity as budgets read from every bucket."""
    columns = {c["name"] for c in sa.inspect(conn).get_columns(rollups.name)}
    if "digest" not in columns:
        conn.execute(sa.text("ALTER TABLE rollups ADD COLUMN digest TEXT"))


MIGRATIONS: dict[int, Callable[[Connection], None]] = {
    1: _migration_1_append_only_exclusions,
    2: _migration_2_audit_results,
    3: _migration_3_policy_decisions,
    4: _migration_4_notification_deliveries,
    5: _migration_5_outage_proposals,
    6: _migration_6_incident_versions,
    7: _migration_7_webhook_inbox,
    8: _migration_8_webhook_rejections,
    9: _migration_9_incident_impact,
    13: _migration_13_audit_log,
    14: _migration_14_append_only_guards,
    15: _migration_15_row_level_security,
    16: _migration_16_exclusion_reviews,
    17: _migration_17_rollup_digests,
}

# Append-only tables: name -> (primary key column, schema version from which its guards exist).
APPEND_ONLY: dict[str, tuple[str, int]] = {
    "exclusions": ("id", 14),
    "audit_log": ("seq", 14),
    "exclusion_reviews": ("id", 14),
}
# The version from which each append-only table exists at all (a table missing after that was dropped).
_CREATED_AT_VERSION = {"exclusions": 1, "audit_log": 13, "exclusion_reviews": 14}


class AppendOnlyGuardError(RuntimeError):
    """An append-only table was dropped or lost its triggers: the warehouse refuses to run on it."""


def _sqlite_guard_names(table: str) -> list[str]:
    return [f"{table}_no_update", f"{table}_no_delete", f"{table}_no_replace"]


_PG_GUARD_FUNCTION = """
    CREATE OR REPLACE FUNCTION slo_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION '% is an append-only audit log', TG_TABLE_NAME;
    END;
    $$ LANGUAGE plpgsql
"""


def _pg_guard_names(table: str) -> list[str]:
    return [f"{table}_no_modify", f"{table}_no_truncate"]


def install_append_only_guards(conn: Connection) -> None:
    """Triggers refusing UPDATE, DELETE, REPLACE (SQLite) and TRUNCATE (PostgreSQL) on every
    append-only table, and on PostgreSQL no UPDATE/DELETE/TRUNCATE privilege for anyone but the owner."""
    for table, (key, _) in APPEND_ONLY.items():
        if conn.dialect.name == "sqlite":
            for op in ("update", "delete"):
                conn.execute(
                    sa.text(
                        f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op} BEFORE {op.upper()} ON {table} "
                        f"BEGIN SELECT RAISE(ABORT, '{table} is an append-only audit log'); END"
                    )
                )
            # INSERT OR REPLACE deletes the old row without firing delete triggers: refuse it up front.
            conn.execute(
                sa.text(
                    f"CREATE TRIGGER IF NOT EXISTS {table}_no_replace BEFORE INSERT ON {table} "
                    f"WHEN EXISTS (SELECT 1 FROM {table} WHERE {key} = NEW.{key}) "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is an append-only audit log'); END"
                )
            )
        elif conn.dialect.name == "postgresql":
            conn.execute(sa.text(_PG_GUARD_FUNCTION))
            conn.execute(sa.text(f"DROP TRIGGER IF EXISTS {table}_no_modify ON {table}"))
            conn.execute(
                sa.text(
                    f"CREATE TRIGGER {table}_no_modify BEFORE UPDATE OR DELETE ON {table} "
                    "FOR EACH ROW EXECUTE FUNCTION slo_append_only()"
                )
            )
            conn.execute(sa.text(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}"))
            conn.execute(
                sa.text(
                    f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                    "FOR EACH STATEMENT EXECUTE FUNCTION slo_append_only()"
                )
            )
            conn.execute(sa.text(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM PUBLIC"))


def _present_triggers(conn: Connection) -> set[str]:
    if conn.dialect.name == "sqlite":
        rows = conn.execute(sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
    else:
        rows = conn.execute(sa.text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"))
    return {str(r[0]) for r in rows}


def check_append_only_tables(conn: Connection, version: int, stage: str) -> None:
    """Refuse to run when an append-only table that should exist is gone (`stage` "before": it would
    be recreated empty) or lacks a guard (`stage` "after"). Raises AppendOnlyGuardError."""
    inspector = sa.inspect(conn)
    triggers = _present_triggers(conn) if stage == "after" else set()
    for table, (_, guarded_from) in APPEND_ONLY.items():
        if stage == "before":
            if version >= _CREATED_AT_VERSION[table] and not inspector.has_table(table):
                raise AppendOnlyGuardError(
                    f"warehouse: append-only table {table} is missing (dropped?) at schema version "
                    f"{version}; refusing to recreate it empty: restore it from a backup"
                )
            continue
        if version < guarded_from:
            continue
        names = _sqlite_guard_names(table) if conn.dialect.name == "sqlite" else _pg_guard_names(table)
        missing = [n for n in names if n not in triggers]
        if missing:
            raise AppendOnlyGuardError(
                f"warehouse: append-only table {table} lost its guard {missing[0]} (dropped and recreated?); "
                "refusing to run: restore the table and its triggers from a backup"
            )


# A lock key shared by every process migrating the same PostgreSQL database (any fixed 64-bit integer).
_PG_MIGRATION_LOCK = 0x510_3A7E


def stored_version(conn: Connection) -> int:
    """Version recorded in the database; 0 when the schema has never been created."""
    if not sa.inspect(conn).has_table(schema_version.name):
        return 0
    found = conn.execute(sa.select(schema_version.c.version).where(schema_version.c.id == 1)).scalar()
    return int(found) if found is not None else 0


def migrate(conn: Connection) -> int:
    """Bring the schema to SCHEMA_VERSION inside the caller's transaction; returns the final version."""
    if conn.dialect.name == "postgresql":
        # Serialises concurrent first starts (several run workers) on the same database.
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_MIGRATION_LOCK)))
    before = stored_version(conn)
    check_append_only_tables(conn, before, "before")
    METADATA.create_all(conn, checkfirst=True)
    for version in sorted(MIGRATIONS):
        if version > before:
            MIGRATIONS[version](conn)
    check_append_only_tables(conn, max(before, SCHEMA_VERSION), "after")
    if conn.dialect.name == "postgresql" and max(before, SCHEMA_VERSION) >= 15:
        from slo_pipelines.resources.warehouse_rls import install_row_level_security, rls_missing

        # a table added by a later migration, or recreated by create_all, must not stay unprotected
        if rls_missing(conn, METADATA.tables):
            install_row_level_security(conn, METADATA.tables)
    if before < SCHEMA_VERSION:
        values = {"version": SCHEMA_VERSION, "updated_at": sa.func.now()}
        updated = conn.execute(schema_version.update().where(schema_version.c.id == 1).values(**values))
        if not updated.rowcount:
            conn.execute(schema_version.insert().values(id=1, **values))
    return max(before, SCHEMA_VERSION)
