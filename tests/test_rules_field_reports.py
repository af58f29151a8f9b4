"""The field reports (tests/fixtures/field_reports/README.md) with their expected values, and the
rules export's alert identity checked by `promtool test rules`."""

import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from slo_pipelines.catalog import load_catalog
from slo_pipelines.cli import main
from slo_pipelines.engine.alerting.prometheus_rules import RulesError, export_rules, rules_yaml
from slo_pipelines.engine.budgets.evaluate import CatalogEvaluator
from tests.prometheus_server import require_prometheus

REPORTS = Path(__file__).resolve().parent / "fixtures" / "field_reports"
PERIOD = REPORTS / "period_rule_nan"
IDS = 'sloth_id="billing-billing-availability-0", sloth_service="billing", sloth_slo="billing-availability-0"'


def _run_cli(argv: list[str]) -> int:
    return main(argv)


def _promtool_test(promtool: str, folder: Path, *tests: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, "test", "rules", *tests], cwd=folder, capture_output=True, text=True, timeout=120
    )


SAME_QUERY_WARNING = (
    "same_query/slo.yaml[1] spec.indicator.spec.ratioMetric.good: same query as total: the SLI is "
    'constant (always 100 %) (got "sum(checkout_requests_total)")'
)


def test_same_query_is_a_warning_naming_the_field(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPORTS)
    catalog = load_catalog("same_query")
    assert "checkout-availability" in catalog.slos
    assert [str(w) for w in catalog.warnings] == [SAME_QUERY_WARNING]
    # the export of its (constant) rules says so too
    assert _run_cli(["rules", "export", "--catalog", "same_query"]) == 0
    assert f"slo: warning: {SAME_QUERY_WARNING}" in capsys.readouterr().err.splitlines()


