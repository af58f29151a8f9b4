"""DESIGN.md §3 "Counters" against a real Prometheus: new series, `le` compared numerically, and a
latency threshold that some histogram series lack. Data is loaded with `promtool` (see
tests/prometheus_server.py); the first case is the new-series-first-sample field report verbatim."""

import time
from pathlib import Path

import pytest

from slo_pipelines.catalog import load_catalog
from slo_pipelines.engine.common.timeutil import parse_instant
from slo_pipelines.ingest.prometheus import ClientPool, IngestError, ingest_catalog
from slo_pipelines.quality.series_consistency import NEW_SERIES_RULE, audit_series_consistency
from slo_pipelines.resources.prometheus import ClientSettings, PrometheusClient
from tests.prometheus_server import prometheus_with_history

REPORT = Path(__file__).resolve().parent / "fixtures" / "field_reports" / "new-series-first-sample"


def _pool(catalog_dir: Path, url: str) -> tuple[ClientPool, object]:
    catalog = load_catalog(catalog_dir)
    make = lambda u: PrometheusClient(ClientSettings(url=u, max_retries=0, min_scrape_interval_seconds=15))  # noqa: E731
    return ClientPool(catalog, make, url), catalog


def test_new_series_counts_its_first_value(tmp_path: Path) -> None:
    """The `code="500"` series appears at 00:20:00 with value 4: bad 4, total 1197 (1193 + 4)."""
    with prometheus_with_history(tmp_path, (REPORT / "series.om").read_text()) as url:
        pool, catalog = _pool(REPORT, url)
        start, end = parse_instant("2026-05-01T00:00:00Z"), parse_instant("2026-05-01T00:30:00Z")
        result = ingest_catalog(catalog, pool, start, end)  # type: ignore[arg-type]
    b = result.buckets
    assert len(b) == 30 and result.rejected.empty
    assert (b["total"].sum(), b["good"].sum()) == (1197.0, 1193.0)
    assert b.set_index("start").loc[parse_instant("2026-05-01T00:19:00Z"), ["good", "total"]].tolist() == [
        10 * 4,
        10 * 4 + 4,
    ]
    assert b.set_index("start").loc[parse_instant("2026-05-01T00:10:00Z"), "total"] == 33  # restart: +3
    assert result.new_series == [
        {
            "slo": "orders-availability",
            "series": 'orders_requests_total{code="500",instance="pod-a"}',
            "first_sample": "2026-05-01T00:20:00Z",
            "first_value": 4.0,
        }
    ]
    [finding] = [f for f in audit_series_consistency(result.series_stats) if f.name == NEW_SERIES_RULE]
    assert finding.success and finding.unexpected_count == 1
    assert finding.failing_slos[0]["new_series"][0]["first_value"] == 4.0


HISTOGRAM_CATALOG = """\
apiVersion: openslo/v1
kind: Service
metadata: {name: api}
spec: {description: API}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: NAME}
spec:
  service: api
  indicator:
    metadata: {name: NAME-sli}
    spec:
      thresholdMetric:
        metricSource: {type: prometheus, spec: {query: 'sum by (le) (METRIC{job="api"})'}}
  timeWindow: [{duration: 28d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{displayName: fast, op: lte, value: THRESHOLD, target: 0.9}]
"""


def _histogram_lines(t0: int) -> tuple[str, int]:
    """`renamed_bucket`: le="1" until t0+600, then le="1.0" (the counter carries on); `mixed_bucket`:
    instance a has boundaries 0.1, 0.3, +Inf and instance b 0.5, +Inf. Returns (text, scrapes in range)."""
    lines = []
    fast = slow = 0
    in_range = 0
    for i in range(-20, 81):  # every 15 s from t0-300 to t0+1200
        t = t0 + 15 * i
        fast, slow = fast + 3, slow + 2
        le = "1" if t <= t0 + 600 else "1.0"
        lines.append(f'renamed_bucket{{job="api",le="{le}"}} {fast} {t}')
        lines.append(f'renamed_bucket{{job="api",le="+Inf"}} {fast + slow} {t}')
        for le_a, v in (("0.1", fast), ("0.3", fast + slow), ("+Inf", fast + slow)):
            lines.append(f'mixed_bucket{{instance="a",job="api",le="{le_a}"}} {v} {t}')
        for le_b, v in (("0.5", fast), ("+Inf", fast + slow)):
            lines.append(f'mixed_bucket{{instance="b",job="api",le="{le_b}"}} {v} {t}')
        in_range += int(t0 < t <= t0 + 1200)
    by_name = sorted(lines, key=lambda line: line.split("{")[0])  # one family after the other
    return "\n".join(by_name) + "\n# EOF\n", in_range


def test_le_renamed_mid_range_keeps_the_increase_and_missing_boundaries_are_errors(tmp_path: Path) -> None:
    t0 = (int(time.time()) - 6 * 3600) // 3600 * 3600
    text, scrapes = _histogram_lines(t0)
    renamed, mixed = tmp_path / "renamed", tmp_path / "mixed"
    for d, metric, threshold in ((renamed, "renamed_bucket", "1"), (mixed, "mixed_bucket", "0.3")):
        d.mkdir()
        yaml = HISTOGRAM_CATALOG.replace("METRIC", metric).replace("THRESHOLD", threshold)
        (d / "slo.yaml").write_text(yaml.replace("NAME", d.name))
    with prometheus_with_history(tmp_path, text) as url:
        pool, catalog = _pool(renamed, url)
        result = ingest_catalog(catalog, pool, t0, t0 + 1200)  # type: ignore[arg-type]
        pool, catalog = _pool(mixed, url)
        with pytest.raises(IngestError) as refused:
            ingest_catalog(catalog, pool, t0, t0 + 1200)  # type: ignore[arg-type]
    b = result.buckets
    assert (b["good"].sum(), b["total"].sum()) == (3 * scrapes, 5 * scrapes)
    assert (b["good"] == 3 * 4).all() and len(b) == 20 and result.new_series == []
    message = str(refused.value)
    assert "threshold 0.3 is not a bucket boundary of every histogram series" in message
    assert 'mixed_bucket{instance="b",job="api"} (le: 0.5, +Inf)' in message
    assert 'instance="a"' not in message
