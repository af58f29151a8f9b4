"""Fixtures shared by the test suite."""

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tests.services import postgres_admin_url, probe_postgres, require_service


@pytest.fixture
def pg_url() -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL database, dropped after the test."""
    admin_url = postgres_admin_url()
    available, why = probe_postgres(admin_url)
    require_service("PostgreSQL", available, why)
    name = f"slo_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    quoted = admin.dialect.identifier_preparer.quote(name)
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {quoted}"))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            # FORCE: pooled connections the test left open must not keep the database alive.
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
        admin.dispose()
