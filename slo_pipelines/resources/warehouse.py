"""The SLO warehouse: every table the pipelines read and write, behind one Dagster resource.

The same SQLAlchemy Core schema runs on a local SQLite file (the embedded default, nothing to start) and
on PostgreSQL (production); one URL selects which. In `definitions.py` the URL comes from the
environment so secrets never sit in code::

    WarehouseResource(url=EnvVar("SLO_WAREHOUSE_URL"))

Writes are idempotent upserts on natural keys, so re-running a partition never duplicates rows; the
exclusion log is append-only and quarantined rows are de-duplicated by a content hash. NaN is stored
as NULL. Every statement uses bound parameters.

Schema evolution is additive and versioned: see `warehouse_schema` and docs/warehouse.md.
"""

import hashlib
import importlib.util
import json
import os
import re
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd
import sqlalchemy as sa
from pydantic import Field
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from slo_pipelines.engine.common.timeutil import parse_instant
from slo_pipelines.resources import warehouse_schema as schema
from slo_pipelines.resources.settings import configured
from slo_pipelines.resources.warehouse_bulk import bulk_upsert
from slo_pipelines.resources.warehouse_frames import (
    Column,
    Kind,
    WarehouseInputError,
    bucket_frame,
    column_array,
    column_values,
    frame,
    json_safe,
    read_bucket_columns,
)

__all__ = ["DEFAULT_WAREHOUSE_URL", "WarehouseInputError", "WarehouseResource"]

DEFAULT_WAREHOUSE_URL = "sqlite:///.slo/warehouse.db"
"""Relative to the working directory, like the local DAGSTER_HOME of the embedded default."""

SQLITE_BUSY_TIMEOUT_MS = 30_000
DEFAULT_BUCKET_SECONDS = 60
ROLLUP_GRAINS = ("hour", "day")
EXCLUSION_ACTIONS = ("add", "revoke")

_ENGINES: dict[tuple[int, str], Engine] = {}
_SCHEMA_READY: set[tuple[int, str]] = set()
_LOCK = threading.Lock()
# A loose index scan over buckets' (slo, start) key, in SQL both SQLite and PostgreSQL run: each step
# seeks the next name, so listing the SLOs costs one index probe per SLO instead of a scan of every row.
_STORED_SLOS_CTE = """WITH RECURSIVE names(slo) AS (
    SELECT min(slo) FROM buckets
    UNION ALL
    SELECT (SELECT min(b.slo) FROM buckets b WHERE b.slo > names.slo) FROM names WHERE names.slo IS NOT NULL
)"""
_STORED_SLOS_SQL = _STORED_SLOS_CTE + " SELECT slo FROM names WHERE slo IS NOT NULL"
_FIRST_BUCKETS_SQL = (
    _STORED_SLOS_CTE
    + " SELECT slo, (SELECT min(b.start) FROM buckets b WHERE b.slo = names.slo) FROM names"
    + " WHERE slo IS NOT NULL"
)
_AUDIT_LOCK = 0x510_A0D1  # serialises audit-log appends on PostgreSQL (any fixed 64-bit integer)


def _masked(url: str) -> str:
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    """WAL lets readers run beside the single writer; the busy timeout makes writers queue, not fail."""
    cursor = dbapi_conn.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _create_engine(url: str) -> Engine:
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        raise ValueError(f"warehouse url: not a database URL (got {_masked(url)!r})") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database or ""
        in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
        if not in_memory:
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        else:
            # One shared connection, or every checkout would see a different empty database.
            engine = sa.create_engine(
                parsed, poolclass=sa.pool.StaticPool, connect_args={"check_same_thread": False}
            )
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if backend == "postgresql":
        if parsed.drivername == "postgresql" and importlib.util.find_spec("psycopg2") is not None:
            # SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3; the project ships psycopg2.
            parsed = parsed.set(drivername="postgresql+psycopg2")
        return sa.create_engine(parsed, pool_pre_ping=True)
    shown = parsed.render_as_string(hide_password=True)
    raise ValueError(
        f"warehouse url: unsupported database '{backend}' (got {shown!r}); use sqlite:/// or postgresql://"
    )


def _engine_for(url: str) -> Engine:
    # Keyed by process too: pooled connections must never be shared with a forked child.
    key = (os.getpid(), url)
    with _LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = _ENGINES[key] = _create_engine(url)
        return engine


