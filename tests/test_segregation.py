"""Segregation of duties on exclusions, tried as a new user would (issue: `--requester bob --approver
bob` accepted, misspelt scopes accepted, flagged exclusions applied at once)."""

import json
from pathlib import Path

import pytest

from slo_pipelines.catalog import load_catalog
from slo_pipelines.cli import main
from slo_pipelines.engine.audit.log import verify
from slo_pipelines.engine.exclusions.runtime import with_runtime_exclusions
from slo_pipelines.resources.warehouse import WarehouseResource

FLEET = Path(__file__).parents[1] / "examples/fleet"
LATE = ["--start", "2026-11-20T02:00:00Z", "--end", "2026-11-20T03:00:00Z"]  # before "now": retroactive
AHEAD = ["--start", "2099-11-20T02:00:00Z", "--end", "2099-11-20T03:00:00Z"]


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    value = f"sqlite:///{tmp_path / 'w.db'}"
    monkeypatch.setenv("SLO_WAREHOUSE_URL", value)
    monkeypatch.setenv("SLO_CATALOG_DIR", str(FLEET))
    return value


def _add(ident: str, scope: str, when: list[str], requester: str = "alice", approver: str = "bob") -> int:
    return main(
        [
            "exclusions",
            "add",
            "--id",
            ident,
            "--scope",
            scope,
            *when,
            "--category",
            "maintenance",
            "--reason",
            "failover drill",
            "--requester",
            requester,
            "--approver",
            approver,
            "--ticket",
            "CHG-1",
        ]
    )


def test_requester_cannot_approve_their_own_exclusion(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _add("e1", "service:payments-api", AHEAD, "bob", " Bob") == 1
    assert capsys.readouterr().err == (
        "slo: error: --approver: must differ from the requester "
        "(segregation of duties; got ' Bob' for both)\n"
    )
    assert WarehouseResource(url=url).read_exclusion_events() == []


def test_scope_is_checked_against_the_catalog_without_catalog_option(url: str, capsys) -> None:
    assert _add("e1", "service:paymnts-api", AHEAD) == 1
    assert capsys.readouterr().err == (
        'slo: error: --scope: no Service with this name in the catalog (got "paymnts-api")\n'
    )


def test_flagged_exclusion_waits_for_a_second_approval(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    warehouse = WarehouseResource(url=url)
    catalog = load_catalog(FLEET)
    assert _add("ahead", "service:payments-api", AHEAD) == 0
    assert _add("late", "service:payments-api", LATE) == 0
    assert "changes no budget until a second person approves it" in capsys.readouterr().out

    def applied() -> list[str]:
        effective = with_runtime_exclusions(
            catalog, warehouse.read_exclusion_events(), warehouse.read_exclusion_reviews()
        )
        return [r.name for r in effective.exclusions if r.source_file == "warehouse:exclusions"]

    assert applied() == ["ahead"]
    assert main(["exclusions", "list", "--pending", "--format", "json"]) == 0
    pending = json.loads(capsys.readouterr().out)
    assert [x["id"] for x in pending["exclusions"]] == ["late"] and pending["proposals"] == []
    assert pending["exclusions"][0]["review_state"] == "pending" and not pending["exclusions"][0]["applies"]

    for reviewer in ("alice", "BOB"):
        assert (
            main(
                [
                    "exclusions",
                    "review",
                    "late",
                    "--reviewer",
                    reviewer,
                    "--decision",
                    "approve",
                    "--reason",
                    "ok",
                ]
            )
            == 1
        )
        assert "segregation of duties" in capsys.readouterr().err
    assert (
        main(
            [
                "exclusions",
                "review",
                "ahead",
                "--reviewer",
                "carol",
                "--decision",
                "approve",
                "--reason",
                "ok",
            ]
        )
        == 1
    )
    assert "not waiting for review (review: not_required)" in capsys.readouterr().err
    assert (
        main(
            [
                "exclusions",
                "review",
                "late",
                "--reviewer",
                "carol",
                "--decision",
                "approve",
                "--reason",
                "drill confirmed in CHG-1",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out == "approved late: now applies to budgets\n"
    assert applied() == ["ahead", "late"]
    assert main(["exclusions", "list", "--pending", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["exclusions"] == []
    assert main(["exclusions", "list", "--format", "json"]) == 0
    [late] = [x for x in json.loads(capsys.readouterr().out)["exclusions"] if x["id"] == "late"]
    assert (
        late["requester"],
        late["approver"],
        late["ticket"],
        late["review_state"],
        late["reviewed_by"],
    ) == (
        "alice",
        "bob",
        "CHG-1",
        "approved",
        "carol",
    )

    log = warehouse.read_audit_log()
    assert [(e["actor"], e["action"], e["subject"]) for e in log] == [
        ("alice", "exclusion.add", "ahead"),
        ("alice", "exclusion.add", "late"),
        ("carol", "exclusion.review", "late"),
    ]
    assert {e["team"] for e in log} == {"payments"} and verify(log) == []


def test_rejected_exclusion_never_applies(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _add("late", "slo:payments-availability", LATE) == 0
    assert (
        main(
            [
                "exclusions",
                "review",
                "late",
                "--reviewer",
                "carol",
                "--decision",
                "reject",
                "--reason",
                "no evidence",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "exclusions",
                "review",
                "late",
                "--reviewer",
                "dave",
                "--decision",
                "approve",
                "--reason",
                "overrule",
            ]
        )
        == 1
    )
    assert "not waiting for review (review: rejected)" in capsys.readouterr().err
    warehouse = WarehouseResource(url=url)
    effective = with_runtime_exclusions(
        load_catalog(FLEET), warehouse.read_exclusion_events(), warehouse.read_exclusion_reviews()
    )
    assert all(r.source_file != "warehouse:exclusions" for r in effective.exclusions)
