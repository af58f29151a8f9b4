"""Request-log ingestion: the EdgeCasePolicy model, per-request counting, re-weighting and the CLI."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from slo_pipelines.catalog import SLO, CatalogError, load_catalog
from slo_pipelines.catalog.edge_case_policy import (
    DEFAULT_POLICY,
    EdgeCasePolicy,
    LatencyRule,
    PolicyResolutionError,
    SamplingRule,
    catalog_policies,
    parse_edge_case_policy,
    policy_for,
)
from slo_pipelines.catalog.models import Scope
from slo_pipelines.engine.sli.request_logs import LogCounts, RequestLogError, count_requests, log_target
from slo_pipelines.engine.sli.samples import validate_samples
from slo_pipelines.resources.request_log_files import read_request_log

ROOT = Path(__file__).resolve().parents[1]
T0 = 1_793_491_200  # 2026-11-01T00:00:00Z


def policy(**kw: Any) -> EdgeCasePolicy:
    return EdgeCasePolicy(name="test", **kw)


def _slo_doc(
    name: str, service: str, indicator: dict[str, Any], objectives: list[dict[str, Any]], **kw: Any
) -> dict[str, Any]:
    return {
        "apiVersion": "openslo/v1",
        "kind": "SLO",
        "metadata": {"name": name},
        "spec": {
            "service": service,
            "indicator": {"metadata": {"name": f"{name}-sli"}, "spec": indicator},
            "timeWindow": [{"duration": "28d", "isRolling": True}],
            "budgetingMethod": kw.get("method", "Occurrences"),
            "objectives": objectives,
        },
    }


RATIO = {
    "ratioMetric": {
        "good": {"metricSource": {"type": "Prometheus", "spec": {"query": "good"}}},
        "total": {"metricSource": {"type": "Prometheus", "spec": {"query": "total"}}},
    }
}
THRESHOLD = {"thresholdMetric": {"metricSource": {"type": "Prometheus", "spec": {"query": "p"}}}}


def write_catalog(root: Path, *extra: dict[str, Any]) -> Path:
    docs: list[dict[str, Any]] = [
        {"apiVersion": "openslo/v1", "kind": "Service", "metadata": {"name": "api"}, "spec": {}},
        {"apiVersion": "openslo/v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {}},
        _slo_doc("api-availability", "api", RATIO, [{"displayName": "availability", "target": 0.99}]),
        _slo_doc(
            "api-latency",
            "api",
            THRESHOLD,
            [{"displayName": "fast", "op": "lt", "value": 0.3, "target": 0.9}],
        ),
        *extra,
    ]
    root.mkdir(parents=True, exist_ok=True)
    (root / "catalog.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8")
    return root


def edge_doc(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "slo-pipelines/v1",
        "kind": "EdgeCasePolicy",
        "metadata": {"name": name},
        "spec": spec,
    }


@pytest.fixture(scope="module")
def slos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SLO]:
    return load_catalog(write_catalog(tmp_path_factory.mktemp("cat"))).slos


def log(*rows: dict[str, Any]) -> pd.DataFrame:
    """Lines as a JSON reader gives them; `t` is seconds after T0."""
    out = []
    for row in rows:
        line = {"service": "api", "status": 200, **row}
        line["timestamp"] = T0 + line.pop("t", 0)
        out.append(line)
    return pd.DataFrame.from_records(out)


def counts(slo: SLO, frame: pd.DataFrame, pol: EdgeCasePolicy) -> LogCounts:
    return count_requests(frame, log_target(slo, pol), pol)


def totals(result: LogCounts) -> tuple[float, float]:
    return float(result.buckets["good"].sum()), float(result.buckets["total"].sum())


# ---------------------------------------------------------------- the policy document


def test_full_policy_parses_to_typed_rules() -> None:
    spec = {
        "scope": {"slo": "api-latency"},
        "retries": "every_attempt",
        "timeouts": "bad",
        "partialResponses": "excluded",
        "clientErrors": "bad",
        "sampling": {"sampleRateField": "rate", "errorsSampled": True},
        "latency": {
            "field": "took",
            "unit": "us",
            "objectiveUnit": "ms",
            "threshold": {"op": "lte", "value": 250},
        },
        "fields": {"requestId": "trace_id", "status": "code"},
    }
    parsed, issues = parse_edge_case_policy(spec, "p", "cat.yaml[3]")
    assert issues == []
    assert parsed == EdgeCasePolicy(
        name="p",
        scope=Scope(slo="api-latency"),
        retries="every_attempt",
        timeouts="bad",
        partial_responses="excluded",
        client_errors="bad",
        sampling=SamplingRule("rate", True),
        latency=LatencyRule("took", "us", "ms", "lte", 250.0),
        fields=parsed.fields if parsed else DEFAULT_POLICY.fields,
        source="cat.yaml[3]",
    )
    assert parsed is not None and parsed.fields.request_id == "trace_id" and parsed.fields.status == "code"
    assert parsed.fields.timestamp == "timestamp"
    assert "retries=every_attempt" in parsed.describe() and "(cat.yaml[3])" in parsed.describe()


def test_empty_policy_takes_the_documented_defaults() -> None:
    parsed, issues = parse_edge_case_policy({}, "p")
    assert issues == []
    assert parsed is not None
    assert (parsed.retries, parsed.timeouts, parsed.partial_responses, parsed.client_errors) == (
        "final_attempt",
        "bad",
        "bad",
        "excluded",
    )
    assert parsed.sampling == SamplingRule("sample_rate", False)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            {"retries": "final outcome"},
            [("spec.retries", 'must be one of final_attempt, every_attempt (got "final outcome")')],
        ),
        ({"timeouts": "good"}, [("spec.timeouts", 'must be one of bad (got "good")')]),
        ({"clientErrors": 4}, [("spec.clientErrors", "must be a string (got 4)")]),
        (
            {"sampledLogs": "re-weight"},
            [
                (
                    "spec.sampledLogs",
                    "unknown field; known: description, scope, retries, timeouts, partialResponses, "
                    "clientErrors, sampling, latency, fields; "
                    "sampledLogs is now sampling: {sampleRateField, errorsSampled}",
                )
            ],
        ),
        (
            {"sampling": {"errorsSampled": "yes"}},
            [("spec.sampling.errorsSampled", 'must be true or false (got "yes")')],
        ),
        (
            {"latency": {"unit": "minutes"}},
            [("spec.latency.unit", 'must be one of s, ms, us, ns (got "minutes")')],
        ),
        (
            {"scope": {"service": "api"}, "latency": {"threshold": {"op": "lt", "value": 0.3}}},
            [("spec.latency.threshold", "needs scope.slo: a threshold applies to one SLO")],
        ),
        (
            {"latency": {"threshold": {"op": "lt", "value": -1}}, "scope": {"slo": "x"}},
            [("spec.latency.threshold.value", "must be >= 0 (got -1)")],
        ),
        (
            {"fields": {"requestID": "x"}},
            [
                (
                    "spec.fields.requestID",
                    "unknown field; known: timestamp, status, service, requestId, attempt, timeout, partial",
                )
            ],
        ),
        ({"scope": {"team": "x"}}, [("spec.scope.team", "unknown scope field; use service or slo")]),
        ("final", [("spec", 'must be a mapping (got "final")')]),
    ],
)
def test_bad_policy_specs(spec: Any, expected: list[tuple[str, str]]) -> None:
    parsed, issues = parse_edge_case_policy(spec, "p")
    assert parsed is None
    assert issues == expected


def test_catalog_reports_policy_errors_with_file_index_and_path(tmp_path: Path) -> None:
    root = write_catalog(
        tmp_path, edge_doc("p", {"scope": {"service": "ghost"}, "partialResponses": "maybe"})
    )
    with pytest.raises(CatalogError) as err:
        load_catalog(root)
    lines = str(err.value).splitlines()
    assert any("catalog.yaml[4] spec.scope.service: no Service" in line for line in lines)
    assert any(
        'catalog.yaml[4] spec.partialResponses: must be one of good, bad, excluded (got "maybe")' in line
        for line in lines
    )
    assert len(lines) == 2


def test_example_fleet_policy_is_strict_and_typed() -> None:
    catalog = load_catalog(ROOT / "examples" / "fleet")
    (found,) = catalog_policies(catalog.documents)
    assert found.name == "payments-edge-cases"
    assert found.scope == Scope(service="payments-api")
    assert (found.retries, found.partial_responses, found.client_errors) == (
        "final_attempt",
        "bad",
        "excluded",
    )
    assert found.sampling == SamplingRule("sample_rate", False)
    assert found.source.endswith("platform/policies.yaml[2]")


def test_most_specific_policy_wins_and_ties_are_refused() -> None:
    fleet = policy(scope=Scope())
    svc = EdgeCasePolicy(name="svc", scope=Scope(service="api"))
    one = EdgeCasePolicy(name="one", scope=Scope(slo="api-latency"))
    assert policy_for([fleet, svc, one], "api-latency", "api") is one
    assert policy_for([fleet, svc, one], "api-availability", "api") is svc
    assert policy_for([fleet, svc, one], "web-availability", "web") is fleet
    assert policy_for([], "x", "y") is DEFAULT_POLICY
    with pytest.raises(PolicyResolutionError, match="svc, svc2"):
        policy_for([svc, EdgeCasePolicy(name="svc2", scope=Scope(service="api"))], "api-availability", "api")


# ---------------------------------------------------------------- each policy choice changes the counts


RETRIED = [
    {"request_id": "r1", "attempt": 1, "status": 503, "t": 1},
    {"request_id": "r1", "attempt": 2, "status": 502, "t": 2},
    {"request_id": "r1", "attempt": 3, "status": 200, "t": 3},
    {"request_id": "r2", "attempt": 1, "status": 200, "t": 4},
    {"request_id": "r3", "attempt": 1, "status": 200, "t": 5},
    {"request_id": "r3", "attempt": 2, "status": 500, "t": 6},
]


def test_final_attempt_judges_a_request_by_its_last_attempt(slos: dict[str, SLO]) -> None:
    result = counts(slos["api-availability"], log(*RETRIED), policy(retries="final_attempt"))
    assert totals(result) == (2.0, 3.0)  # r1 recovered, r2 fine, r3 failed in the end
    assert result.retries_dropped == 3


def test_every_attempt_counts_each_line(slos: dict[str, SLO]) -> None:
    result = counts(slos["api-availability"], log(*RETRIED), policy(retries="every_attempt"))
    assert totals(result) == (3.0, 6.0)
    assert result.retries_dropped == 0


def test_final_attempt_falls_back_to_time_order_without_attempt_numbers(slos: dict[str, SLO]) -> None:
    lines = log(
        {"request_id": "r1", "status": 200, "t": 9},
        {"request_id": "r1", "status": 503, "t": 2},
        {"status": 503, "t": 3},  # no id: a request of its own
    )
    assert totals(counts(slos["api-availability"], lines, policy())) == (1.0, 2.0)


def test_attempts_without_request_ids_are_refused_under_final_attempt(slos: dict[str, SLO]) -> None:
    lines = log({"attempt": 1, "status": 503}, {"attempt": 2})
    with pytest.raises(RequestLogError, match="'attempt' but no 'request_id'"):
        counts(slos["api-availability"], lines, policy())
    assert totals(counts(slos["api-availability"], lines, policy(retries="every_attempt"))) == (1.0, 2.0)


PARTIAL = [
    {"partial": True, "t": 1},
    {"partial": False, "t": 2},
    {"t": 3},
    {"status": 500, "partial": True, "t": 4},
]


@pytest.mark.parametrize(
    ("rule", "expected"), [("good", (3.0, 4.0)), ("bad", (2.0, 4.0)), ("excluded", (2.0, 3.0))]
)
def test_partial_responses_follow_the_policy(
    slos: dict[str, SLO], rule: Any, expected: tuple[float, float]
) -> None:
    result = counts(slos["api-availability"], log(*PARTIAL), policy(partial_responses=rule))
    assert totals(result) == expected
    assert result.excluded == (1 if rule == "excluded" else 0)


CLIENT = [
    {"status": 404, "t": 1},
    {"status": 429, "t": 2},
    {"status": 200, "t": 3},
    {"status": 301, "t": 4},
    {"status": 503, "t": 5},
]


@pytest.mark.parametrize(
    ("rule", "expected"), [("excluded", (2.0, 3.0)), ("good", (4.0, 5.0)), ("bad", (2.0, 5.0))]
)
def test_client_errors_follow_the_policy(
    slos: dict[str, SLO], rule: Any, expected: tuple[float, float]
) -> None:
    assert totals(counts(slos["api-availability"], log(*CLIENT), policy(client_errors=rule))) == expected


def test_a_timeout_is_bad_whatever_the_status_and_needs_no_status(slos: dict[str, SLO]) -> None:
    lines = log(
        {"status": 200, "timeout": True},
        {"status": None, "timeout": "true"},
        {"timeout": False},
        {"status": 404, "timeout": 1},
    )
    result = counts(slos["api-availability"], lines, policy())
    assert totals(result) == (1.0, 4.0)
    assert result.rejected.empty


def test_lines_are_bucketed_by_the_slo_bucket_and_filtered_by_service(slos: dict[str, SLO]) -> None:
    lines = log({"t": 0}, {"t": 59.9, "status": 500}, {"t": 60}, {"t": 61, "service": "web", "status": 500})
    result = counts(slos["api-availability"], lines, policy())
    assert result.buckets[["start", "good", "total"]].to_dict("records") == [
        {"start": T0, "good": 1.0, "total": 2.0},
        {"start": T0 + 60, "good": 1.0, "total": 1.0},
    ]
    assert result.lines == 3


# ---------------------------------------------------------------- latency objectives


def test_latency_objective_counts_requests_under_the_threshold(slos: dict[str, SLO]) -> None:
    lines = log(
        {"duration_ms": 120},
        {"duration_ms": 299.9},
        {"duration_ms": 300},  # op lt: exactly the threshold is too slow
        {"duration_ms": 900},
        {"duration_ms": 5, "status": 500},  # a fast failure is not a fast success
        {"timeout": True},  # no latency needed: a timeout is bad
        {"duration_ms": 10, "status": 404},  # excluded client error
    )
    result = counts(slos["api-latency"], lines, policy())
    assert totals(result) == (2.0, 6.0)
    target = log_target(slos["api-latency"], policy())
    assert target.latency is not None and target.latency.seconds == pytest.approx(0.3)


def test_latency_units_convert(slos: dict[str, SLO]) -> None:
    lines = log({"took": 0.25}, {"took": 0.35})
    pol = policy(latency=LatencyRule(field="took", unit="s"))
    assert totals(counts(slos["api-latency"], lines, pol)) == (1.0, 2.0)
    pol = policy(latency=LatencyRule(field="took", unit="s", objective_unit="ms"))  # threshold now 0.3 ms
    assert totals(counts(slos["api-latency"], lines, pol)) == (0.0, 2.0)


def test_policy_threshold_turns_a_ratio_slo_into_a_latency_slo(slos: dict[str, SLO]) -> None:
    lines = log({"duration_ms": 100}, {"duration_ms": 700})
    plain = policy(scope=Scope(slo="api-availability"))
    assert totals(counts(slos["api-availability"], lines, plain)) == (2.0, 2.0)
    fast = policy(
        scope=Scope(slo="api-availability"), latency=LatencyRule(threshold_op="lte", threshold_value=0.5)
    )
    assert totals(counts(slos["api-availability"], lines, fast)) == (1.0, 2.0)


def test_timeslice_threshold_slos_and_mixed_thresholds_are_refused(tmp_path: Path) -> None:
    root = write_catalog(
        tmp_path,
        _slo_doc(
            "p99",
            "web",
            THRESHOLD,
            [{"op": "lt", "value": 0.4, "target": 0.99, "timeSliceTarget": 1, "timeSliceWindow": "1m"}],
            method="Timeslices",
        ),
        _slo_doc(
            "two",
            "web",
            THRESHOLD,
            [{"op": "lt", "value": 0.4, "target": 0.9}, {"op": "lt", "value": 1, "target": 0.99}],
        ),
    )
    catalog = load_catalog(root)
    with pytest.raises(RequestLogError, match="Timeslices thresholdMetric SLO judges one value per bucket"):
        log_target(catalog.slos["p99"], DEFAULT_POLICY)
    with pytest.raises(RequestLogError, match=r"different thresholds \(lt 0.4, lt 1\)"):
        log_target(catalog.slos["two"], DEFAULT_POLICY)


# ---------------------------------------------------------------- sampling


def test_sampled_lines_are_reweighted_and_counts_become_fractional(slos: dict[str, SLO]) -> None:
    lines = log({"sample_rate": 0.5}, {"sample_rate": 0.3}, {"status": 503}, {"sample_rate": None})
    result = counts(slos["api-availability"], lines, policy())
    good, total = totals(result)
    assert good == pytest.approx(2 + 1 / 0.3 + 1)
    assert total == pytest.approx(good + 1)
    checked = validate_samples(result.buckets.rename(columns={"start": "timestamp"}))
    assert checked.rejected.empty  # fractional counts are valid samples


def test_sampled_errors_are_refused_unless_declared(slos: dict[str, SLO]) -> None:
    lines = log(
        {"sample_rate": 0.1}, {"status": 200, "sample_rate": 0.1}, {"status": 503, "sample_rate": 0.1, "t": 1}
    )
    lines["row_number"] = [10, 11, 12]
    with pytest.raises(RequestLogError) as err:
        counts(slos["api-availability"], lines, policy())
    assert str(err.value) == (
        "line 12: an error (status 503) is sampled (sample_rate=0.1); 1 error line(s) are sampled, but "
        "EdgeCasePolicy test does not declare sampling.errorsSampled: true"
    )
    declared = policy(sampling=SamplingRule(errors_sampled=True))
    good, total = totals(counts(slos["api-availability"], lines, declared))
    assert (good, total) == (pytest.approx(20.0), pytest.approx(30.0))


def test_excluded_client_errors_may_be_sampled(slos: dict[str, SLO]) -> None:
    lines = log({"status": 404, "sample_rate": 0.1}, {"sample_rate": 0.5})
    assert totals(counts(slos["api-availability"], lines, policy())) == (2.0, 2.0)


@settings(max_examples=60, deadline=None)
@given(
    per_bucket=st.lists(st.tuples(st.integers(0, 40), st.integers(0, 5)), min_size=1, max_size=6),
    keep_every=st.sampled_from([1, 2, 4, 5, 8, 10]),
)
def test_deterministic_sampling_reweights_to_the_true_counts(
    slos: dict[str, SLO], per_bucket: list[tuple[int, int]], keep_every: int
) -> None:
    """Keep every k-th success (rate 1/k) and every error: weighted counts equal the true ones exactly
    whenever each bucket's successes are a multiple of k."""
    rows: list[dict[str, Any]] = []
    true: dict[int, tuple[int, int]] = {}
    for b, (groups, errors) in enumerate(per_bucket):
        successes = groups * keep_every
        true[T0 + 60 * b] = (successes, successes + errors)
        rows += [
            {"t": 60 * b + 1, "sample_rate": 1 / keep_every} for i in range(successes) if i % keep_every == 0
        ]
        rows += [{"t": 60 * b + 2, "status": 500} for _ in range(errors)]
    if not rows:
        return
    result = counts(slos["api-availability"], log(*rows), policy())
    got = {int(r["start"]): (r["good"], r["total"]) for r in result.buckets.to_dict("records")}
    expected = {start: gt for start, gt in true.items() if gt[1] > 0}
    assert got.keys() == expected.keys()
    for start, (good, total) in expected.items():
        assert got[start][0] == pytest.approx(good, rel=1e-12)
        assert got[start][1] == pytest.approx(total, rel=1e-12)


