"""Ingestion against a real Prometheus loaded with known counter data through `promtool`.

The data is written as OpenMetrics text, turned into TSDB blocks by `promtool tsdb create-blocks-from
openmetrics` and served by a real `prometheus` process. Samples lie six hours in the past, clear of the
head block's three most recent hours that backfilling must not touch; a long retention keeps the blocks.
Every scrape is built from a known number of events, so the expected per-bucket counts are known
before Prometheus sees anything, and ingestion must reproduce them exactly.
"""

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from slo_pipelines.catalog import load_catalog
from slo_pipelines.cli.ingest import add_prometheus_parser
from slo_pipelines.engine.sli.samples import validate_samples
from slo_pipelines.ingest.prometheus import ClientPool, IngestError, ingest_catalog
from slo_pipelines.resources.prometheus import ClientSettings, PrometheusClient
from slo_pipelines.resources.sample_files import read_samples
from tests.local_http import refused_url
from tests.prometheus_server import prometheus_with_history

BUCKET = 60
START_AGO = 6 * 3600


@dataclass
class Scrape:
    """A scrape at `t_ms` that saw `events` new events; `restarted`: the process restarted before it."""

    t_ms: int
    events: int
    restarted: bool = False


def _series_scrapes(t0: int, offset_s: float, every: int, count: int, seed: int) -> list[Scrape]:
    return [Scrape(round((t0 + offset_s + i * every) * 1000), (seed * 7 + i * 3) % 11) for i in range(count)]


def _values(scrapes: list[Scrape], initial: int) -> list[int]:
    """Counter values as the process would expose them: cumulative, restarting from 0 on a restart."""
    out, value = [], initial
    for s in scrapes:
        value = s.events if s.restarted else value + s.events
        out.append(value)
    return out


def _expected(scrapes: list[Scrape], start: int, end: int, new: bool = False) -> dict[int, int]:
    """Events per bucket by construction: each scrape's events happened in the bucket before it.

    `new`: the series has no sample in the hour before its first in the range, so it starts from 0
    and its first scrape's events count (DESIGN.md §3 "Counters"); else the first scrape is a baseline.
    """
    out: dict[int, int] = {}
    for s in scrapes if new else scrapes[1:]:
        bucket = (s.t_ms - 1) // 1000 // BUCKET * BUCKET
        if start <= bucket < end:
            out[bucket] = out.get(bucket, 0) + s.events
    return out


def _add(a: dict[int, int], b: dict[int, int]) -> dict[int, int]:
    return {k: a.get(k, 0) + b.get(k, 0) for k in set(a) | set(b)}


@dataclass
class Fixture:
    url: str
    catalog_dir: Path
    start: int
    end: int
    expected_good: dict[int, int]
    expected_total: dict[int, int]
    expected_le03: dict[int, int]
    expected_all: dict[int, int]
    gap_bucket: int
    reset_bucket: int