def _insert(conn: Connection, table: sa.Table) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT; both supported backends spell it the same way."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _strictly_ascending_keys(df: pd.DataFrame, keys: Sequence[str]) -> bool:
    """Whether the rows' keys strictly ascend, which proves them distinct, in one vectorised pass.

    Integer columns compare by value, any other column by its codes in order of first appearance: a
    frame grouped by SLO with ascending starts in each group (how buckets arrive) passes, whatever the
    order of the groups. False says nothing (a NULL key or another order; the caller checks fully).
    """
    if len(df) < 2:
        return True
    ascending = np.zeros(len(df) - 1, dtype=bool)
    tied = np.ones(len(df) - 1, dtype=bool)
    for key in keys:
        ser = df[key]
        if isinstance(ser.dtype, np.dtype) and ser.dtype.kind in "iu":
            codes = ser.to_numpy()
        else:
            codes = pd.factorize(ser)[0]  # a NULL is -1 wherever it is: two NULLs tie
        before, after = codes[:-1], codes[1:]
        ascending |= tied & (after > before)
        tied &= after == before
    return bool(ascending.all())


def _last_per_key(df: pd.DataFrame, keys: Sequence[str], table: str) -> pd.DataFrame:
    """Within one write the last row per key wins, as it would across two writes."""
    missing = [key for key in keys if key not in df.columns]
    if missing:
        have = ", ".join(str(column) for column in df.columns) or "none"
        raise WarehouseInputError(f"{table}: missing column '{missing[0]}' (columns given: {have})")
    if _strictly_ascending_keys(df, keys):
        return df.reset_index(drop=True)
    if df.duplicated(subset=list(keys), keep="last").any():
        return df.drop_duplicates(subset=list(keys), keep="last").reset_index(drop=True)
    return df.reset_index(drop=True)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_SNAPSHOT_COLUMNS: tuple[tuple[str, Kind, bool], ...] = (
    # name, kind, nullable (nullable columns are optional in the input frame)
    ("slo", "text", False),
    ("objective", "text", False),
    ("at", "int", False),
    ("window_start", "int", False),
    ("window_end", "int", False),
    ("good", "float", False),
    ("total", "float", False),
    ("sli", "float", True),
    ("allowed_bad", "float", False),
    ("consumed_bad", "float", False),
    ("remaining_ratio", "float", True),
    ("excluded_seconds", "float", False),
    ("coverage", "float", True),
    ("status", "text", False),
    ("burn_rates", "json", True),
    ("alerts", "json", True),
    ("digest", "text", True),
)


