"""Append-only means append-only on SQLite too: REPLACE INTO, dropped tables and dropped triggers are
refused, and the audit log's hash chain shows a rewrite made by someone who could remove the guards."""

import sqlite3
from pathlib import Path

import pytest

from slo_pipelines.cli import main
from slo_pipelines.engine.audit.log import verify
from slo_pipelines.resources.warehouse import WarehouseResource


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "warehouse.db"
    monkeypatch.setenv("SLO_WAREHOUSE_URL", f"sqlite:///{path}")
    assert (
        main(
            [
                "exclusions",
                "add",
                "--scope",
                "service:payments-api",
                "--start",
                "2026-11-20T02:00:00Z",
                "--end",
                "2026-11-20T03:00:00Z",
                "--category",
                "maintenance",
                "--reason",
                "drill",
                "--requester",
                "alice",
                "--approver",
                "bob",
                "--id",
                "exc-1",
            ]
        )
        == 0
    )
    WarehouseResource(url=f"sqlite:///{path}").dispose()
    return path


def test_replace_into_cannot_rewrite_an_add_into_a_revoke(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with sqlite3.connect(db) as conn:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute(
                "REPLACE INTO exclusions (id, exclusion_id, action, payload, recorded_by, recorded_at) "
                "VALUES (1, 'exc-1', 'revoke', '{\"reason\": \"x\"}', 'mallory', '2026-11-20 00:00:00')"
            )
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("INSERT OR REPLACE INTO audit_log SELECT * FROM audit_log")
    capsys.readouterr()
    assert main(["exclusions", "list", "--format", "json"]) == 0
    assert '"state": "active"' in capsys.readouterr().out


@pytest.mark.parametrize(
    ("attack", "message"),
    [
        ("DROP TABLE exclusions", "append-only table exclusions is missing"),
        ("DROP TRIGGER exclusions_no_replace", "lost its guard exclusions_no_replace"),
        ("DROP TABLE audit_log", "append-only table audit_log is missing"),
    ],
)
def test_lost_guards_stop_every_command(
    db: Path, capsys: pytest.CaptureFixture[str], attack: str, message: str
) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute(attack)
    capsys.readouterr()
    assert main(["exclusions", "list"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("slo: error: warehouse: ") and message in err and err.count("\n") == 1
    with sqlite3.connect(db) as conn:  # nothing was recreated behind the operator's back
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert ("exclusions" in names) == ("DROP TABLE exclusions" not in attack)


def test_audit_chain_shows_a_rewrite_by_someone_who_removed_the_guards(db: Path) -> None:
    warehouse = WarehouseResource(url=f"sqlite:///{db}")
    warehouse.append_audit("carol", "report.generate", "budget-2026-10", "monthly", {"files": 3})
    entries = warehouse.read_audit_log()
    assert verify(entries) == []
    warehouse.dispose()
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TRIGGER audit_log_no_update")
        conn.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 1")
    tampered = [dict(e) for e in entries]
    tampered[0]["actor"] = "mallory"
    assert verify(tampered) == ["seq 1: modified entry (exclusion.add exc-1)"]
    assert verify(entries[1:]) == ["chain broken at seq 2: expected seq 1 (entries removed or reordered)"]


def test_audit_log_export_since_is_json_lines_an_auditor_can_rehash(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import hashlib
    import json

    capsys.readouterr()
    assert main(["audit-log", "export", "--since", "2026-01-01"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert (entry["actor"], entry["action"], entry["subject"], entry["team"]) == (
        "alice",
        "exclusion.add",
        "exc-1",
        "payments",
    )
    fields = ("seq", "at", "actor", "action", "subject", "reason", "details", "prev_hash")
    canonical = json.dumps(
        {k: entry[k] for k in fields}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    assert hashlib.sha256(canonical.encode()).hexdigest() == entry["entry_hash"]
    assert main(["audit-log", "export", "--since", "2100-01-01"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["audit-log", "verify"]) == 0
    assert capsys.readouterr().out.strip() == "1 entries verified"
