"""AlertPolicy burn-rate conditions become alerts: in `slo evaluate`, in the replayed alert events, and
in `slo rules export` (with `alertAfter` as `for:`); `slo-pipelines.io/alerting: policy` turns the
default multi-window pairs off. Fixture: tests/fixtures/alert_policy/catalog.yaml (burn over 30m >= 10
for 10m, target 0.99)."""

import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from slo_pipelines.catalog import CatalogError, load_catalog
from slo_pipelines.catalog.models import BurnRateCondition
from slo_pipelines.engine.alerting.events import alert_events
from slo_pipelines.engine.alerting.prometheus_rules import export_rules, rules_yaml
from slo_pipelines.engine.budgets.evaluate import CatalogEvaluator
from slo_pipelines.reports.tables import RESULT_HEADERS, result_rows
from tests.prometheus_server import require_prometheus

CATALOG = Path(__file__).resolve().parent / "fixtures" / "alert_policy"
T0 = int(pd.Timestamp("2026-05-01T00:00:00Z").timestamp())
E = T0 + 3600  # errors start: 45 of the 100 requests a minute fail from here on

POLICY_ALERT = {
    "severity": "high",
    "long_window": "30m",
    "short_window": "30m",
    "threshold": 10.0,
    "lookback": "30m",
    "op": "gte",
    "alert_after": "10m",
    "policy": "shop-fast-burn",
    "condition": "fast-burn",
}


def _frame() -> pd.DataFrame:
    starts = np.arange(T0, E + 3600, 60, dtype=np.int64)
    bad = np.where(starts >= E, 45, 0)
    rows = [
        pd.DataFrame({"slo": slo, "start": starts, "good": 100 - bad, "total": 100})
        for slo in ("shop-availability", "shop-checkout")
    ]
    return pd.concat(rows, ignore_index=True)


def test_conditions_are_read_from_referenced_policies() -> None:
    catalog = load_catalog(CATALOG)
    expected = BurnRateCondition(
        policy="shop-fast-burn",
        condition="fast-burn",
        severity="high",
        op="gte",
        threshold=10.0,
        lookback_seconds=1800,
        alert_after_seconds=600,
        notification_targets=("on-call",),
    )
    assert catalog.slos["shop-availability"].policy_alerts == (expected,)
    assert catalog.slos["shop-checkout"].policy_alerts == (expected,)
    assert not catalog.slos["shop-availability"].default_alerts
    assert catalog.slos["shop-checkout"].default_alerts


def test_policy_alert_fires_once_the_condition_held_for_alert_after() -> None:
    """Burn over 30m at E + k minutes = (45k / 3000) / 0.01 = 1.5k, >= 10 from k = 7; held for 10
    minutes (at every boundary of [t − 10m, t]) from k = 17."""
    evaluator = CatalogEvaluator(load_catalog(CATALOG), _frame())
    before = {r.name: r for r in evaluator.evaluate(E + 16 * 60)}
    after = {r.name: r for r in evaluator.evaluate(E + 17 * 60)}
    assert not [a for a in before["shop-availability"].alerts if a.policy]
    assert [a.to_json() for a in after["shop-availability"].alerts] == [POLICY_ALERT]
    # beside the default pairs, which fire here too (burn over 1h and 5m far above 3.36)
    checkout = [a.to_json() for a in after["shop-checkout"].alerts]
    assert POLICY_ALERT in checkout
    assert {"severity": "page", "long_window": "1h", "short_window": "5m", "threshold": 3.36} in [
        {**a, "threshold": round(a["threshold"], 9)} for a in checkout
    ]


def test_replayed_alert_events_start_when_the_engine_fires() -> None:
    catalog = load_catalog(CATALOG)
    evaluator = CatalogEvaluator(catalog, _frame())
    events = {
        slo.name: alert_events(slo.name, objective.name, 7 * 86400, series, slo.policy_alerts)
        for slo, objective, series in evaluator.series(E - 1800, E + 3600)
    }
    only_policy = events["shop-availability"]
    assert only_policy[["severity", "long_window", "short_window", "threshold", "started_at"]].to_dict(
        "records"
    ) == [
        {
            "severity": "high",
            "long_window": "30m",
            "short_window": "30m",
            "threshold": 10.0,
            "started_at": E + 17 * 60,
        }
    ]
    both = events["shop-checkout"]
    assert set(both["severity"]) == {"high", "page", "ticket"}


def _alert_rules(export: Any, sid: str) -> list[dict[str, Any]]:
    return next(g["rules"] for g in export.groups["groups"] if g["name"] == f"sloth-slo-alerts-{sid}")