def test_sloth_id_collision_is_an_export_error_naming_the_clash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog_dir = REPORTS / "sloth_id_collision"
    with pytest.raises(RulesError, match="sloth_id 'web-api-errors-0' would name both SLO api-errors"):
        export_rules(load_catalog(catalog_dir))
    out = tmp_path / "rules.yml"
    assert _run_cli(["rules", "export", "--catalog", str(catalog_dir), "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("slo: error: ")
    assert "SLO api-errors (service web" in err and "SLO errors (service web-api" in err
    assert not out.exists()


def test_distinct_ids_once_the_clash_is_renamed(tmp_path: Path) -> None:
    _, promtool = require_prometheus()
    text = (REPORTS / "sloth_id_collision" / "slos.yaml").read_text().replace("web-api", "webapi")
    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / "slos.yaml").write_text(text)
    export = export_rules(load_catalog(tmp_path / "cat"))
    assert export.exported == ("web-api-errors-0", "webapi-errors-0")
    (tmp_path / "rules.yml").write_text(rules_yaml(export))
    check = subprocess.run(
        [promtool, "check", "rules", str(tmp_path / "rules.yml")], capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 0, check.stdout + check.stderr


def _export_period_rules(folder: Path) -> dict[str, Any]:
    export = export_rules(load_catalog(PERIOD / "catalog"))
    (folder / "rules.yml").write_text(rules_yaml(export))
    for test in PERIOD.glob("*.test.yml"):
        (folder / test.name).write_text(test.read_text())
    return export.groups


def test_period_budget_stays_a_number_through_a_quiet_spell(tmp_path: Path) -> None:
    """`slo:period_error_budget_remaining:ratio` = 0.5 (1 % errors, 2 % budget) at 2 h, just after the
    15 quiet minutes, at 5 h, and two days later; Sloth's mean of 5-minute ratios is NaN from 03:00 on."""
    _, promtool = require_prometheus()
    groups = _export_period_rules(tmp_path)
    done = _promtool_test(promtool, tmp_path, "period_gap.test.yml", "period_gap_2d.test.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("SUCCESS") == 2
    # the same tests fail against the mean of the 5-minute ratios, so they do test the period rule
    for group in groups["groups"]:
        for rule in group["rules"]:
            if rule.get("record") == "slo:sli_error:ratio_rate1w":
                short = f"slo:sli_error:ratio_rate5m{{{IDS.replace(', ', ',')}}}"
                rule["expr"] = (
                    f"sum_over_time({short}[1w]) / ignoring (sloth_window) count_over_time({short}[1w])"
                )
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(groups, sort_keys=False))
    sloth = _promtool_test(promtool, tmp_path, "period_gap.test.yml")
    assert sloth.returncode != 0 and "NaN" in sloth.stdout + sloth.stderr


def test_engine_gives_the_same_period_budget_as_the_rules() -> None:
    at = int(pd.Timestamp("2026-05-01T05:00:00Z").timestamp())
    t0 = int(pd.Timestamp("2026-05-01T00:00:00Z").timestamp())
    minutes = np.arange(6 * 60 + 15)
    starts = t0 + 60 * minutes
    quiet = (minutes >= 180) & (minutes < 195)
    total = np.where(quiet, 0, 100)
    good = np.where(quiet, 0, 99)
    frame = pd.DataFrame({"slo": "billing-availability", "start": starts, "good": good, "total": total})
    (result,) = CatalogEvaluator(load_catalog(PERIOD / "catalog"), frame).evaluate(at)
    assert result.remaining_ratio == pytest.approx(0.5, abs=1e-9)
    assert result.total == 100 * (300 - 15)


def _alert_test(rules: dict[str, Any], t: str, alerts: list[dict[str, Any]]) -> dict[str, Any]:
    return {"eval_time": t, "alertname": "BillingAvailabilityErrorBudgetBurn", "exp_alerts": alerts}


def test_a_page_keeps_one_identity_when_the_firing_window_pair_changes(tmp_path: Path) -> None:
    """20 % errors from 01:00 to 01:30, then 4 %: at 01:25 both page pairs fire (1h/5m and 6h/30m), at
    01:45 only 6h/30m does. Alertmanager must see the same page both times: no `sloth_window` label."""
    _, promtool = require_prometheus()
    groups = _export_period_rules(tmp_path)
    alert_rules = next(g["rules"] for g in groups["groups"] if g["name"].startswith("sloth-slo-alerts-"))

    def expected(severity: str) -> dict[str, Any]:
        rule = next(r for r in alert_rules if r["labels"]["severity"] == severity)
        annotations = {
            k: v.replace("{{$labels.sloth_service}}", "billing").replace(
                "{{$labels.sloth_slo}}", "billing-availability-0"
            )
            for k, v in rule["annotations"].items()
        }
        return {"exp_labels": rule["labels"], "exp_annotations": annotations}

    assert all("sloth_window" not in r["labels"] for r in alert_rules)
    both = [expected("page"), expected("ticket")]
    test = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {"series": 'billing_requests_total{code="500"}', "values": "0x60 20+20x29 604+4x29"},
                    {
                        "series": 'billing_requests_total{code="200"}',
                        "values": "0+100x60 6080+80x29 8496+96x29",
                    },
                ],
                "alert_rule_test": [
                    _alert_test(groups, "50m", []),
                    _alert_test(groups, "85m", both),
                    _alert_test(groups, "105m", both),
                ],
            }
        ],
    }
    (tmp_path / "identity.test.yml").write_text(yaml.safe_dump(test, sort_keys=False))
    done = _promtool_test(promtool, tmp_path, "identity.test.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    # the 1h/5m pair really stopped at 01:45, so the identity was tested across a change of pair
    probe = {
        **test,
        "tests": [
            {
                **test["tests"][0],
                "alert_rule_test": [],
                "promql_expr_test": [
                    {
                        "expr": "slo:sli_error:ratio_rate5m > (3.36 * 0.02)",
                        "eval_time": "105m",
                        "exp_samples": [],
                    },
                ],
            }
        ],
    }
    (tmp_path / "probe.test.yml").write_text(yaml.safe_dump(probe, sort_keys=False))
    assert _promtool_test(promtool, tmp_path, "probe.test.yml").returncode == 0
