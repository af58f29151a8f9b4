"""`slo rules export`: the rule file's shape, `promtool check rules`, and a real Prometheus over known data.

The real-Prometheus test writes four hours of 15 s counter scrapes (two instances, a 0.25 % error
baseline and a 40-minute incident at 30 % errors) as OpenMetrics, backfills them with `promtool` and
evaluates the exported alert expressions at past instants with `query_range` (each recording-rule
reference replaced by its definition, since recording rules only evaluate at the present). The engine
evaluates the same scrapes turned into exact per-bucket increases; both must agree at every instant
where the engine's burn rates are clearly on one side of the thresholds.
"""

import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import requests
import yaml

from slo_pipelines.catalog import load_catalog
from slo_pipelines.cli import main
from slo_pipelines.engine.alerting.prometheus_rules import export_rules, label_filter, rules_yaml
from slo_pipelines.engine.alerting.rules import ALERT_RULES
from slo_pipelines.engine.budgets.evaluate import CatalogEvaluator
from slo_pipelines.engine.sli.counters import CounterSeries, bucket_increases
from tests.prometheus_server import prometheus_with_history, require_prometheus

SCRAPE = 15
HOURS = 4
INCIDENT = (2 * 3600, 2 * 3600 + 40 * 60)  # seconds after t0
MARGIN = 0.10  # an instant is "clear" when every pair's min burn is >10 % away from its threshold
RATIO_TOLERANCE = 0.02
WINDOW_SECONDS = {"1h": 3600, "6h": 21600, "1d": 86400}

CATALOG = """\
apiVersion: openslo/v1
kind: DataSource
metadata: {name: prom}
spec: {type: Prometheus, connectionDetails: {url: "http://127.0.0.1:9090"}}
---
apiVersion: openslo/v1
kind: Service
metadata: {name: api}
spec: {description: API}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: api-errors}
spec:
  service: api
  indicator:
    metadata: {name: api-errors}
    spec:
      ratioMetric:
        counter: true
        bad:
          metricSource: {metricSourceRef: prom, spec: {query: 'sum(app_requests_total{code=~"5.."})'}}
        total:
          metricSource: {metricSourceRef: prom, spec: {query: 'sum by (code) (app_requests_total)'}}
  timeWindow: [{duration: 28d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{displayName: ok, target: 0.99}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: api-ok}
spec:
  service: api
  indicator:
    metadata: {name: api-ok}
    spec:
      ratioMetric:
        counter: false
        good:
          metricSource:
            metricSourceRef: prom
            spec: {query: 'sum(increase(app_requests_total{code!~"5.."}[$__bucket]))'}
        total:
          metricSource:
            metricSourceRef: prom
            spec: {query: 'sum(increase(app_requests_total[$__bucket]))'}
  timeWindow: [{duration: 1M, isRolling: false, calendar: {startTime: "2024-01-01 00:00:00", timeZone: UTC}}]
  budgetingMethod: Occurrences
  objectives: [{displayName: strict, target: 0.995}, {displayName: loose, target: 0.98}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: api-slices}
spec:
  service: api
  indicator:
    metadata: {name: api-slices}
    spec:
      ratioMetric:
        counter: true
        good:
          metricSource: {metricSourceRef: prom, spec: {query: 'sum(app_requests_total{code!~"5.."})'}}
        total:
          metricSource: {metricSourceRef: prom, spec: {query: 'sum(app_requests_total)'}}
  timeWindow: [{duration: 28d, isRolling: true}]
  budgetingMethod: Timeslices
  objectives: [{displayName: ok, target: 0.99, timeSliceTarget: 0.95, timeSliceWindow: 1m}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: api-gauge}
spec:
  service: api
  indicator:
    metadata: {name: api-gauge}
    spec:
      ratioMetric:
        counter: false
        good:
          metricSource: {metricSourceRef: prom, spec: {query: 'sum(ok_per_minute)'}}
        total:
          metricSource: {metricSourceRef: prom, spec: {query: 'sum(all_per_minute)'}}
  timeWindow: [{duration: 28d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{displayName: ok, target: 0.99}]
"""


def _catalog_dir(tmp: Path) -> Path:
    d = tmp / "catalog"
    d.mkdir(exist_ok=True)
    (d / "slos.yaml").write_text(CATALOG)
    return d


def _run_cli(argv: list[str]) -> int:
    return main(argv)


# -- the rule file ----------------------------------------------------------------------------------


