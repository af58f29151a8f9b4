"""Reachability of external services (PostgreSQL, Prometheus, ...) for the integration tests.

A developer machine without the service skips those tests with a visible reason; CI sets
SLO_REQUIRE_SERVICES=1 so that a missing service fails the run instead of silently testing less.
"""

import os

import pytest
import sqlalchemy as sa

REQUIRE_SERVICES_ENV = "SLO_REQUIRE_SERVICES"
POSTGRES_ADMIN_URL_ENV = "SLO_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


def services_required() -> bool:
    return os.environ.get(REQUIRE_SERVICES_ENV, "").strip() == "1"


def require_service(name: str, available: bool, why: str) -> None:
    """Return if the service is available; otherwise skip the test, or fail it when services are required."""
    if available:
        return
    message = f"{name} is not reachable: {why}"
    if services_required():
        pytest.fail(f"{message} ({REQUIRE_SERVICES_ENV}=1)", pytrace=False)
    pytest.skip(f"{message} (set {REQUIRE_SERVICES_ENV}=1 to make this a failure)")


def postgres_admin_url() -> sa.URL:
    """A connection to an existing database as a role allowed to create databases."""
    return sa.make_url(os.environ.get(POSTGRES_ADMIN_URL_ENV, DEFAULT_POSTGRES_ADMIN_URL))


def probe_postgres(url: sa.URL) -> tuple[bool, str]:
    """Whether a real connection (not just a TCP port) works, and if not, the driver's reason."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.DBAPIError as exc:
        first_line = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        return False, f"{url.render_as_string(hide_password=True)}: {first_line}"
    finally:
        engine.dispose()
    return True, ""