def test_random_sampling_is_unbiased(slos: dict[str, SLO]) -> None:
    """Bernoulli sampling at rate p: the re-weighted count's mean over many trials is the true count."""
    rng = np.random.default_rng(7)
    slo = slos["api-availability"]
    true_good, true_bad, rate, trials = 400, 20, 0.2, 300
    estimates = []
    for _ in range(trials):
        kept = int(rng.binomial(true_good, rate))
        lines = log(*([{"sample_rate": rate}] * kept), *([{"status": 503}] * true_bad))
        estimates.append(totals(counts(slo, lines, policy()))[0])
    mean = float(np.mean(estimates))
    stderr = np.sqrt(true_good * (1 - rate) / rate / trials)  # sd of the Horvitz-Thompson estimate / sqrt(n)
    assert abs(mean - true_good) < 4 * stderr
    assert np.std(estimates) > 0  # the test did sample


# ---------------------------------------------------------------- rejected lines


def test_bad_lines_are_rejected_with_line_numbers_and_reasons(slos: dict[str, SLO]) -> None:
    lines = log(
        {"t": 1},
        {"status": "abc"},
        {"status": None},
        {"status": 700},
        {"sample_rate": 1.5},
        {"sample_rate": "x"},
        {"duration_ms": -3},
        {"duration_ms": None},
        {"timeout": "maybe"},
        {"attempt": 0, "request_id": "q", "duration_ms": 1},
    )
    lines["timestamp"] = lines["timestamp"].astype(object)
    lines.loc[0, "timestamp"] = "2026-11-01T00:00:00"  # no offset
    lines["row_number"] = range(2, 12)
    result = counts(slos["api-latency"], lines, policy())
    rows = result.rejected[["row_number", "field", "reason"]].to_records(index=False).tolist()
    assert rows == [
        (2, "timestamp", "timestamp has no UTC offset"),
        (3, "status", "not an HTTP status (100-599)"),
        (4, "status", "missing status"),
        (5, "status", "not an HTTP status (100-599)"),
        (6, "sample_rate", "sample rate must be in (0, 1]"),
        (7, "sample_rate", "sample rate is not a number"),
        (8, "duration_ms", "latency must be >= 0"),
        (9, "duration_ms", "missing latency"),
        (10, "timeout", "timeout must be true or false"),
        (11, "attempt", "attempt must be a whole number >= 1"),
    ]
    assert result.buckets.empty and result.counted == 0


