"""Budget policies: actions engage and lift as events with their inputs; bad policies are field errors."""

import json
from pathlib import Path

import pandas as pd
import pytest

from slo_pipelines.catalog import CatalogError, load_catalog
from slo_pipelines.catalog.budget_policy import (
    BudgetPolicy,
    BudgetRule,
    catalog_budget_policies,
    policy_for_slo,
)
from slo_pipelines.catalog.models import Scope
from slo_pipelines.engine.alerting.budget_decisions import decision_events, engaged_actions, engaged_state

FLEET = Path(__file__).resolve().parent.parent / "examples" / "fleet"
POLICY = BudgetPolicy(
    name="p",
    scope=Scope(),
    rules=(
        BudgetRule(actions=("notify_owners",), remaining_below=0.5),
        BudgetRule(actions=("require_review", "cap_rollout"), remaining_below=0.25, rollout_cap_percent=10),
        BudgetRule(actions=("cap_rollout",), remaining_below=0.1, rollout_cap_percent=5),
        BudgetRule(actions=("freeze_deploys",), remaining_below=0.0),
        BudgetRule(actions=("warn",), burn_window="1h", burn_above=14.4),
    ),
    escalation={"page": ("oncall",)},
)


def snap(
    at: int, remaining: float | None, burn_1h: float | None = 0.0, status: str = "ok"
) -> dict[str, object]:
    return {
        "slo": "api",
        "objective": "o",
        "at": at,
        "remaining_ratio": remaining,
        "burn_rates": json.dumps({"1h": burn_1h}),
        "status": status,
    }


def test_the_tightest_cap_wins_and_freeze_names_its_exceptions() -> None:
    now = engaged_actions(POLICY, -0.2, {"1h": 20.0})
    assert set(now) == {"notify_owners", "require_review", "cap_rollout", "freeze_deploys", "warn"}
    assert now["cap_rollout"][1] == 5
    assert "except reliability, security fixes" in now["freeze_deploys"][0]
    assert engaged_actions(POLICY, 0.9, {"1h": None}) == {}


def test_actions_engage_and_lift_as_events_and_no_data_holds() -> None:
    frame = pd.DataFrame(
        [snap(1, 0.8), snap(2, 0.4), snap(3, -0.1, 20.0), snap(4, None, None, "no_data"), snap(5, 0.6)]
    )
    events = decision_events(POLICY, frame, set())
    story = [(int(e.at), e.action, e.state) for e in events.itertuples()]
    assert story == [
        (2, "notify_owners", "engaged"),
        (3, "cap_rollout", "engaged"),
        (3, "freeze_deploys", "engaged"),
        (3, "require_review", "engaged"),
        (3, "warn", "engaged"),
        (5, "cap_rollout", "lifted"),
        (5, "freeze_deploys", "lifted"),
        (5, "notify_owners", "lifted"),
        (5, "require_review", "lifted"),
        (5, "warn", "lifted"),
    ]
    freeze = events[(events["action"] == "freeze_deploys") & (events["state"] == "engaged")].iloc[0]
    assert json.loads(freeze["inputs"])["remaining_ratio"] == -0.1
    assert json.loads(freeze["escalation"]) == {"page": ["oncall"]}
    assert engaged_state(events) == set()
    assert engaged_state(events[events["at"] <= 3]) == {
        ("api", "o", a) for a in ("notify_owners", "cap_rollout", "freeze_deploys", "require_review", "warn")
    }


def test_state_carries_over_between_runs() -> None:
    first = decision_events(POLICY, pd.DataFrame([snap(1, -0.5)]), set())
    second = decision_events(POLICY, pd.DataFrame([snap(2, -0.4)]), engaged_state(first))
    assert second.empty  # still engaged: no duplicate "engaged" event


def test_fleet_policies_load_typed() -> None:
    catalog = load_catalog(FLEET)
    policies = catalog_budget_policies(catalog.documents)
    payments = policy_for_slo(policies, "payments-availability", "payments-api")
    default = policy_for_slo(policies, "auth-availability", "auth")
    assert payments is not None and payments.name == "payments-strict"
    assert default is not None and default.escalation["page"] == ("service-oncall", "sre-lead")
    assert any(rule.burn_window == "1h" for rule in default.rules)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            "{actions: [freeze_everything], remainingBelow: 0}",
            "actions[0]: must be one of warn, notify_owners",
        ),
        (
            "{actions: [cap_rollout], remainingBelow: 0.2}",
            "rolloutCapPercent: is required with the cap_rollout",
        ),
        ("{actions: [warn]}", "needs remainingBelow or burnRateAbove"),
        (
            "{actions: [warn], burnRateAbove: {window: 2m, value: 3}}",
            "burnRateAbove.window: must be one of 5m",
        ),
        ("{actions: [warn], remainingBelow: 0.5, remainingBellow: 0.4}", "remainingBellow: unknown field"),
    ],
)
def test_bad_policies_are_field_errors(tmp_path: Path, rule: str, message: str) -> None:
    (tmp_path / "p.yaml").write_text(
        "apiVersion: slo-pipelines/v1\nkind: BudgetPolicy\nmetadata: {name: p}\n"
        f"spec:\n  thresholds: [{rule}]\n"
    )
    with pytest.raises(CatalogError) as exc:
        load_catalog(tmp_path)
    assert any(message in str(i) for i in exc.value.issues), str(exc.value)