def _openmetrics(t0: int) -> tuple[str, dict[str, object]]:
    ok_a = _series_scrapes(t0, -110, 15, 140, 1)
    # scrape gap: instance a missed 3 minutes of scrapes
    ok_a = [s for s in ok_a if not (t0 + 600 <= s.t_ms / 1000 < t0 + 780)]
    # container restart: the counter starts again from 0
    reset_index = next(i for i, s in enumerate(ok_a) if s.t_ms / 1000 >= t0 + 1207)
    ok_a[reset_index].restarted = True
    err_a = _series_scrapes(t0, -110, 15, 140, 2)
    # series churn: instance b goes away after 10 minutes, instance c appears at 12 minutes
    ok_b = [s for s in _series_scrapes(t0, -53, 30, 70, 3) if s.t_ms / 1000 < t0 + 600]
    ok_c = [s for s in _series_scrapes(t0, 0, 30, 70, 4) if s.t_ms / 1000 >= t0 + 727]
    lines = ["# TYPE http_requests counter", "# HELP http_requests Requests served."]
    families = [
        ('{code="200",instance="a"}', ok_a, 1000),
        ('{code="500",instance="a"}', err_a, 40),
        ('{code="200",instance="b"}', ok_b, 5),
        ('{code="200",instance="c"}', ok_c, 0),
    ]
    for labels, scrapes, initial in families:
        for s, v in zip(scrapes, _values(scrapes, initial), strict=True):
            lines.append(f"http_requests_total{labels} {v} {s.t_ms / 1000:.3f}")
    # a latency histogram scraped every 20 s (bucket counters are cumulative over `le`)
    lat_fast = _series_scrapes(t0, -95, 20, 100, 5)
    lat_mid = _series_scrapes(t0, -95, 20, 100, 6)
    lat_slow = _series_scrapes(t0, -95, 20, 100, 7)
    fast_v = _values(lat_fast, 0)
    mid_v = [f + m for f, m in zip(fast_v, _values(lat_mid, 0), strict=True)]
    inf_v = [m + s for m, s in zip(mid_v, _values(lat_slow, 0), strict=True)]
    lines += ["# TYPE latency_seconds histogram", "# HELP latency_seconds Request latency."]
    for i, s in enumerate(lat_fast):
        ts = f"{s.t_ms / 1000:.3f}"
        lines.append(f'latency_seconds_bucket{{job="api",le="0.1"}} {fast_v[i]} {ts}')
        lines.append(f'latency_seconds_bucket{{job="api",le="0.3"}} {mid_v[i]} {ts}')
        lines.append(f'latency_seconds_bucket{{job="api",le="+Inf"}} {inf_v[i]} {ts}')
        lines.append(f'latency_seconds_count{{job="api"}} {inf_v[i]} {ts}')
        lines.append(f'latency_seconds_sum{{job="api"}} {inf_v[i] * 0.2:.3f} {ts}')
    lines.append("# EOF")
    known = {
        "ok": [ok_a, ok_b, ok_c],
        "err": [err_a],
        "le03": [lat_fast, lat_mid],
        "all": [lat_fast, lat_mid, lat_slow],
        "reset_t_ms": ok_a[reset_index].t_ms,
    }
    return "\n".join(lines) + "\n", known


CATALOG = """\
apiVersion: openslo/v1
kind: DataSource
metadata: {name: prom}
spec:
  type: Prometheus
  connectionDetails: {url: "URL"}
---
apiVersion: openslo/v1
kind: Service
metadata: {name: api}
spec: {description: API}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: api-availability}
spec:
  service: api
  indicator:
    metadata: {name: api-ok}
    spec:
      ratioMetric:
        counter: true
        good:
          metricSource:
            metricSourceRef: prom
            spec: {query: 'sum(http_requests_total{code!~"5.."})'}
        total:
          metricSource:
            metricSourceRef: prom
            spec: {query: 'sum by (code) (http_requests_total)'}
  timeWindow: [{duration: 28d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{displayName: ok, target: 0.99}]
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
          metricSource:
            metricSourceRef: prom
            spec: {query: 'http_requests_total{code="500"}'}
        total:
          metricSource:
            metricSourceRef: prom
            spec: {query: 'sum(http_requests_total)'}
  timeWindow: [{duration: 28d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{displayName: ok, target: 0.99}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: api-latency}
spec:
  service: api
  indicator:
    metadata: {name: api-latency}
    spec:
      thresholdMetric:
        metricSource:
          metricSourceRef: prom
          spec: {query: 'sum by (le) (latency_seconds_bucket{job="api"})'}
  timeWindow: [{duration: 28d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{displayName: fast, op: lte, value: THRESHOLD, target: 0.9}]
"""


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fixture]:
    root = tmp_path_factory.mktemp("prometheus")
    t0 = (int(time.time()) - START_AGO) // 3600 * 3600
    text, known = _openmetrics(t0)
    with prometheus_with_history(root, text) as url:
        catalog_dir = root / "catalog"
        catalog_dir.mkdir()
        (catalog_dir / "slos.yaml").write_text(CATALOG.replace("URL", url).replace("THRESHOLD", "0.3"))
        start, end = t0, t0 + 1800
        ok_a, ok_b, ok_c = known["ok"]  # type: ignore[misc]
        # instance c appears 12 minutes into the range: a new series, counted from 0
        ok = [_expected(ok_a, start, end), _expected(ok_b, start, end), _expected(ok_c, start, end, new=True)]
        good: dict[int, int] = {}
        for part in ok:
            good = _add(good, part)
        total = _add(good, _expected(known["err"][0], start, end))  # type: ignore[index]
        le03: dict[int, int] = {}
        for part in known["le03"]:  # type: ignore[attr-defined]
            le03 = _add(le03, _expected(part, start, end))
        every: dict[int, int] = {}
        for part in known["all"]:  # type: ignore[attr-defined]
            every = _add(every, _expected(part, start, end))
        reset_t = int(known["reset_t_ms"])  # type: ignore[call-overload]
        yield Fixture(
            url=url,
            catalog_dir=catalog_dir,
            start=start,
            end=end,
            expected_good=good,
            expected_total=total,
            expected_le03=le03,
            expected_all=every,
            gap_bucket=t0 + 660,
            reset_bucket=(reset_t - 1) // 1000 // BUCKET * BUCKET,
        )