def test_missing_required_fields_fail_the_whole_log(slos: dict[str, SLO]) -> None:
    with pytest.raises(RequestLogError, match="the log has no 'status' field"):
        counts(slos["api-availability"], log({}).drop(columns="status"), policy())
    with pytest.raises(
        RequestLogError, match="no 'duration_ms' field \\(SLO 'api-latency' judges latency\\)"
    ):
        counts(slos["api-latency"], log({}), policy())


def test_jsonl_reader_keeps_malformed_lines_as_rejections(tmp_path: Path) -> None:
    path = tmp_path / "access.jsonl"
    path.write_text(
        '{"timestamp": 1, "status": 200}\n\n{"timestamp": 2, "status"\n[1, 2]\n'
        '{"timestamp": 3, "status": 500}\n',
        encoding="utf-8",
    )
    read = read_request_log(path)
    assert read.lines["row_number"].tolist() == [1, 5]
    assert read.malformed[["row_number", "reason"]].to_records(index=False).tolist() == [
        (3, "not valid JSON (Expecting ':' delimiter)"),
        (4, "expected a JSON object (got list)"),
    ]


def test_csv_reader_keeps_ragged_lines_as_rejections(tmp_path: Path) -> None:
    path = tmp_path / "access.csv"
    path.write_text(
        "timestamp,status,duration_ms\n2026-11-01T00:00:01Z,200,12\n2026-11-01T00:00:02Z,200\n"
        '"2026-11-01T00:00:03Z",503,"4"\n2026-11-01T00:00:04Z,200,5,extra\n',
        encoding="utf-8",
    )
    read = read_request_log(path)
    assert read.lines["row_number"].tolist() == [2, 4]
    assert read.lines["status"].tolist() == ["200", "503"]
    assert read.malformed[["row_number", "reason"]].to_records(index=False).tolist() == [
        (3, "2 fields, the header has 3"),
        (5, "4 fields, the header has 3"),
    ]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("a.txt", "x", "unsupported log type '.txt'"),
        ("a.jsonl", "", "file is empty"),
        ("b.csv", "\n", "no header"),
    ],
)
def test_unreadable_logs_give_one_line_errors(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(RequestLogError, match=message):
        read_request_log(path)


# ---------------------------------------------------------------- the command, end to end


def ingest(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "slo_pipelines.cli", "ingest", "logs", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def _jsonl(path: Path, rows: list[dict[str, Any]], extra: str = "") -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n" + extra, encoding="utf-8")
    return path


def test_cli_writes_samples_prints_the_policy_and_reports_rejections(tmp_path: Path) -> None:
    catalog = write_catalog(
        tmp_path / "cat", edge_doc("api-rules", {"scope": {"service": "api"}, "clientErrors": "bad"})
    )
    rows = [
        {"timestamp": "2026-11-01T00:00:10Z", "service": "api", "status": 200, "duration_ms": 100},
        {"timestamp": "2026-11-01T00:00:20Z", "service": "api", "status": 404, "duration_ms": 100},
        {
            "timestamp": "2026-11-01T00:01:20Z",
            "service": "api",
            "status": 200,
            "duration_ms": 800,
            "sample_rate": 0.5,
        },
        {"timestamp": "2026-11-01T00:01:30Z", "service": "web", "status": 200},
    ]
    logs = _jsonl(tmp_path / "access.jsonl", rows, "{oops\n")
    out, rejected = tmp_path / "samples.csv", tmp_path / "rejected.csv"
    run = ingest(
        "--catalog", str(catalog), "--logs", str(logs), "--out", str(out), "--rejected", str(rejected)
    )
    assert run.returncode == 0, run.stderr
    assert "policy in force for api-availability: EdgeCasePolicy api-rules" in run.stdout
    assert "clientErrors=bad" in run.stdout
    assert "api-latency: latency (good = succeeded and latency lt 0.3 s" in run.stdout
    assert f"{logs} line 5 line: not valid JSON" in run.stderr
    written = pd.read_csv(out)
    assert written.to_dict("records") == [
        {
            "slo": "api-availability",
            "timestamp": "2026-11-01T00:00:00Z",
            "good": 1.0,
            "total": 2.0,
            "bucket_seconds": 60,
        },
        {
            "slo": "api-availability",
            "timestamp": "2026-11-01T00:01:00Z",
            "good": 2.0,
            "total": 2.0,
            "bucket_seconds": 60,
        },
        {
            "slo": "api-latency",
            "timestamp": "2026-11-01T00:00:00Z",
            "good": 1.0,
            "total": 2.0,
            "bucket_seconds": 60,
        },
        {
            "slo": "api-latency",
            "timestamp": "2026-11-01T00:01:00Z",
            "good": 0.0,
            "total": 2.0,
            "bucket_seconds": 60,
        },
    ]
    assert pd.read_csv(rejected)["row_number"].tolist() == [5]
    evaluated = subprocess.run(
        [
            sys.executable,
            "-m",
            "slo_pipelines.cli",
            "evaluate",
            "--catalog",
            str(catalog),
            "--samples",
            str(out),
            "--at",
            "2026-11-01T00:02:00Z",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert evaluated.returncode == 0, evaluated.stderr
    by_name = {r["name"]: r for r in json.loads(evaluated.stdout)["slos"]}
    assert by_name["api-availability"]["sli"] == pytest.approx(0.75)
    assert by_name["api-latency"]["sli"] == pytest.approx(0.25)


def test_cli_slo_option_and_errors(tmp_path: Path) -> None:
    catalog = write_catalog(tmp_path / "cat")
    logs = _jsonl(tmp_path / "a.jsonl", [{"timestamp": T0, "status": 503, "sample_rate": 0.5}])
    out = tmp_path / "o.jsonl"

    unknown = ingest("--catalog", str(catalog), "--logs", str(logs), "--out", str(out), "--slo", "nope")
    assert unknown.returncode == 2
    assert unknown.stderr.startswith(
        "slo: error: --slo: no SLO 'nope' in the catalog (known: api-availability, api-latency)"
    )

    no_service = ingest("--catalog", str(catalog), "--logs", str(logs), "--out", str(out))
    assert no_service.returncode == 1
    assert "no 'service' field to match SLOs by service; use --slo NAME" in no_service.stderr

    sampled = ingest(
        "--catalog", str(catalog), "--logs", str(logs), "--out", str(out), "--slo", "api-availability"
    )
    assert sampled.returncode == 1
    assert sampled.stderr.count("\n") == 1 and "Traceback" not in sampled.stderr
    assert f"slo: error: {logs}: line 1: an error (status 503) is sampled" in sampled.stderr
    assert not out.exists()

    bad_out = ingest("--catalog", str(catalog), "--logs", str(logs), "--out", str(tmp_path / "o.txt"))
    assert bad_out.returncode == 2 and "--out:" in bad_out.stderr

    missing = ingest("--catalog", str(catalog), "--logs", str(tmp_path / "none.jsonl"), "--out", str(out))
    assert missing.returncode == 1 and "file not found" in missing.stderr

    usage = ingest("--catalog", str(catalog))
    assert usage.returncode == 2 and "required" in usage.stderr
