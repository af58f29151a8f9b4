"""`slo cab assess`: affected SLOs through Dependency, freezes, maintenance, history, recommendation."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from slo_pipelines.catalog import load_catalog
from slo_pipelines.catalog.budget_policy import catalog_budget_policies
from slo_pipelines.engine.release.cab import affected_services, assess, parse_change
from slo_pipelines.engine.release.releases import Release, ReleaseInputError
from slo_pipelines.engine.release.state import ObjectiveState
from slo_pipelines.reports.release import render_cab_markdown
from tests.release_helpers import AT, AT_ISO, history, write_catalog, write_samples

ROOT = Path(__file__).resolve().parent.parent


def change_doc(**spec: object) -> dict[str, object]:
    base: dict[str, object] = {
        "title": "Checkout <b>client</b> | upgrade",
        "services": ["checkout"],
        "window": {"start": "2026-11-01T10:30:00Z", "end": "2026-11-01T11:30:00Z"},
    }
    return {
        "apiVersion": "slo-pipelines/v1",
        "kind": "Change",
        "metadata": {"name": "CHG-1"},
        "spec": {**base, **spec},
    }


def state(slo: str, service: str, remaining: float) -> ObjectiveState:
    return ObjectiveState(
        slo, service, "availability", 0.999, AT, remaining, 100.0, 0.0, {}, (), "ok", 30 * 86400
    )


def test_affected_services_follow_dependencies_downstream_only() -> None:
    edges = [("cart", "checkout"), ("web", "cart"), ("checkout", "db"), ("search", "index")]
    assert affected_services(["checkout"], edges) == {
        "checkout": "changed",
        "cart": "depends on checkout",
        "web": "depends on cart",
    }


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return load_catalog(write_catalog(tmp_path_factory.mktemp("cab")))


def test_recommendations(catalog) -> None:  # type: ignore[no-untyped-def]
    policies = catalog_budget_policies(catalog.documents)
    change = parse_change(change_doc(), "c.yaml[0]")
    healthy = [state("checkout-availability", "checkout", 0.9), state("cart-availability", "cart", 0.9)]
    ok = assess(change, catalog, AT, healthy, policies)
    assert ok.recommendation == "approve" and ok.conditions == ()
    doc = ok.to_json()
    assert [(s["slo"], s["affected_because"]) for s in doc["slos"]] == [
        ("checkout-availability", "changed"),
        ("cart-availability", "depends on checkout"),
    ]
    [window] = doc["maintenance_windows"]
    assert window["name"] == "checkout-db" and window["overlap_seconds"] == 1800
    assert window["slos"] == ["checkout-availability"]

    review = [state("checkout-availability", "checkout", 0.4), state("cart-availability", "cart", 0.9)]
    conditional = assess(change, catalog, AT, review, policies)
    assert conditional.recommendation == "approve_with_conditions"
    assert any("require_review in force (remaining 40.0%)" in c for c in conditional.conditions)

    frozen = [state("checkout-availability", "checkout", -0.1), state("cart-availability", "cart", 0.9)]
    deferred = assess(change, catalog, AT, frozen, policies)
    assert deferred.recommendation == "defer"
    assert (
        deferred.conditions[0] == "gate denies checkout: freeze_deploys on checkout-availability/availability"
    )
    assert deferred.to_json()["freezes"][0]["waived"] is False
    security = parse_change(change_doc(changeType="security"), "c.yaml[0]")
    assert assess(security, catalog, AT, frozen, policies).recommendation != "defer"

    costly = parse_change(change_doc(expectedBudgetCost=0.5), "c.yaml[0]")
    tight = [state("checkout-availability", "checkout", 0.9), state("cart-availability", "cart", 0.3)]
    result = assess(costly, catalog, AT, tight, policies)
    assert result.recommendation == "approve_with_conditions"
    assert (
        "cart-availability/availability: expected cost 50.0% of the budget > 30.0% remaining"
        in result.conditions
    )


def test_history_and_markdown(catalog) -> None:  # type: ignore[no-untyped-def]
    from slo_pipelines.engine.release.releases import CausedIncident

    change = parse_change(change_doc(), "c.yaml[0]")
    past = [
        Release("old", "cart", AT - 86400 * 5, caused_incidents=(CausedIncident("INC-7", 0.2),)),
        Release("elsewhere", "search", AT - 86400, caused_incidents=(CausedIncident("INC-8", 0.5),)),
        Release("future", "checkout", AT + 86400),
    ]
    healthy = [state("checkout-availability", "checkout", 0.9), state("cart-availability", "cart", 0.9)]
    result = assess(change, catalog, AT, healthy, [], past).to_json()
    assert result["past_incidents"] == [
        {
            "release": "old",
            "service": "cart",
            "start": "2026-10-27T00:00:00Z",
            "incident": "INC-7",
            "budget_consumed_ratio": 0.2,
        }
    ]
    text = render_cab_markdown(result)
    assert text.startswith("# Change CHG-1: Checkout &lt;b&gt;client&lt;/b&gt; \\| upgrade\n")
    assert "**Recommendation: approve**" in text
    assert "| old | cart | 2026-10-27T00:00:00Z | INC-7 | 20.0 % |" in text
    assert "| checkout-db | MaintenanceWindow | 2026-11-01T10:00:00Z | 2026-11-01T11:00:00Z | 30.0 |" in text


def test_change_document_errors() -> None:
    with pytest.raises(ReleaseInputError, match=r"c.yaml\[0\] spec.window.end: must be after"):
        parse_change(
            change_doc(window={"start": "2026-11-01T10:00:00Z", "end": "2026-11-01T09:00:00Z"}), "c.yaml[0]"
        )
    with pytest.raises(ReleaseInputError, match=r"spec\.services: must be a non-empty list"):
        parse_change(change_doc(services=[]), "c.yaml[0]")
    with pytest.raises(ReleaseInputError, match=r"spec\.owner: unknown field"):
        parse_change(change_doc(owner="me"), "c.yaml[0]")


def test_slo_cab_assess(tmp_path: Path) -> None:
    catalog = write_catalog(tmp_path)
    samples = write_samples(tmp_path, history("checkout-availability", 2), history("cart-availability", 0))
    change = tmp_path / "change.json"
    change.write_text(json.dumps(change_doc()))
    common = ["cab", "assess", "--catalog", catalog, "--change", change, "--samples", samples, "--at", AT_ISO]
    run = subprocess.run(
        [sys.executable, "-m", "slo_pipelines.cli", *map(str, common)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["recommendation"] == "defer" and doc["gates"][0]["decision"] == "deny"
    md = subprocess.run(
        [sys.executable, "-m", "slo_pipelines.cli", *map(str, common), "--format", "markdown"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert md.returncode == 0 and "**Recommendation: defer**" in md.stdout
    change.write_text(json.dumps(change_doc(services=["nope"])))
    bad = subprocess.run(
        [sys.executable, "-m", "slo_pipelines.cli", *map(str, common)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "spec.services: unknown service" in bad.stderr