def _pool(fx: Fixture, catalog_dir: Path | None = None) -> tuple[ClientPool, object]:
    catalog = load_catalog(catalog_dir or fx.catalog_dir)
    pool = ClientPool(catalog, lambda url: PrometheusClient(ClientSettings(url=url, max_retries=0)))
    return pool, catalog


def _by_start(frame: pd.DataFrame, slo: str, column: str) -> dict[int, float]:
    rows = frame[frame["slo"] == slo]
    return dict(zip(rows["start"].astype(int), rows[column].astype(float), strict=True))


def test_counter_ratio_matches_known_increases_exactly(prometheus: Fixture) -> None:
    pool, catalog = _pool(prometheus)
    result = ingest_catalog(catalog, pool, prometheus.start, prometheus.end)  # type: ignore[arg-type]
    total = _by_start(result.buckets, "api-availability", "total")
    good = _by_start(result.buckets, "api-availability", "good")
    # while no 2xx series was scraped (gap + churn) only errors have data: good is unknown there,
    # so those buckets are quarantined with a reason instead of being written as good = 0
    unknown_good = set(prometheus.expected_total) - set(prometheus.expected_good)
    assert unknown_good
    rejected = result.rejected[result.rejected["slo"] == "api-availability"]
    assert set(rejected["start"]) == unknown_good
    assert set(rejected["reason"]) == {"good has no data in a bucket where total has"}
    assert total == {k: float(v) for k, v in prometheus.expected_total.items() if k not in unknown_good}
    assert good == {k: float(v) for k, v in prometheus.expected_good.items()}
    # inside the scrape gap of instance a (and before instance c appeared) good is unknown
    assert prometheus.gap_bucket in unknown_good
    # a restart is counted from zero, not as a huge negative or positive jump
    assert 0 <= total[prometheus.reset_bucket] <= 4 * 10 + 30
    assert min(total) == prometheus.start and max(total) < prometheus.end
    # bad/total form: good = total - bad; a bucket without 2xx data simply has good = 0 there
    errors_total = _by_start(result.buckets, "api-errors", "total")
    assert errors_total == {k: float(v) for k, v in prometheus.expected_total.items()}
    errors_good = _by_start(result.buckets, "api-errors", "good")
    assert errors_good == {k: float(prometheus.expected_good.get(k, 0)) for k in errors_total}


