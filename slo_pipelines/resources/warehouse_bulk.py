"""Fast idempotent upserts of many rows, with values only ever sent as data, never as SQL text.

A backfill writes millions of minute buckets, so the generic one-row-per-parameter-set path is too slow:

* SQLite: the `INSERT ... ON CONFLICT DO UPDATE` is compiled once and the rows go to the driver's
  `executemany` as tuples of bound parameters, built a chunk at a time straight from the columns.
* PostgreSQL: the rows stream through `COPY` into a transaction-scoped staging table, then one
  `INSERT ... SELECT ... ON CONFLICT DO UPDATE` merges them (SQLAlchemy does not batch executemany
  for ON CONFLICT statements, which would mean one round trip per row). The CSV is written column-wise
  by Arrow: floats in their shortest round-trip form, so PostgreSQL parses back the very same double.

Both run inside the caller's transaction, so a write is all or nothing.
"""

import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from slo_pipelines.resources.warehouse_frames import Column, python_values

CHUNK_ROWS = 50_000
"""Rows per driver call or COPY buffer: bounds memory while keeping round trips few."""

# Strings are always quoted (so '' stays an empty string) and NULL is an unquoted empty field: the
# CSV spelling PostgreSQL's COPY reads as NULL.
_CSV_OPTIONS = pa_csv.WriteOptions(include_header=False, quoting_style="needed")


def _is_json(column: sa.Column[Any]) -> bool:
    return isinstance(column.type, sa.JSON)


def _serialise_json(table: sa.Table, columns: Mapping[str, Column]) -> dict[str, Column]:
    """JSON columns as text: both fast paths bypass SQLAlchemy's per-row JSON bind processing."""
    out = dict(columns)
    for name, values in columns.items():
        if _is_json(table.c[name]):
            out[name] = [
                None if value is None else json.dumps(value, sort_keys=True, allow_nan=False)
                for value in values
            ]
    return out


def upsert_statement(conn: Connection, table: sa.Table, overrides: Mapping[str, Any] | None = None) -> Any:
    """INSERT ... ON CONFLICT (primary key) DO UPDATE of every other column, in the connection's dialect."""
    keys = [column.name for column in table.primary_key.columns]
    stmt: Any = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)
    if overrides:
        stmt = stmt.values(**overrides)
    updates: dict[str, Any] = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
    updates.update(overrides or {})
    return stmt.on_conflict_do_update(index_elements=keys, set_=updates)


def bulk_upsert(
    conn: Connection,
    table: sa.Table,
    columns: Mapping[str, Column],
    overrides: Mapping[str, Any] | None = None,
) -> None:
    """Upsert rows given column-wise (equal lengths, keys unique within the call).

    Each column is a `warehouse_frames.Column`: an int64 array, a float64 array whose NaN are NULL, or
    Python values with None for NULL. `overrides` are SQL expressions (e.g. `func.now()`) set on every
    inserted or updated row.
    """
    if not columns or not len(next(iter(columns.values()))):
        return
    data = _serialise_json(table, columns)
    if conn.dialect.name == "postgresql":
        _postgres_copy_merge(conn, table, data, overrides or {})
    elif conn.dialect.name == "sqlite":
        _sqlite_executemany(conn, table, data, overrides or {})
    else:
        raise ValueError(f"warehouse: unsupported database dialect '{conn.dialect.name}'")


def _sqlite_executemany(
    conn: Connection, table: sa.Table, columns: Mapping[str, Column], overrides: Mapping[str, Any]
) -> None:
    stmt = upsert_statement(conn, table, overrides)
    compiled = stmt.compile(dialect=conn.dialect, column_keys=list(columns))
    order: Sequence[str] | None = compiled.positiontup
    if order is None or set(order) != set(columns):
        raise RuntimeError(f"bulk upsert parameters {order} do not match columns {sorted(columns)}")
    sql = str(compiled)
    count = len(columns[order[0]])
    dbapi: Any = conn.dialect.loaded_dbapi
    cursor: Any = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        for offset in range(0, count, CHUNK_ROWS):
            # Python values of one chunk per column; the driver pulls the rows from the zip one at a
            # time, so no list of a chunk's tuples is ever built
            chunk = [python_values(columns[name][offset : offset + CHUNK_ROWS]) for name in order]
            cursor.executemany(sql, zip(*chunk, strict=True))
    except dbapi.Error as exc:
        # the error SQLAlchemy's own execution would raise (IntegrityError, OperationalError...)
        raise sa.exc.DBAPIError.instance(sql, None, exc, dbapi.Error) from exc
    finally:
        cursor.close()


def _arrow_type(column: sa.Column[Any]) -> pa.DataType:
    if isinstance(column.type, sa.Integer):
        return pa.int64()
    if isinstance(column.type, sa.Float):
        return pa.float64()
    if isinstance(column.type, sa.String | sa.JSON):  # JSON arrives serialised
        return pa.string()
    raise ValueError(
        f"bulk upsert: column {column.table.name}.{column.name}: type {column.type} not supported"
    )


def _arrow_column(column: sa.Column[Any], values: Column) -> pa.Array:
    if isinstance(values, np.ndarray) and values.dtype.kind in "iuf":
        # NaN becomes null; integers pass as they are and are range-checked by PostgreSQL on COPY
        return pa.array(values, from_pandas=True)
    return pa.array(values, type=_arrow_type(column), from_pandas=False)


def _postgres_copy_merge(
    conn: Connection, table: sa.Table, columns: Mapping[str, Column], overrides: Mapping[str, Any]
) -> None:
    names = list(columns)
    quote = conn.dialect.identifier_preparer.quote
    stage = f"stage_{table.name}"
    column_list = ", ".join(quote(name) for name in names)
    # Identifiers only (our own table and column names); the data never enters SQL text.
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {quote(stage)}")
    conn.exec_driver_sql(
        f"CREATE TEMPORARY TABLE {quote(stage)} ON COMMIT DROP AS "
        f"SELECT {column_list} FROM {quote(table.name)} WITH NO DATA"
    )
    copy_sql = f"COPY {quote(stage)} ({column_list}) FROM STDIN WITH (FORMAT csv, ENCODING 'UTF8')"
    rows = pa.table([_arrow_column(table.c[name], columns[name]) for name in names], names=names)
    dbapi_conn: Any = conn.connection.dbapi_connection
    with dbapi_conn.cursor() as cursor:
        for offset in range(0, rows.num_rows, CHUNK_ROWS):
            buffer = io.BytesIO()
            pa_csv.write_csv(rows.slice(offset, CHUNK_ROWS), buffer, _CSV_OPTIONS)
            buffer.seek(0)
            cursor.copy_expert(copy_sql, buffer)
    staged = sa.table(stage, *(sa.column(name) for name in names))
    selected = [staged.c[name] for name in names] + [expr.label(name) for name, expr in overrides.items()]
    keys = [column.name for column in table.primary_key.columns]
    merge: Any = postgresql.insert(table).from_select([*names, *overrides], sa.select(*selected))
    updates: dict[str, Any] = {
        name: merge.excluded[name] for name in [*names, *overrides] if name not in keys
    }
    conn.execute(merge.on_conflict_do_update(index_elements=keys, set_=updates))