def test_export_names_thresholds_and_skips(tmp_path: Path) -> None:
    export = export_rules(load_catalog(_catalog_dir(tmp_path)))
    assert export.exported == ("api-api-errors-0", "api-api-ok-0", "api-api-ok-1")
    skipped = {s.slo: s.reason for s in export.skipped}
    assert set(skipped) == {"api-slices", "api-gauge"}
    assert "Timeslices" in skipped["api-slices"]
    assert "counter: false and no $__bucket" in skipped["api-gauge"]
    assert any("1M is recorded as a rolling 30d" in w for w in export.warnings)
    groups = {g["name"]: g["rules"] for g in export.groups["groups"]}
    sli = {r["record"]: r for r in groups["sloth-slo-sli-recordings-api-api-errors-0"]}
    assert list(sli) == [
        f"slo:sli_error:ratio_rate{w}" for w in ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "4w")
    ]
    assert sli["slo:sli_error:ratio_rate1h"]["labels"] == {
        "sloth_id": "api-api-errors-0",
        "sloth_service": "api",
        "sloth_slo": "api-errors-0",
        "sloth_window": "1h",
    }
    # counter selectors become sum(rate(sel[W])); the grouping of the total query is dropped
    one_line = " ".join(sli["slo:sli_error:ratio_rate1h"]["expr"].split())
    assert (
        one_line
        == '( sum(rate(app_requests_total{code=~"5.."}[1h])) ) / ( sum(rate(app_requests_total[1h])) )'
    )
    ok = {r["record"]: r for r in groups["sloth-slo-sli-recordings-api-api-ok-1"]}
    assert "sum(increase(app_requests_total[6h]))" in ok["slo:sli_error:ratio_rate6h"]["expr"]
    assert ok["slo:sli_error:ratio_rate6h"]["expr"].startswith("1 - (")
    meta = {r["record"]: r["expr"] for r in groups["sloth-slo-meta-recordings-api-api-ok-1"]}
    assert meta["slo:objective:ratio"] == "vector(0.98)"
    assert meta["slo:error_budget:ratio"] == "vector(1-0.98)"
    assert meta["slo:time_period:days"] == "vector(30)"
    alerts = groups["sloth-slo-alerts-api-api-errors-0"]
    assert [a["labels"]["sloth_severity"] for a in alerts] == ["page", "ticket"]
    # P = 28 d: 0.02·P/1h = 13.44, 0.05·P/6h = 5.6, 0.10·P/1d = 2.8, 0.10·P/3d = 0.9333…
    factors = [re.findall(r"> \(([0-9.]+) \* 0\.01\)", a["expr"]) for a in alerts]
    assert factors == [["13.44", "13.44", "5.6", "5.6"], ["2.8", "2.8", "0.933333333333", "0.933333333333"]]