def test_histogram_threshold_reads_the_matching_le_bucket(prometheus: Fixture) -> None:
    pool, catalog = _pool(prometheus)
    result = ingest_catalog(catalog, pool, prometheus.start, prometheus.end, ["api-latency"])  # type: ignore[arg-type]
    good = _by_start(result.buckets, "api-latency", "good")
    total = _by_start(result.buckets, "api-latency", "total")
    assert total == {k: float(v) for k, v in prometheus.expected_all.items()}
    # le="0.3" counts the fast and the middle observations, le="+Inf" all of them
    assert good == {k: float(prometheus.expected_le03.get(k, 0)) for k in total}
    assert sum(good.values()) < sum(total.values())


def test_threshold_between_boundaries_is_refused_with_the_boundaries(
    prometheus: Fixture, tmp_path: Path
) -> None:
    text = (prometheus.catalog_dir / "slos.yaml").read_text().replace("value: 0.3", "value: 0.25")
    (tmp_path / "slos.yaml").write_text(text)
    pool, catalog = _pool(prometheus, tmp_path)
    with pytest.raises(
        IngestError, match=r"0\.25 is not a bucket boundary; boundaries \(le\): 0\.1, 0\.3, \+Inf"
    ):
        ingest_catalog(catalog, pool, prometheus.start, prometheus.end, ["api-latency"])  # type: ignore[arg-type]


def test_cli_writes_the_samples_format(prometheus: Fixture, tmp_path: Path) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="slo ingest")
    add_prometheus_parser(parser.add_subparsers(dest="source", required=True))
    out = tmp_path / "samples.csv"
    args = parser.parse_args(
        [
            "prometheus",
            "--catalog",
            str(prometheus.catalog_dir),
            "--url",
            prometheus.url,
            "--start",
            str(prometheus.start),
            "--end",
            str(prometheus.end),
            "--out",
            str(out),
            "--slo",
            "api-availability",
        ]
    )
    assert args.func(args) == 0
    written = read_samples(out)
    assert list(written.columns[:4]) == ["slo", "timestamp", "good", "total"]
    checked = validate_samples(written, known_slos=["api-availability"])
    assert checked.rejected.empty
    unknown_good = set(prometheus.expected_total) - set(prometheus.expected_good)
    assert _by_start(checked.clean, "api-availability", "total") == {
        k: float(v) for k, v in prometheus.expected_total.items() if k not in unknown_good
    }
    quarantined = pd.read_csv(out.with_name("samples.csv.rejected.csv"))
    assert set(quarantined["start"]) == unknown_good


def test_cli_reports_an_unreachable_server_in_one_line(
    prometheus: Fixture, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="slo ingest")
    add_prometheus_parser(parser.add_subparsers(dest="source", required=True))
    dead = refused_url()
    args = parser.parse_args(
        [
            *["prometheus", "--catalog", str(prometheus.catalog_dir), "--url", dead, "--retries", "0"],
            *[
                "--start",
                str(prometheus.start),
                "--end",
                str(prometheus.end),
                "--out",
                str(tmp_path / "o.csv"),
            ],
        ]
    )
    assert args.func(args) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot connect" in err and "http_requests_total" in err


