"""Team access control on a real PostgreSQL (DESIGN.md §12): every table with SLO data has row-level
security enabled and forced, and plain non-owner NOBYPASSRLS roles see exactly what their grant allows.
Also the append-only guards of the audit tables as an attacker with table privileges but no DDL."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from slo_pipelines.cli import main
from slo_pipelines.resources.warehouse import WarehouseResource
from slo_pipelines.resources.warehouse_access import policed_tables, rls_state

FLEET = str(Path(__file__).parents[1] / "examples/fleet")
PAYMENTS_SLOS = ["payments-availability", "invoicing-availability"]
STOREFRONT_SLOS = ["frontend-latency", "search-availability"]


@pytest.fixture
def populated(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[WarehouseResource]:
    monkeypatch.setenv("SLO_WAREHOUSE_URL", pg_url)
    warehouse = WarehouseResource(url=pg_url)
    warehouse.ensure_schema()
    rows = [
        {"slo": slo, "start": 1_700_000_000 + 60 * i, "good": 99.0, "total": 100.0}
        for slo in PAYMENTS_SLOS + STOREFRONT_SLOS
        for i in range(5)
    ]
    warehouse.upsert_buckets(pd.DataFrame(rows), source="test")
    for scope in ({"service": "payments-api"}, {"service": "web-frontend"}, {}):
        payload = {"scope": scope, "start": "2026-11-01T00:00:00Z", "end": "2026-11-01T01:00:00Z"}
        warehouse.append_exclusion_event(
            f"exc-{len(scope) and next(iter(scope.values()))}", "add", payload, "ops"
        )
    warehouse.append_audit("ops", "exclusion.add", "exc-payments-api", "drill", {}, team="payments")
    warehouse.append_audit("ops", "exclusion.add", "exc-web-frontend", "drill", {}, team="storefront")
    yield warehouse
    warehouse.dispose()


@pytest.fixture
def make_role(pg_url: str) -> Iterator:
    """Plain login roles (no superuser, no BYPASSRLS, not owners), dropped afterwards."""
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    made: list[str] = []

    def make(prefix: str) -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE ROLE "{name}" LOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT'))
        made.append(name)
        return name

    yield make
    with admin.connect() as conn:
        for name in made:
            conn.execute(sa.text(f'DROP OWNED BY "{name}"'))
            conn.execute(sa.text(f'DROP ROLE "{name}"'))
    admin.dispose()


def _as(pg_url: str, role: str) -> sa.Engine:
    return sa.create_engine(sa.make_url(pg_url).set(username=role, password=None), poolclass=sa.pool.NullPool)


def _grant(role: str, db_role: str, team: str | None = None) -> int:
    return main(
        [
            "access",
            "grant",
            "--catalog",
            FLEET,
            "--role",
            role,
            "--db-role",
            db_role,
            *(["--team", team] if team else []),
        ]
    )


def test_rls_is_enabled_and_forced_on_every_table_with_slo_data(populated: WarehouseResource) -> None:
    with populated.get_engine().connect() as conn:
        state = rls_state(conn)
        inspector = sa.inspect(conn)
        with_slo = {
            t for t in inspector.get_table_names() if "slo" in {c["name"] for c in inspector.get_columns(t)}
        }
    assert with_slo - {"slo_teams"} <= set(state)
    assert {"buckets", "budget_snapshots", "exclusions", "audit_log", "rollups"} <= set(state)
    assert all(enabled and forced for enabled, forced in state.values()), state


def test_viewer_sees_zero_rows_of_another_team(
    populated: WarehouseResource, make_role, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    viewer = make_role("pay_viewer")
    assert _grant("viewer", viewer, "payments") == 0
    assert "granted viewer (team payments)" in capsys.readouterr().out
    with _as(pg_url, viewer).connect() as conn:
        slos = {r[0] for r in conn.execute(sa.text("SELECT DISTINCT slo FROM buckets"))}
        assert slos == set(PAYMENTS_SLOS)
        storefront = conn.execute(
            sa.text("SELECT count(*) FROM buckets WHERE slo = ANY(:s)"), {"s": STOREFRONT_SLOS}
        ).scalar()
        assert storefront == 0
        scopes = [r[0] for r in conn.execute(sa.text("SELECT payload->'scope' FROM exclusions ORDER BY id"))]
        assert scopes == [{"service": "payments-api"}, {}]  # its own and the fleet-wide one
        teams = [
            r[0] for r in conn.execute(sa.text("SELECT team FROM audit_log WHERE action <> 'access.grant'"))
        ]
        assert teams == ["payments"]
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            conn.execute(sa.text("SELECT * FROM access_grants"))
    with (
        _as(pg_url, viewer).begin() as conn,
        pytest.raises(sa.exc.ProgrammingError, match="permission denied"),
    ):
        conn.execute(
            sa.text("INSERT INTO buckets VALUES ('payments-availability', 1, 60, 1, 1, NULL, 'x', now())")
        )


def test_auditor_reads_everything_and_writes_nothing(
    populated: WarehouseResource, make_role, pg_url: str
) -> None:
    auditor = make_role("auditor")
    assert _grant("auditor", auditor) == 0
    with populated.get_engine().connect() as conn:
        owner_counts = {
            t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() for t in policed_tables(conn)
        }
    with _as(pg_url, auditor).connect() as conn:
        counts = {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() for t in owner_counts}
    assert counts == owner_counts and counts["buckets"] == 20
    for statement in (
        "INSERT INTO exclusions (exclusion_id, action, payload, recorded_by, recorded_at) "
        "VALUES ('x', 'add', '{}', 'a', now())",
        "UPDATE buckets SET good = 0",
        "DELETE FROM budget_snapshots",
        "TRUNCATE buckets",
    ):
        with (
            _as(pg_url, auditor).begin() as conn,
            pytest.raises(sa.exc.ProgrammingError, match="permission denied"),
        ):
            conn.execute(sa.text(statement))


def test_team_admin_writes_exclusions_only_for_its_team(
    populated: WarehouseResource, make_role, pg_url: str
) -> None:
    team_admin = make_role("pay_admin")
    assert _grant("team_admin", team_admin, "payments") == 0
    insert = sa.text(
        "INSERT INTO exclusions (exclusion_id, action, payload, recorded_by, recorded_at) "
        "VALUES (:id, 'add', CAST(:p AS jsonb), 'li.wei', now())"
    )
    with _as(pg_url, team_admin).begin() as conn:
        conn.execute(insert, {"id": "own", "p": '{"scope": {"service": "invoicing"}}'})
    for scope in ('{"service": "search"}', '{"slo": "frontend-latency"}', "{}"):
        with (
            _as(pg_url, team_admin).begin() as conn,
            pytest.raises(sa.exc.ProgrammingError, match="row-level security"),
        ):
            conn.execute(insert, {"id": "other", "p": f'{{"scope": {scope}}}'})
    as_admin = WarehouseResource(
        url=sa.make_url(pg_url).set(username=team_admin).render_as_string(hide_password=False)
    )
    entry = as_admin.append_audit(team_admin, "exclusion.add", "own", "its own service", {}, team="payments")
    assert entry["seq"] == 4  # the chain continues past entries this role cannot read
    as_admin.dispose()
    assert main(["audit-log", "verify"]) == 0


def test_grant_refuses_unknown_team_role_and_sqlite(
    populated: WarehouseResource, make_role, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    role = make_role("someone")
    assert _grant("viewer", role, "paymnts") == 1
    assert capsys.readouterr().err.strip() == (
        "slo: error: --team: unknown team 'paymnts' (catalog teams: payments, platform, storefront)"
    )
    assert _grant("viewer", "no_such_role_here", "payments") == 1
    assert "no such database role" in capsys.readouterr().err
    assert _grant("viewer", role) == 2
    with pytest.raises(SystemExit) as exit_info:
        _grant("superuser", role)
    assert exit_info.value.code == 2
    monkeypatch.setenv("SLO_WAREHOUSE_URL", f"sqlite:///{tmp_path}/w.db")
    assert _grant("auditor", role) == 1
    assert "single-user" in capsys.readouterr().err


def test_append_only_tables_refuse_truncate_update_delete(populated: WarehouseResource) -> None:
    for statement in (
        "TRUNCATE exclusions",
        "TRUNCATE audit_log",
        "UPDATE audit_log SET reason = 'x'",
        "DELETE FROM exclusions",
    ):
        with populated.get_engine().begin() as conn, pytest.raises(sa.exc.DBAPIError, match="append-only"):
            conn.execute(sa.text(statement))


def test_dropped_append_only_table_is_not_recreated(
    populated: WarehouseResource, pg_url: str, capsys
) -> None:
    with populated.get_engine().begin() as conn:
        conn.execute(sa.text("DROP TABLE exclusions"))
    populated.dispose()
    assert main(["audit-log", "verify"]) == 1
    assert "append-only table exclusions is missing" in capsys.readouterr().err
    with sa.create_engine(pg_url, poolclass=sa.pool.NullPool).connect() as conn:
        assert not sa.inspect(conn).has_table("exclusions")


def test_a_recreated_table_gets_its_row_level_security_back(
    populated: WarehouseResource, pg_url: str
) -> None:
    with populated.get_engine().begin() as conn:
        conn.execute(sa.text("DROP TABLE rollups"))
    populated.dispose()
    populated.ensure_schema()  # create_all recreates rollups; the start-up check protects it again
    with populated.get_engine().connect() as conn:
        assert rls_state(conn)["rollups"] == (True, True)


COMPOSITE = """\
apiVersion: openslo/v1
kind: SLO
metadata: {name: payments-journey}
spec:
  service: payments-api
  timeWindow: [{duration: 7d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives:
    - displayName: accepted
      target: 0.99
      compositeWeight: 1
      indicator:
        metadata: {name: payments-journey-accepted}
        spec:
          ratioMetric:
            counter: true
            bad: {metricSource: {type: prometheus, spec: {query: 'sum(pay_total{code="500"})'}}}
            total: {metricSource: {type: prometheus, spec: {query: sum(pay_total)}}}
    - displayName: settled
      target: 0.9
      compositeWeight: 1
      indicator:
        metadata: {name: payments-journey-settled}
        spec:
          ratioMetric:
            counter: true
            good: {metricSource: {type: prometheus, spec: {query: sum(pay_settled_total)}}}
            total: {metricSource: {type: prometheus, spec: {query: sum(pay_total)}}}
"""


def test_composite_objective_rows_reach_their_team_only(
    populated: WarehouseResource, make_role, pg_url: str, tmp_path: Path
) -> None:
    """A composite SLO's objectives store rows under `SLO/objective`: the owning team reads them,
    another team does not."""
    import shutil

    from slo_pipelines.catalog import load_catalog

    catalog = tmp_path / "fleet"
    shutil.copytree(FLEET, catalog)
    (catalog / "journey.yaml").write_text(COMPOSITE)
    keys = sorted(k for k in load_catalog(catalog).slos_by_data_key() if k.startswith("payments-journey/"))
    assert len(keys) == 2
    rows = [
        {"slo": k, "start": 1_700_000_000 + 60 * i, "good": 9.0, "total": 10.0}
        for k in keys
        for i in range(3)
    ]
    populated.upsert_buckets(pd.DataFrame(rows), source="test")
    payments, storefront = make_role("pay_viewer"), make_role("shop_viewer")
    for role, team in ((payments, "payments"), (storefront, "storefront")):
        grant = ["access", "grant", "--catalog", str(catalog), "--role", "viewer", "--team", team]
        assert main([*grant, "--db-role", role]) == 0
    query = sa.text("SELECT DISTINCT slo FROM buckets WHERE slo LIKE 'payments-journey/%' ORDER BY slo")
    with _as(pg_url, payments).connect() as conn:
        assert [r[0] for r in conn.execute(query)] == keys
    with _as(pg_url, storefront).connect() as conn:
        assert list(conn.execute(query)) == []


def test_grant_without_a_reachable_warehouse_or_rights_is_one_line(
    populated: WarehouseResource, make_role, pg_url: str, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    role = make_role("someone")
    missing = sa.make_url(pg_url).set(database=f"absent_{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("SLO_WAREHOUSE_URL", missing.render_as_string(hide_password=False))
    assert _grant("viewer", role, "payments") == 2
    err = capsys.readouterr().err
    assert err.startswith("slo: error: --warehouse-url: ") and "does not exist" in err
    assert len(err.strip().splitlines()) == 1
    viewer = make_role("viewer")
    monkeypatch.setenv("SLO_WAREHOUSE_URL", pg_url)
    assert _grant("viewer", viewer, "payments") == 0
    capsys.readouterr()
    as_viewer = sa.make_url(pg_url).set(username=viewer, password=None)
    monkeypatch.setenv("SLO_WAREHOUSE_URL", as_viewer.render_as_string(hide_password=False))
    assert _grant("auditor", role) == 1  # a viewer cannot hand out access
    err = capsys.readouterr().err
    assert err.startswith(f"slo: error: grant to {role}: ") and "permission denied" in err
    assert len(err.strip().splitlines()) == 1