def test_promtool_accepts_the_exported_rules(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, promtool = require_prometheus()
    out = tmp_path / "rules.yml"
    assert _run_cli(["rules", "export", "--catalog", str(_catalog_dir(tmp_path)), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "not exported: SLO api-gauge" in err and "not exported: SLO api-slices" in err
    assert "# Not exported" in out.read_text()
    check = subprocess.run([promtool, "check", "rules", str(out)], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    assert re.search(r"SUCCESS: (\d+) rules found", check.stdout)
    # a broken expression is refused by the same check, so the check above means something
    out.write_text(out.read_text().replace("sum(rate(", "sum(rate((", 1))
    bad = subprocess.run([promtool, "check", "rules", str(out)], capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0


def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    catalog = _catalog_dir(tmp_path)
    assert (
        _run_cli(["rules", "export", "--catalog", str(catalog), "--out", str(tmp_path / "no" / "r.yml")]) == 2
    )
    assert capsys.readouterr().err.strip().count("\n") == 0
    only_slices = tmp_path / "slices"
    only_slices.mkdir()
    docs = CATALOG.split("---\n")
    (only_slices / "s.yaml").write_text(
        "---\n".join(d for d in docs if "api-errors" not in d and "api-ok" not in d)
    )
    assert _run_cli(["rules", "export", "--catalog", str(only_slices)]) == 1
    assert "no SLO objective can be expressed" in capsys.readouterr().err
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "s.yaml").write_text(CATALOG.replace("target: 0.99}", "target: 1.5}", 1))
    assert _run_cli(["rules", "export", "--catalog", str(broken)]) == 1
    err = capsys.readouterr().err
    assert "target" in err and "Traceback" not in err


# -- a real Prometheus ------------------------------------------------------------------------------


@dataclass
class Instance:
    name: str
    offset: int  # seconds after t0 of the first scrape


def _events(i: int, t: int, t0: int, instance: int) -> tuple[int, int]:
    """(ok, errors) seen by the scrape at `t`: ~100 requests, 0.25 % errors, 30 % during the incident."""
    n = 80 + (i * 37 + instance * 11) % 41
    baseline = 1 if (i + instance) % 4 == 0 else 0  # ~0.25 per 100
    errors = round(0.3 * n) if INCIDENT[0] <= t - t0 < INCIDENT[1] else baseline
    return n - errors, errors


def _scrapes(t0: int) -> dict[tuple[str, str], tuple[list[int], list[int]]]:
    """(instance, code) → (timestamps ms, cumulative values)."""
    out: dict[tuple[str, str], tuple[list[int], list[int]]] = {}
    for k, inst in enumerate((Instance("a", 7), Instance("b", 11))):
        # the series start at 0, as new series do: a first value counts as events (DESIGN.md §3 "Counters")
        ts, ok_v, err_v, ok, err = [], [], [], 0, 0
        for i in range(HOURS * 3600 // SCRAPE + 1):
            t = t0 + inst.offset + i * SCRAPE
            if i:
                o, e = _events(i, t, t0, k)
                ok, err = ok + o, err + e
            ts.append(t * 1000)
            ok_v.append(ok)
            err_v.append(err)
        out[(inst.name, "200")] = (ts, ok_v)
        out[(inst.name, "500")] = (ts, err_v)
    return out


def _openmetrics(scrapes: dict[tuple[str, str], tuple[list[int], list[int]]]) -> str:
    lines = ["# TYPE app_requests counter", "# HELP app_requests Requests served."]
    for (inst, code), (ts, values) in scrapes.items():
        lines += [
            f'app_requests_total{{code="{code}",instance="{inst}"}} {v} {t / 1000:.3f}'
            for t, v in zip(ts, values, strict=True)
        ]
    return "\n".join([*lines, "# EOF"]) + "\n"


def _engine_buckets(scrapes: dict[tuple[str, str], tuple[list[int], list[int]]], t0: int) -> pd.DataFrame:
    """Exact per-minute increases: errors and totals for api-errors, ok and totals for api-ok."""

    def series(codes: tuple[str, ...]) -> list[CounterSeries]:
        return [
            CounterSeries(
                {"instance": inst, "code": code}, np.asarray(ts, np.int64), np.asarray(v, np.float64)
            )
            for (inst, code), (ts, v) in scrapes.items()
            if code in codes
        ]

    end = t0 + HOURS * 3600 + 60

    def per_bucket(codes: tuple[str, ...]) -> pd.Series:
        inc = bucket_increases(series(codes), t0 - 3600, end, 60).increases
        return pd.Series(inc["increase"].to_numpy(), index=inc["start"].to_numpy())

    total, errors = per_bucket(("200", "500")), per_bucket(("500",))
    good = total - errors.reindex(total.index).fillna(0.0)
    frames = [
        pd.DataFrame({"slo": slo, "start": total.index, "good": good.to_numpy(), "total": total.to_numpy()})
        for slo in ("api-errors", "api-ok")
    ]
    return pd.concat(frames, ignore_index=True)


@dataclass
class Served:
    url: str
    t0: int
    catalog_dir: Path
    buckets: pd.DataFrame


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("prom_rules")
    t0 = (int(time.time()) - (HOURS + 4) * 3600) // 3600 * 3600  # clear of the head block's 3 hours
    scrapes = _scrapes(t0)
    with prometheus_with_history(root, _openmetrics(scrapes)) as url:
        yield Served(url, t0, _catalog_dir(root), _engine_buckets(scrapes, t0))


def _inline(expr: str, recordings: dict[str, str]) -> str:
    """`expr` with every `name{filter}` of a recording rule replaced by `(its definition)`."""
    for ref, definition in recordings.items():
        expr = expr.replace(ref, f"({definition})")
    assert "slo:" not in expr, expr
    return expr


def _query_range(url: str, expr: str, start: int, end: int) -> dict[int, float]:
    """Instant → value of a single-series (or empty) result, evaluated at start, start+60, ..., end."""
    r = requests.get(
        f"{url}/api/v1/query_range",
        params={"query": expr, "start": str(start), "end": str(end), "step": "60"},
        timeout=60,
    )
    body = r.json()
    assert r.status_code == 200 and body["status"] == "success", body
    result = body["data"]["result"]
    assert len(result) <= 1, result
    return {int(t): float(v) for t, v in result[0]["values"]} if result else {}


def _rules_of(export_groups: dict[str, Any], sid: str) -> tuple[dict[str, str], list[dict[str, Any]]]:
    groups = {g["name"]: g["rules"] for g in export_groups["groups"]}
    recordings = {}
    for rule in groups[f"sloth-slo-sli-recordings-{sid}"]:
        ids = {k: v for k, v in rule["labels"].items() if k != "sloth_window"}
        recordings[f"{rule['record']}{label_filter(ids)}"] = rule["expr"]
    return recordings, groups[f"sloth-slo-alerts-{sid}"]


@pytest.mark.parametrize(
    ("slo", "index", "sid"), [("api-errors", 0, "api-api-errors-0"), ("api-ok", 0, "api-api-ok-0")]
)
def test_alerts_fire_when_the_engine_says_so(served: Served, slo: str, index: int, sid: str) -> None:
    catalog = load_catalog(served.catalog_dir)
    export = export_rules(catalog)
    # the file promtool checked is what is evaluated here: read it back from its YAML
    groups = yaml.safe_load(rules_yaml(export))
    recordings, alerts = _rules_of(groups, sid)
    start, end = served.t0 + 1800, served.t0 + HOURS * 3600
    spec = catalog.slos[slo]
    objective = spec.objectives[index]
    period = spec.time_window.duration.nominal_seconds()
    evaluator = CatalogEvaluator(catalog, served.buckets).evaluator(spec, objective, start, end)
    ats = np.arange(start, end + 1, 60, dtype=np.int64)
    engine = evaluator.series(ats).set_index("at")
    budget = 1.0 - objective.target

    # the windowed error ratios themselves: Prometheus extrapolates, the engine counts exactly
    # (the engine counts the scrape pair straddling the window's start; Prometheus extrapolates the
    # window's mean rate over those seconds, which matters only when the start is in the incident, whose
    # error rate is far from the window's mean)
    boundaries = np.array(INCIDENT) + served.t0
    for window, seconds in WINDOW_SECONDS.items():
        ref = next(k for k in recordings if k.startswith(f"slo:sli_error:ratio_rate{window}{{"))
        prom = _query_range(served.url, recordings[ref], start, end)
        assert set(prom) == set(int(t) for t in ats)
        burn = dict(
            zip(ats.tolist(), engine[f"burn_{window}"].to_numpy(dtype=np.float64).tolist(), strict=True)
        )
        for t, value in prom.items():
            exact = burn[t] * budget
            at_incident = boundaries[0] - 300 <= t - seconds <= boundaries[1] + 300
            assert at_incident or abs(value - exact) <= RATIO_TOLERANCE * exact, (
                window,
                t - served.t0,
                value,
                exact,
            )

    checked: dict[str, tuple[int, int]] = {}
    for alert in alerts:
        severity = alert["labels"]["sloth_severity"]
        fired = set(_query_range(served.url, _inline(alert["expr"], recordings), start, end))
        rules = [r for r in ALERT_RULES if r.severity == severity]
        engine_fires = np.zeros(len(ats), dtype=bool)
        clear = np.ones(len(ats), dtype=bool)
        for rule in rules:
            col = f"alert_{rule.severity}_{rule.long_window}_{rule.short_window}"
            engine_fires |= engine[col].to_numpy(dtype=bool)
            lowest = np.minimum(
                engine[f"burn_{rule.long_window}"].to_numpy(), engine[f"burn_{rule.short_window}"].to_numpy()
            )
            clear &= np.abs(lowest / rule.threshold(period) - 1) > MARGIN
        prom_fires = np.isin(ats, sorted(fired))
        # both outcomes occur at clear instants, so agreement is not vacuous
        assert engine_fires[clear].any() and (~engine_fires[clear]).any(), severity
        mismatched = [int(t) - served.t0 for t in ats[clear & (engine_fires != prom_fires)]]
        assert mismatched == [], (severity, mismatched)
        # near the edges they may differ, but only by a few minutes around each change of state
        edges = ats[np.flatnonzero(np.diff(engine_fires.astype(int))) + 1]
        for t in ats[engine_fires != prom_fires]:
            assert np.min(np.abs(edges - t)) <= 5 * 60, (severity, int(t) - served.t0)
        checked[severity] = (int(engine_fires.sum()), int(prom_fires.sum()))
    assert set(checked) == {"page", "ticket"}
    # the incident pages: well inside it (35 minutes in) the page fires, 30 minutes before it does not
    page = next(a for a in alerts if a["labels"]["sloth_severity"] == "page")
    paged = _query_range(served.url, _inline(page["expr"], recordings), start, end)
    assert served.t0 + INCIDENT[0] + 35 * 60 in paged
    assert served.t0 + INCIDENT[0] - 30 * 60 not in paged
    assert served.t0 + INCIDENT[1] + 45 * 60 not in paged