def test_pipeline_pulls_prometheus_into_the_warehouse(prometheus: Fixture, tmp_path: Path) -> None:
    """sli_buckets with Prometheus ingestion on: the stored buckets are the exact increases."""
    import dagster as dg

    from slo_pipelines.engine.common.partition_ranges import day_key
    from slo_pipelines.resources.prometheus import PrometheusResource
    from tests.pipeline_helpers import definitions, run_range

    home = tmp_path / "home"
    home.mkdir()
    defs = definitions(
        tmp_path, catalog=prometheus.catalog_dir, prometheus=PrometheusResource(ingest=True, max_retries=0)
    )
    day = 86400
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        result = run_range(
            defs, instance, day_key(prometheus.start // day), day_key((prometheus.end - 1) // day)
        )
        assert result.asset_materializations_for_node("sli_buckets")
        checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
        assert {"counter_resets", "series_churn", "region_gaps", "region_overlap"} <= set(checks)
    history = defs.resources["warehouse"].read_audit_results()
    resets = history[history["check_name"] == "counter_resets"]
    assert len(resets) >= 1 and resets["success"].all()  # one restart in the fixture, under the limit
    stored = defs.resources["warehouse"].read_buckets(prometheus.start, prometheus.end, ["api-availability"])
    assert stored.set_index("start")["good"].to_dict() == {
        k: float(v) for k, v in prometheus.expected_good.items()
    }
    assert stored.set_index("start")["total"].to_dict() == {
        k: float(v) for k, v in prometheus.expected_total.items() if k in prometheus.expected_good
    }


def test_series_stats_show_the_fixtures_restart_and_churn(prometheus: Fixture) -> None:
    """The fixture's one container restart (instance a's 2xx counter) and its churn (b leaves after
    10 minutes, c arrives at 12) appear in the ingestion's per-day series consistency."""
    pool, catalog = _pool(prometheus)
    result = ingest_catalog(catalog, pool, prometheus.start, prometheus.end)  # type: ignore[arg-type]
    stats = result.series_stats.set_index("slo")
    assert sorted(stats.index) == ["api-availability", "api-errors", "api-latency"]
    day = pd.Timestamp(prometheus.start, unit="s", tz="UTC").strftime("%Y-%m-%d")
    assert set(stats["day"]) == {day}
    # both counter SLOs read the same four series (their good/bad series are among the total's)
    for name in ("api-availability", "api-errors"):
        row = stats.loc[name]
        assert row["series"] == 4
        assert row["resets"] == 1 and row["restarts"] == 1
        assert row["reset_instances"] == ["a"]
        assert row["reset_series"] == ['http_requests_total{code="200",instance="a"}']
        assert row["started_series"] == ['http_requests_total{code="200",instance="c"}']
        assert row["ended_series"] == ['http_requests_total{code="200",instance="b"}']
        assert row["churn_ratio"] == 0.5
        # b is still fresh when c appears, so four report for a moment; a's 3-minute scrape gap is
        # shorter than the staleness window, so a never drops out
        assert row["max_concurrent"] == 4 and row["min_concurrent"] == 3
        assert pd.isna(row["region_gap_minutes"]) and row["regions"] == []
    # the histogram stands as its +Inf series: one series, steady
    latency = stats.loc["api-latency"]
    assert latency["series"] == 1 and latency["resets"] == 0 and latency["churn_ratio"] == 0.0


RATE_SLO = """
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: api-rate}
spec:
  service: api
  indicator:
    metadata: {name: api-rate}
    spec:
      ratioMetric:
        counter: false
        good:
          metricSource:
            metricSourceRef: prom
            spec: {query: 'sum(increase(http_requests_total{code!~"5.."}[$__bucket]))'}
        total:
          metricSource:
            metricSourceRef: prom
            spec: {query: 'sum(increase(http_requests_total[$__bucket]))'}
  timeWindow: [{duration: 28d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{displayName: ok, target: 0.99}]
"""


def test_non_counter_queries_are_evaluated_per_bucket(prometheus: Fixture, tmp_path: Path) -> None:
    """`$__bucket` becomes the bucket length and Prometheus evaluates the query once per bucket; its
    own extrapolation makes the values approximate, unlike the exact raw-counter path."""
    (tmp_path / "slos.yaml").write_text((prometheus.catalog_dir / "slos.yaml").read_text() + RATE_SLO)
    pool, catalog = _pool(prometheus, tmp_path)
    result = ingest_catalog(catalog, pool, prometheus.start, prometheus.end, ["api-rate"])  # type: ignore[arg-type]
    rate = result.buckets[result.buckets["slo"] == "api-rate"].set_index("start")
    assert len(rate) >= 25 and rate.index.min() >= prometheus.start and rate.index.max() < prometheus.end
    assert (rate["good"] <= rate["total"] + 1e-9).all()
    exact = prometheus.expected_total
    common = [t for t in rate.index if t in exact and exact[t] > 0]
    ratio = sum(rate.loc[t, "total"] for t in common) / sum(exact[t] for t in common)
    assert 0.7 < ratio < 1.3, ratio