def test_rules_export_has_the_condition_with_alert_after_as_for() -> None:
    export = export_rules(load_catalog(CATALOG))
    only_policy = _alert_rules(export, "shop-shop-availability-0")
    assert [r["alert"] for r in only_policy] == ["ShopAvailabilityFastBurn"]
    rule = only_policy[0]
    assert rule["for"] == "10m"
    assert " ".join(rule["expr"].split()) == (
        'max without (sloth_window) ( slo:sli_error:ratio_rate30m{sloth_id="shop-shop-availability-0",'
        'sloth_service="shop",sloth_slo="shop-availability-0"} >= (10 * 0.01) )'
    )
    assert rule["labels"]["severity"] == "high" and rule["labels"]["openslo_alert_policy"] == "shop-fast-burn"
    records = [
        r["record"]
        for g in export.groups["groups"]
        if g["name"] == "sloth-slo-sli-recordings-shop-shop-availability-0"
        for r in g["rules"]
    ]
    assert "slo:sli_error:ratio_rate30m" in records
    both = _alert_rules(export, "shop-shop-checkout-0")
    assert [r["alert"] for r in both] == [
        "ShopCheckoutErrorBudgetBurn",
        "ShopCheckoutErrorBudgetBurn",
        "ShopCheckoutFastBurn",
    ]


def test_prometheus_fires_the_policy_alert_after_alert_after(tmp_path: Path) -> None:
    _, promtool = require_prometheus()
    export = export_rules(load_catalog(CATALOG))
    (tmp_path / "rules.yml").write_text(rules_yaml(export))
    check = subprocess.run(
        [promtool, "check", "rules", str(tmp_path / "rules.yml")], capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 0, check.stdout + check.stderr
    rule = _alert_rules(export, "shop-shop-availability-0")[0]
    annotations = {
        k: v.replace("{{$labels.sloth_service}}", "shop").replace(
            "{{$labels.sloth_slo}}", "shop-availability-0"
        )
        for k, v in rule["annotations"].items()
    }
    firing = [{"exp_labels": rule["labels"], "exp_annotations": annotations}]
    test = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {"series": 'shop_requests_total{code="500"}', "values": "0x60 45+45x59"},
                    {"series": 'shop_requests_total{code="200"}', "values": "0+100x60 6055+55x59"},
                ],
                "alert_rule_test": [
                    # the condition holds from about 01:07, so it is pending, not firing, at 01:10
                    {"eval_time": "70m", "alertname": "ShopAvailabilityFastBurn", "exp_alerts": []},
                    {"eval_time": "100m", "alertname": "ShopAvailabilityFastBurn", "exp_alerts": firing},
                    # the default pairs are off for this SLO: no ErrorBudgetBurn alert at all
                    {"eval_time": "100m", "alertname": "ShopAvailabilityErrorBudgetBurn", "exp_alerts": []},
                ],
            }
        ],
    }
    (tmp_path / "policy.test.yml").write_text(yaml.safe_dump(test, sort_keys=False))
    done = subprocess.run(
        [promtool, "test", "rules", "policy.test.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("annotation", "policies", "expected"),
    [
        (
            "policy",
            None,
            "metadata.annotations[slo-pipelines.io/alerting]: turns the default burn-rate alerts off, but no "
            'AlertPolicy of this SLO has a burnrate condition, so nothing would alert (got "policy")',
        ),
        (
            "none",
            ["shop-fast-burn"],
            'metadata.annotations[slo-pipelines.io/alerting]: must be one of both, policy (got "none")',
        ),
    ],
)
def test_alerting_annotation_errors(
    tmp_path: Path, annotation: str, policies: list[str] | None, expected: str
) -> None:
    docs = list(yaml.safe_load_all((CATALOG / "catalog.yaml").read_text()))
    slo = next(d for d in docs if d["metadata"]["name"] == "shop-availability")
    slo["metadata"]["annotations"] = {"slo-pipelines.io/alerting": annotation}
    if policies is None:
        slo["spec"].pop("alertPolicies")
    (tmp_path / "c.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False))
    with pytest.raises(CatalogError) as caught:
        load_catalog(tmp_path)
    assert [f"{i.path}: {i.message}" for i in caught.value.issues] == [expected]


def test_table_names_the_condition_beside_the_default_pairs() -> None:
    evaluator = CatalogEvaluator(load_catalog(CATALOG), _frame())
    results = {r.name: r.to_json() for r in evaluator.evaluate(E + 30 * 60)}
    row = result_rows([results["shop-checkout"]])[0]
    assert row[RESULT_HEADERS.index("ALERTS")] == (
        "page:1h/5m,page:6h/30m,ticket:1d/2h,ticket:3d/6h,high:30m(fast-burn)"
    )