def quarantine_row_key(source: str, row_number: int | None, raw: Any, reason: str) -> str:
    """Identity of a rejected row: the same row rejected for the same reason is stored once."""
    canonical = json.dumps(
        [source, row_number, raw, reason], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class WarehouseResource(dg.ConfigurableResource):
    """Reads and writes the SLO warehouse (SQLite or PostgreSQL) selected by `url`.

    Set `url` from `EnvVar("SLO_WAREHOUSE_URL")` in definitions; without it the embedded default is a
    SQLite file under `.slo/` in the working directory. Engines are cached per URL for the process, and
    the schema is created or migrated once per engine, on first use.
    """

    url: str = Field(
        default=DEFAULT_WAREHOUSE_URL,
        description=(
            "SQLAlchemy URL of the warehouse, e.g. postgresql://user:pass@host:5432/slo or "
            "sqlite:///path/warehouse.db. Set it from EnvVar('SLO_WAREHOUSE_URL')."
        ),
    )

    # ---- engine and schema -------------------------------------------------------------------

    @property
    def database_url(self) -> str:
        """`url` as configured, with an EnvVar resolved (also outside a run)."""
        return configured(self.url, DEFAULT_WAREHOUSE_URL)

    def get_engine(self) -> Engine:
        """The process-wide engine for this URL, with the schema ensured."""
        self.ensure_schema()
        return _engine_for(self.database_url)

    def ensure_schema(self) -> int:
        """Create or migrate the schema (idempotent); returns the schema version now in place."""
        engine = _engine_for(self.database_url)
        key = (os.getpid(), self.database_url)
        if key in _SCHEMA_READY:
            return schema.SCHEMA_VERSION
        with _LOCK:
            if key not in _SCHEMA_READY:
                self._migrate(engine)
                _SCHEMA_READY.add(key)
        return schema.SCHEMA_VERSION

    def dispose(self) -> None:
        """Close this URL's pooled connections and forget that its schema was checked.

        For shutdown and tests; the next call reconnects and re-checks the schema.
        """
        key = (os.getpid(), self.database_url)
        with _LOCK:
            engine = _ENGINES.pop(key, None)
            _SCHEMA_READY.discard(key)
        if engine is not None:
            engine.dispose()

    def schema_version(self) -> int:
        """The version recorded in the database (0 before the schema exists)."""
        with _engine_for(self.database_url).connect() as conn:
            return schema.stored_version(conn)

    @staticmethod
    def _migrate(engine: Engine) -> None:
        attempts = 3
        for attempt in range(attempts):
            try:
                with engine.begin() as conn:
                    schema.migrate(conn)
                return
            except sa.exc.OperationalError:
                # Another process created the same table between our check and our CREATE (SQLite).
                if attempt == attempts - 1:
                    raise

    def _begin(self) -> Any:
        return self.get_engine().begin()

    def _connect(self) -> Any:
        return self.get_engine().connect()

    # ---- buckets ------------------------------------------------------------------------------

    def upsert_buckets(self, df: pd.DataFrame, source: str) -> int:
        """Store minute (or other) buckets; returns the number of distinct (slo, start) rows written.

        Columns: slo, start (epoch seconds or datetimes), good, total; optional bucket_seconds
        (default 60) and value. A later write of the same (slo, start) replaces the earlier one.
        """
        table = "buckets"
        df = _last_per_key(df, ["slo", "start"], table)
        columns = {
            "slo": column_array(df, table, "slo", "text"),
            "start": column_array(df, table, "start", "int"),
            "bucket_seconds": column_array(
                df, table, "bucket_seconds", "int", required=False, default=DEFAULT_BUCKET_SECONDS
            ),
            "good": column_array(df, table, "good", "float"),
            "total": column_array(df, table, "total", "float"),
            "value": column_array(df, table, "value", "float", required=False, nullable=True),
            "source": [source] * len(df),
        }
        with self._begin() as conn:
            bulk_upsert(conn, schema.buckets, columns, {"ingested_at": sa.func.now()})
        return len(df)

    def stored_slos(self) -> list[str]:
        """Names of the SLOs with stored buckets, sorted.

        A loose index scan: one seek on the (slo, start) key per name, so it costs the number of SLOs,
        not of buckets (neither SQLite nor PostgreSQL skips through an index on its own).
        """
        with self._connect() as conn:
            return sorted(str(row[0]) for row in conn.execute(sa.text(_STORED_SLOS_SQL)).all())

    def read_buckets(self, start: int, end: int, slos: Sequence[str] | None = None) -> pd.DataFrame:
        """Buckets whose start is in [start, end), sorted by slo then start.

        Columns: slo (str), start (int64, epoch s), bucket_seconds (int64), good, total, value
        (float64, NaN for NULL). `slos` limits the SLOs read (all stored ones by default).
        """
        return bucket_frame(self.read_bucket_parts(start, end, slos))

    def read_bucket_parts(
        self, start: int, end: int, slos: Sequence[str] | None = None
    ) -> list[tuple[str, dict[str, np.ndarray]]]:
        """`read_buckets` as (slo, numpy columns start, bucket_seconds, good, total, value) per SLO,
        names sorted, for a reader that keeps and extends them (`sliding_buckets.SlidingBuckets`).

        Read one SLO at a time through the (slo, start) key: a range of one name is an index search,
        while a bare time range would scan the whole table, so every window of a long backfill would
        cost the size of the history.
        """
        names = self.stored_slos() if slos is None else sorted({str(name) for name in slos})
        with self._connect() as conn:
            return read_bucket_columns(conn, schema.buckets, names, start, end)

    def first_bucket_starts(self) -> dict[str, int]:
        """Each SLO's earliest stored bucket start (epoch s): where its measurement begins unless its
        `slo-pipelines.io/measured-since` annotation says otherwise (DESIGN.md §3). One index seek
        per SLO (see `stored_slos`)."""
        with self._connect() as conn:
            rows = conn.execute(sa.text(_FIRST_BUCKETS_SQL)).all()
        return {str(slo): int(first) for slo, first in rows}

    # ---- rollups ------------------------------------------------------------------------------

    def upsert_rollups(self, grain: str, df: pd.DataFrame) -> int:
        """Store hourly or daily sums kept beside the buckets; returns rows written.

        Columns: slo, start, good, total, rows (buckets summed); optional excluded_buckets (default 0)
        and digest (the day's bucket digest).
        """
        if grain not in ROLLUP_GRAINS:
            raise WarehouseInputError(
                f"rollups.grain: must be one of {', '.join(ROLLUP_GRAINS)} (got {grain!r})"
            )
        table = "rollups"
        df = _last_per_key(df, ["slo", "start"], table)
        columns = {
            "grain": [grain] * len(df),
            "slo": column_array(df, table, "slo", "text"),
            "start": column_array(df, table, "start", "int"),
            "good": column_array(df, table, "good", "float"),
            "total": column_array(df, table, "total", "float"),
            "rows": column_array(df, table, "rows", "int"),
            "excluded_buckets": column_array(df, table, "excluded_buckets", "int", required=False, default=0),
            "digest": column_array(df, table, "digest", "text", required=False, nullable=True),
        }
        with self._begin() as conn:
            bulk_upsert(conn, schema.rollups, columns)
        return len(df)

    def read_rollups(
        self, grain: str, start: int, end: int, slos: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """Rollups of one grain whose start is in [start, end), sorted by slo then start."""
        t = schema.rollups
        names = ["slo", "start", "good", "total", "rows", "excluded_buckets", "digest"]
        query = sa.select(*(t.c[name] for name in names)).where(
            t.c.grain == grain, t.c.start >= int(start), t.c.start < int(end)
        )
        if slos is not None:
            query = query.where(t.c.slo.in_(list(slos)))
        with self._connect() as conn:
            rows = conn.execute(query.order_by(t.c.slo, t.c.start)).all()
        return frame(
            rows,
            names,
            {
                "start": "int64",
                "good": "float64",
                "total": "float64",
                "rows": "int64",
                "excluded_buckets": "int64",
            },
        )

    # ---- quarantine ---------------------------------------------------------------------------

    def quarantine_rows(
        self, rows: pd.DataFrame, reason_column: str = "reason", source_column: str = "source"
    ) -> int:
        """Keep rejected input with its reason; returns how many rows were new.

        `raw` stores the row as its source holds it when `rows` has a `raw` column (the line's text, or
        the values as read), else the row's other columns as JSON; optional columns row_number, slo and
        start are also stored as columns for searching. Re-quarantining the same row for the same reason
        is a no-op.
        """
        table = "quarantine"
        df = rows.reset_index(drop=True)
        sources = column_values(df, table, source_column, "text")
        reasons = column_values(df, table, reason_column, "text")
        row_numbers = column_values(df, table, "row_number", "int", required=False, nullable=True)
        slos = column_values(df, table, "slo", "text", required=False, nullable=True)
        starts = self._lenient_starts(df)
        given = list(df["raw"]) if "raw" in df.columns else [None] * len(df)
        raw_columns = [c for c in df.columns if c not in (reason_column, source_column, "row_number", "raw")]
        raws = [
            json_safe(original)
            if original is not None
            else json_safe(dict(zip(raw_columns, values, strict=True)))
            for original, values in zip(
                given, df[raw_columns].itertuples(index=False, name=None), strict=True
            )
        ]
        now = datetime.now(UTC)
        by_key: dict[str, dict[str, Any]] = {}
        for source, row_number, slo, start, raw, reason in zip(
            sources, row_numbers, slos, starts, raws, reasons, strict=True
        ):
            key = quarantine_row_key(source, row_number, raw, reason)
            by_key[key] = {
                "source": source,
                "row_number": row_number,
                "slo": slo,
                "start": start,
                "raw": raw,
                "reason": reason,
                "quarantined_at": now,
                "row_key": key,
            }
        if not by_key:
            return 0
        t = schema.quarantine
        count = sa.select(sa.func.count()).select_from(t)
        with self._begin() as conn:
            before = conn.execute(count).scalar_one()
            stmt = _insert(conn, t).on_conflict_do_nothing(index_elements=["row_key"])
            conn.execute(stmt, list(by_key.values()))
            after = conn.execute(count).scalar_one()
        return int(after - before)

    @staticmethod
    def _lenient_starts(df: pd.DataFrame) -> list[Any]:
        """A rejected row's start may itself be the garbage that got it rejected: keep it only if usable."""
        if "start" not in df.columns:
            return [None] * len(df)
        ser = df["start"]
        if pd.api.types.is_datetime64_any_dtype(ser):
            return column_values(df, "quarantine", "start", "int", nullable=True)
        numbers = pd.to_numeric(ser, errors="coerce")
        whole = numbers.notna() & (numbers == numbers.round())
        return [int(n) if ok else None for n, ok in zip(numbers.tolist(), whole.tolist(), strict=True)]

    def read_quarantine(self, source: str | None = None) -> pd.DataFrame:
        """Quarantined rows, oldest first, optionally for one source; `raw` holds the decoded JSON row."""
        t = schema.quarantine
        names = ["id", "source", "row_number", "slo", "start", "raw", "reason", "quarantined_at", "row_key"]
        query = sa.select(*(t.c[name] for name in names))
        if source is not None:
            query = query.where(t.c.source == source)
        with self._connect() as conn:
            rows = conn.execute(query.order_by(t.c.id)).all()
        return frame(
            rows,
            names,
            {
                "id": "int64",
                "row_number": "Int64",
                "start": "Int64",
                "raw": "object",
                "quarantined_at": "utc",
            },
        )

    # ---- exclusion audit log ------------------------------------------------------------------

    def append_exclusion_event(
        self, exclusion_id: str, action: str, payload: Mapping[str, Any], recorded_by: str
    ) -> int:
        """Record that an exclusion was added or revoked; returns the event id. Events are never edited."""
        if action not in EXCLUSION_ACTIONS:
            raise WarehouseInputError(
                f"exclusions.action: must be one of {', '.join(EXCLUSION_ACTIONS)} (got {action!r})"
            )
        if not exclusion_id:
            raise WarehouseInputError(f"exclusions.exclusion_id: must not be empty (got {exclusion_id!r})")
        if not recorded_by:
            raise WarehouseInputError(f"exclusions.recorded_by: must not be empty (got {recorded_by!r})")
        values = {
            "exclusion_id": exclusion_id,
            "action": action,
            "payload": json_safe(dict(payload)),
            "recorded_by": recorded_by,
            "recorded_at": datetime.now(UTC),
        }
        with self._begin() as conn:
            result = conn.execute(schema.exclusions.insert().values(**values))
            key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    def read_exclusion_events(self) -> list[dict[str, Any]]:
        """The whole exclusion log in the order it was written."""
        t = schema.exclusions
        with self._connect() as conn:
            rows = conn.execute(sa.select(t).order_by(t.c.id)).mappings().all()
        return [{**row, "recorded_at": _utc(row["recorded_at"])} for row in rows]

    def append_exclusion_review(
        self, exclusion_id: str, decision: str, reviewer: str, reason: str, scope: Mapping[str, Any]
    ) -> int:
        """Record the second approval (`approve`) or rejection (`reject`) of a flagged exclusion."""
        if decision not in ("approve", "reject"):
            raise WarehouseInputError(
                f"exclusion_reviews.decision: must be approve or reject (got {decision!r})"
            )
        values = {
            "exclusion_id": exclusion_id,
            "decision": decision,
            "reviewer": reviewer,
            "reason": reason,
            "recorded_at": datetime.now(UTC),
            "scope": json_safe(dict(scope)),
        }
        with self._begin() as conn:
            key = conn.execute(schema.exclusion_reviews.insert().values(**values)).inserted_primary_key
        assert key is not None
        return int(key[0])

    def read_exclusion_reviews(self) -> list[dict[str, Any]]:
        t = schema.exclusion_reviews
        with self._connect() as conn:
            rows = conn.execute(sa.select(t).order_by(t.c.id)).mappings().all()
        return [{**row, "recorded_at": _utc(row["recorded_at"])} for row in rows]

    def sync_slo_teams(self, teams: Mapping[str, tuple[str, str | None]]) -> None:
        """Replace the SLO -> (service, team) map row-level security keys on (from the catalog)."""
        from slo_pipelines.resources.warehouse_access import sync_slo_teams

        with self._begin() as conn:
            sync_slo_teams(conn, teams)

    # ---- audit log ----------------------------------------------------------------------------

    def append_audit(
        self,
        actor: str,
        action: str,
        subject: str,
        reason: str,
        details: Any = None,
        team: str | None = None,
    ) -> dict[str, Any]:
        """Append one hash-chained audit entry (engine/audit/log.py); returns it. ValueError for an
        unknown action or an empty actor. Writers are serialised so the chain never forks."""
        from slo_pipelines.engine.audit.log import next_entry

        t = schema.audit_log
        at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        safe = json_safe(details)
        with self._begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_AUDIT_LOCK)))
                # through a SECURITY DEFINER function: a team's role cannot read other teams' entries
                row = conn.execute(sa.text("SELECT seq, entry_hash FROM slo_audit_head()")).first()
            else:
                row = conn.execute(
                    sa.select(t.c.seq, t.c.entry_hash).order_by(t.c.seq.desc()).limit(1)
                ).first()
            previous = None if row is None else {"seq": row[0], "entry_hash": row[1]}
            entry = next_entry(previous, at, actor, action, subject, reason, safe)
            stored = {
                **entry,
                "details": json.dumps(safe, sort_keys=True, separators=(",", ":")),
                "team": team,
            }
            conn.execute(t.insert().values(**stored))
        return entry

    def read_audit_log(self, since: str | None = None) -> list[dict[str, Any]]:
        """Audit entries oldest first (those at or after `since`, `YYYY-MM-DDTHH:MM:SSZ`, when given)."""
        t = schema.audit_log
        query = sa.select(t).order_by(t.c.seq)
        if since is not None:
            query = query.where(t.c.at >= since)
        with self._connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [{**row, "details": json.loads(row["details"])} for row in rows]

    # ---- budget snapshots ---------------------------------------------------------------------

    def upsert_budget_snapshots(self, df: pd.DataFrame) -> int:
        """Store budget evaluations keyed by (slo, objective, at); returns rows written.

        `objective` is stored as text (its name, or its index when unnamed). burn_rates and alerts may
        be dicts/lists or JSON text.
        """
        table = "budget_snapshots"
        df = _last_per_key(df, ["slo", "objective", "at"], table)
        columns = {
            name: column_array(df, table, name, kind, required=not nullable, nullable=nullable)
            for name, kind, nullable in _SNAPSHOT_COLUMNS
        }
        with self._begin() as conn:
            bulk_upsert(conn, schema.budget_snapshots, columns)
        return len(df)

    def read_budget_snapshots(
        self, slos: Sequence[str] | None = None, start: int | None = None, end: int | None = None
    ) -> pd.DataFrame:
        """Snapshots with `at` in [start, end) (either bound optional), sorted by slo, objective, at."""
        t = schema.budget_snapshots
        names = [name for name, _, _ in _SNAPSHOT_COLUMNS]
        query = sa.select(*(t.c[name] for name in names))
        if slos is not None:
            query = query.where(t.c.slo.in_(list(slos)))
        if start is not None:
            query = query.where(t.c.at >= int(start))
        if end is not None:
            query = query.where(t.c.at < int(end))
        query = query.order_by(t.c.slo, t.c.objective, t.c.at)
        with self._connect() as conn:
            rows = conn.execute(query).all()
        dtypes = {name: "float64" for name, kind, _ in _SNAPSHOT_COLUMNS if kind == "float"}
        dtypes.update({"at": "int64", "window_start": "int64", "window_end": "int64"})
        dtypes.update({"burn_rates": "object", "alerts": "object"})
        return frame(rows, names, dtypes)

    # ---- alert events -------------------------------------------------------------------------

    def upsert_alert_events(self, df: pd.DataFrame) -> int:
        """Store alert firings; re-writing one (e.g. to set ended_at when it resolves) replaces it.

        Columns: slo, objective, severity, long_window, short_window, threshold, started_at; optional
        ended_at (NULL while the alert fires).
        """
        columns = self._alert_columns(df)
        with self._begin() as conn:
            bulk_upsert(conn, schema.alert_events, columns)
        return len(columns["slo"])

    @staticmethod
    def _alert_columns(df: pd.DataFrame) -> dict[str, Column]:
        table = "alert_events"
        keys = ["slo", "objective", "severity", "long_window", "started_at"]
        df = _last_per_key(df, keys, table)
        return {
            "slo": column_array(df, table, "slo", "text"),
            "objective": column_array(df, table, "objective", "text"),
            "severity": column_array(df, table, "severity", "text"),
            "long_window": column_array(df, table, "long_window", "text"),
            "short_window": column_array(df, table, "short_window", "text"),
            "threshold": column_array(df, table, "threshold", "float"),
            "started_at": column_array(df, table, "started_at", "int"),
            "ended_at": column_array(df, table, "ended_at", "int", required=False, nullable=True),
        }

    def replace_alert_events(self, df: pd.DataFrame, slos: Sequence[str], start: int, end: int) -> int:
        """Make the stored alerts of `slos` that start in `[start, end]` exactly `df`'s, in one transaction.

        A re-run of a range thus replaces what that range produced (a firing that vanished with
        corrected data disappears too); rows of `df` starting before `start` (alerts that began
        earlier, see `engine/alerting/events.join_stored_alerts`) update the stored row of that alert.
        """
        t = schema.alert_events
        delete = t.delete().where(
            t.c.slo.in_(list(slos)), t.c.started_at >= int(start), t.c.started_at <= int(end)
        )
        columns = self._alert_columns(df) if not df.empty else None
        with self._begin() as conn:
            conn.execute(delete)
            if columns is not None:
                bulk_upsert(conn, schema.alert_events, columns)
        return len(columns["slo"]) if columns is not None else 0

    def upsert_audit_results(self, df: pd.DataFrame) -> int:
        """Store data-quality verdicts keyed by (partition_start, partition_end, scope, check_name), so
        the audit history of every partition is queryable and a re-run replaces its own verdicts."""
        table = "audit_results"
        df = _last_per_key(df, ["partition_start", "partition_end", "scope", "check_name"], table)
        columns = {
            "partition_start": column_array(df, table, "partition_start", "int"),
            "partition_end": column_array(df, table, "partition_end", "int"),
            "scope": column_array(df, table, "scope", "text"),
            "check_name": column_array(df, table, "check_name", "text"),
            "success": [int(bool(v)) for v in df["success"]],
            "unexpected_count": column_array(df, table, "unexpected_count", "int"),
            "details": column_array(df, table, "details", "json", required=False, nullable=True),
        }
        with self._begin() as conn:
            bulk_upsert(conn, schema.audit_results, columns, {"audited_at": sa.func.now()})
        return len(df)

    def read_audit_results(self, start: int | None = None, end: int | None = None) -> pd.DataFrame:
        """Verdicts of partitions overlapping [start, end), oldest partition first."""
        t = schema.audit_results
        names = [
            "partition_start",
            "partition_end",
            "scope",
            "check_name",
            "success",
            "unexpected_count",
            "details",
        ]
        query = sa.select(*(t.c[name] for name in names))
        if end is not None:
            query = query.where(t.c.partition_start < int(end))
        if start is not None:
            query = query.where(t.c.partition_end > int(start))
        query = query.order_by(t.c.partition_start, t.c.scope, t.c.check_name)
        with self._connect() as conn:
            rows = [tuple(r) for r in conn.execute(query).all()]
        dtypes = {"partition_start": "int64", "partition_end": "int64", "unexpected_count": "int64"}
        out = frame(rows, names, dtypes)
        out["success"] = out["success"].astype(bool)
        return out

    def upsert_policy_decisions(self, df: pd.DataFrame) -> int:
        """Store policy decision events keyed by (slo, objective, action, at); a re-run replaces its own."""
        table = "policy_decisions"
        df = _last_per_key(df, ["slo", "objective", "action", "at"], table)
        columns = {
            "slo": column_array(df, table, "slo", "text"),
            "objective": column_array(df, table, "objective", "text"),
            "action": column_array(df, table, "action", "text"),
            "at": column_array(df, table, "at", "int"),
            "state": column_array(df, table, "state", "text"),
            "policy": column_array(df, table, "policy", "text"),
            "reason": column_array(df, table, "reason", "text"),
            "rollout_cap_percent": column_array(
                df, table, "rollout_cap_percent", "float", required=False, nullable=True
            ),
            "inputs": column_array(df, table, "inputs", "json", required=False, nullable=True),
            "escalation": column_array(df, table, "escalation", "json", required=False, nullable=True),
        }
        with self._begin() as conn:
            bulk_upsert(conn, schema.policy_decisions, columns)
        return len(df)

    def read_policy_decisions(self, end: int | None = None) -> pd.DataFrame:
        """Decision events with `at` < end (all when None), in time order."""
        t = schema.policy_decisions
        names = [column.name for column in t.columns]
        query = sa.select(*(t.c[name] for name in names))
        if end is not None:
            query = query.where(t.c.at < int(end))
        query = query.order_by(t.c.at, t.c.slo, t.c.objective, t.c.action)
        with self._connect() as conn:
            rows = [tuple(r) for r in conn.execute(query).all()]
        return frame(rows, names, {"at": "int64", "rollout_cap_percent": "float64"})

    def append_deliveries(self, records: Sequence[Mapping[str, Any]]) -> int:
        """Append notification delivery records; an identical re-append of the same attempt is ignored."""
        if not records:
            return 0
        t = schema.notification_deliveries
        keys = [c.name for c in t.primary_key.columns]
        with self._begin() as conn:
            existing = {
                tuple(r)
                for r in conn.execute(
                    sa.select(*(t.c[k] for k in keys)).where(
                        t.c.provider.in_({str(r["provider"]) for r in records})
                    )
                ).all()
            }
            fresh = [dict(r) for r in records if tuple(r[k] for k in keys) not in existing]
            if fresh:
                conn.execute(t.insert(), fresh)
        return len(fresh)

    def read_deliveries(self, provider: str | None = None) -> list[dict[str, Any]]:
        """The delivery log, oldest attempt first."""
        t = schema.notification_deliveries
        query = sa.select(t).order_by(t.c.attempted_at, t.c.dedup_key, t.c.action)
        if provider is not None:
            query = query.where(t.c.provider == provider)
        with self._connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings().all()]

    def add_outage_proposals(self, proposals: Sequence[Mapping[str, Any]]) -> int:
        """Record proposals (their `to_json()`); one already recorded keeps its first version."""
        t = schema.outage_proposals
        with self._begin() as conn:
            known = {r[0] for r in conn.execute(sa.select(t.c.id)).all()}
            fresh = [
                {
                    "id": p["id"],
                    "slo": p["scope"].removeprefix("slo:"),
                    "start": parse_instant(p["start"]),
                    "end": parse_instant(p["end"]),
                    "proposal": dict(p),
                }
                for p in proposals
                if p["id"] not in known
            ]
            if fresh:
                conn.execute(t.insert(), fresh)
        return len(fresh)

    def read_outage_proposals(self) -> list[dict[str, Any]]:
        """Every proposal as recorded, oldest outage first."""
        t = schema.outage_proposals
        with self._connect() as conn:
            rows = conn.execute(sa.select(t.c.proposal).order_by(t.c.start, t.c.id)).all()
        return [dict(r[0]) for r in rows]

    def read_alert_events(
        self,
        slos: Sequence[str] | None = None,
        start: int | None = None,
        end: int | None = None,
        open_only: bool = False,
    ) -> pd.DataFrame:
        """Alerts active at some instant of [start, end) (open alerts extend forever), oldest first."""
        t = schema.alert_events
        names = [column.name for column in t.columns]
        query = sa.select(*(t.c[name] for name in names))
        if slos is not None:
            query = query.where(t.c.slo.in_(list(slos)))
        if end is not None:
            query = query.where(t.c.started_at < int(end))
        if start is not None:
            query = query.where(sa.or_(t.c.ended_at.is_(None), t.c.ended_at > int(start)))
        if open_only:
            query = query.where(t.c.ended_at.is_(None))
        query = query.order_by(t.c.slo, t.c.objective, t.c.started_at, t.c.severity, t.c.long_window)
        with self._connect() as conn:
            rows = conn.execute(query).all()
        return frame(rows, names, {"threshold": "float64", "started_at": "int64", "ended_at": "Int64"})
