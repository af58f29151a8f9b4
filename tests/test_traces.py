"""Trace ingestion: OTLP/JSON from the OpenTelemetry SDK, journey latency, service calls, rejections, CLI.

Traces are produced by the OpenTelemetry Python SDK itself (one TracerProvider per service, explicit
start and end times) and written the way the collector's `file` exporter writes them: one
`ExportTraceServiceRequest` per line in the OTLP JSON encoding (hex ids, integer enums, 64-bit
integers as decimal strings).
"""

import base64
import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pytest
import yaml
from google.protobuf.json_format import MessageToDict
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from slo_pipelines.catalog import CatalogError, load_catalog
from slo_pipelines.catalog.journeys import (
    JourneyMatch,
    UserJourney,
    catalog_journeys,
    journey_groups,
    parse_user_journey,
)
from slo_pipelines.engine.sli.otlp_spans import flatten_otlp
from slo_pipelines.engine.sli.traces import (
    TraceError,
    TraceSet,
    assemble_traces,
    journey_buckets,
    journey_target,
)
from slo_pipelines.resources.trace_files import read_trace_file

ROOT = Path(__file__).resolve().parents[1]
FLEET = ROOT / "examples" / "fleet"
T0 = 1_772_445_600 * 10**9  # 2026-03-02T10:00:00Z in nanoseconds
MS = 1_000_000


def _hex_ids(node: object) -> None:
    """protobuf's JSON mapping writes bytes as base64; OTLP/JSON writes trace and span ids as hex."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("traceId", "spanId", "parentSpanId") and isinstance(value, str):
                node[key] = base64.b64decode(value).hex()
            else:
                _hex_ids(value)
    elif isinstance(node, list):
        for item in node:
            _hex_ids(item)


def otlp_json_line(spans: Sequence[ReadableSpan]) -> str:
    """One line as the collector's file exporter writes it for a batch of spans."""
    request = MessageToDict(encode_spans(spans), use_integers_for_enums=True)
    _hex_ids(request)
    return json.dumps(request, separators=(",", ":"))


class Fleet:
    """One TracerProvider per service, all exporting into one in-memory exporter."""

    def __init__(self, *services: str) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracers: dict[str, trace.Tracer] = {}
        for service in services:
            provider = TracerProvider(resource=Resource.create({"service.name": service, "team": "shop"}))
            provider.add_span_processor(SimpleSpanProcessor(self.exporter))
            self.tracers[service] = provider.get_tracer("tests.traces")

    def span(
        self,
        service: str,
        name: str,
        start_ms: int,
        end_ms: int | None,
        parent: Span | None = None,
        attributes: dict[str, str] | None = None,
        error: bool = False,
    ) -> Span:
        """A span from `start_ms` to `end_ms` after T0; `end_ms=None` leaves it unended (never exported)."""
        context = trace.set_span_in_context(parent) if parent is not None else None
        span = self.tracers[service].start_span(
            name, context=context, start_time=T0 + start_ms * MS, attributes=attributes
        )
        assert isinstance(span, Span)
        if error:
            span.set_status(Status(StatusCode.ERROR, "payment declined"))
        if end_ms is not None:
            span.end(end_time=T0 + end_ms * MS)
        return span

    def write(self, path: Path, batches: int = 2, repeat_first: bool = False) -> list[ReadableSpan]:
        spans = list(self.exporter.get_finished_spans())
        size = -(-len(spans) // batches)
        lines = [otlp_json_line(spans[i : i + size]) for i in range(0, len(spans), size)]
        if repeat_first:
            lines.append(lines[0])  # an exporter retrying a batch the collector already wrote
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return spans


def build_traces(fleet: Fleet) -> dict[str, Span]:
    """Known traces; the returned spans give their ids."""
    f = fleet
    out: dict[str, Span] = {}
    # A: checkout, 280 ms end to end: payments finishes after the frontend answered
    a = out["a"] = f.span("web-frontend", "POST /checkout", 0, 250)
    f.span("web-frontend", "render", 10, 50, parent=a)
    api = out["a_api"] = f.span("catalog-api", "GET /products", 20, 120, parent=a)
    f.span("catalog-api", "SELECT products", 30, 110, parent=api)
    out["a_pay"] = f.span("payments", "charge", 130, 280, parent=a)
    # B: checkout, 400 ms, same minute -> bad
    b = out["b"] = f.span("web-frontend", "POST /checkout", 1_000, 1_200)
    f.span("payments", "charge", 1_050, 1_400, parent=b)
    # C: checkout exactly 300 ms in the next minute -> good under lte 0.3
    c = out["c"] = f.span("web-frontend", "POST /checkout", 60_000, 60_300)
    f.span("catalog-api", "GET /products", 60_010, 60_100, parent=c)
    # D: checkout, fast but failed -> bad
    out["d"] = f.span("web-frontend", "POST /checkout", 61_000, 61_050, error=True)
    # E: checkout, fast -> good
    out["e"] = f.span("web-frontend", "POST /checkout", 62_000, 62_100)
    # F: month-end billing, recognised by a root span attribute
    billing = out["f"] = f.span(
        "web-frontend", "POST /invoices/run", 5_000, 9_000, attributes={"app.journey": "month-end-billing"}
    )
    f.span("payments", "charge", 5_500, 8_000, parent=billing)
    # G: the root was never exported -> missing root span
    g_root = out["g"] = f.span("web-frontend", "POST /checkout", 2_000, None)
    f.span("payments", "charge", 2_010, 2_100, parent=g_root)
    # H: an intermediate span was lost -> orphan
    h = out["h"] = f.span("web-frontend", "POST /checkout", 3_000, 3_500)
    lost = out["h_lost"] = f.span("catalog-api", "GET /products", 3_010, None, parent=h)
    out["h_leaf"] = f.span("catalog-api", "SELECT products", 3_020, 3_100, parent=lost)
    # I: not a journey
    out["i"] = f.span("web-frontend", "GET /health", 4_000, 4_005)
    return out


def tid(span: Span) -> str:
    return f"{span.get_span_context().trace_id:032x}"


def sid(span: Span) -> str:
    return f"{span.get_span_context().span_id:016x}"


@pytest.fixture
def exported(tmp_path: Path) -> tuple[Path, dict[str, Span]]:
    fleet = Fleet("web-frontend", "catalog-api", "payments")
    spans = build_traces(fleet)
    path = tmp_path / "traces.jsonl"
    fleet.write(path, batches=3, repeat_first=True)
    return path, spans


def ingest(path: Path) -> tuple[TraceSet, list[UserJourney]]:
    journeys = catalog_journeys(load_catalog(FLEET).documents)
    keys = [j.match.attribute_key for j in journeys if j.match is not None and j.match.attribute_key]
    file = read_trace_file(path)
    assert file.malformed.empty
    return assemble_traces(flatten_otlp(file.records, keys), journeys), journeys


def test_file_is_otlp_json_as_the_collector_writes_it(exported: tuple[Path, dict[str, Span]]) -> None:
    path, spans = exported
    lines = path.read_text().splitlines()
    assert len(lines) == 4
    first = json.loads(lines[0])
    rs = first["resourceSpans"][0]
    service_attr = {"key": "service.name", "value": {"stringValue": "web-frontend"}}
    assert service_attr in rs["resource"]["attributes"]
    span = rs["scopeSpans"][0]["spans"][0]
    assert span["traceId"] == tid(spans["a"]) and len(span["spanId"]) == 16
    assert isinstance(span["startTimeUnixNano"], str) and int(span["startTimeUnixNano"]) == T0
    assert "parentSpanId" not in span  # the root: default values are left out


def test_end_to_end_latency_journeys_and_rejections(exported: tuple[Path, dict[str, Span]]) -> None:
    path, spans = exported
    result, _ = ingest(path)
    traces = result.traces.set_index("trace_id")
    assert set(traces.index) == {tid(spans[k]) for k in "abcdefi"}
    expected = {"a": 0.28, "b": 0.4, "c": 0.3, "d": 0.05, "e": 0.1, "f": 4.0, "i": 0.005}
    for key, seconds in expected.items():
        assert traces.loc[tid(spans[key]), "latency_seconds"] == pytest.approx(seconds, abs=1e-12)
    assert traces.loc[tid(spans["a"]), "spans"] == 5
    journeys = {k: traces.loc[tid(spans[k]), "journey"] for k in "abcdefi"}
    assert journeys == {
        **dict.fromkeys("abcde", "checkout"),
        "f": "month-end-billing",
        "i": "",
    }
    first = json.loads(path.read_text().splitlines()[0])
    first_batch = sum(len(ss["spans"]) for rs in first["resourceSpans"] for ss in rs["scopeSpans"])
    assert result.duplicates == first_batch > 0  # the repeated batch is counted once

    rejected = result.rejected.set_index("trace_id")["reason"]
    assert set(rejected.index) == {tid(spans["g"]), tid(spans["h"])}
    assert rejected[tid(spans["g"])] == "missing root span"
    assert rejected[tid(spans["h"])] == (
        f"orphan span {sid(spans['h_leaf'])}: parent {sid(spans['h_lost'])} is not in the trace"
    )


def test_service_calls_are_top_level_spans(exported: tuple[Path, dict[str, Span]]) -> None:
    path, spans = exported
    result, _ = ingest(path)
    calls = result.calls[result.calls["trace_id"] == tid(spans["a"])].set_index("service")
    # nested spans of the same service (render, SELECT products) are not calls of their own
    assert sorted(calls.index) == ["catalog-api", "payments", "web-frontend"]
    assert calls.loc["web-frontend", "latency_seconds"] == pytest.approx(0.25, abs=1e-12)
    assert calls.loc["catalog-api", "latency_seconds"] == pytest.approx(0.1, abs=1e-12)
    assert calls.loc["payments", "latency_seconds"] == pytest.approx(0.15, abs=1e-12)
    assert calls.loc["payments", "span_id"] == sid(spans["a_pay"])
    # no call comes from a rejected trace
    assert not set(result.calls["trace_id"]) & {tid(spans["g"]), tid(spans["h"])}


def test_buckets_count_traces_against_the_latency_slo(exported: tuple[Path, dict[str, Span]]) -> None:
    path, _ = exported
    result, journeys = ingest(path)
    catalog = load_catalog(FLEET)
    checkout = next(j for j in journeys if j.name == "checkout")
    target = journey_target(checkout, catalog.slos["frontend-latency"])
    assert (target.op, target.seconds) == ("lte", 0.3)
    buckets = journey_buckets(result.traces, target)
    minute = T0 // 10**9
    assert buckets.to_dict("records") == [
        {"slo": "frontend-latency", "start": minute, "good": 1, "total": 2, "bucket_seconds": 60},
        {"slo": "frontend-latency", "start": minute + 60, "good": 2, "total": 3, "bucket_seconds": 60},
    ]


def test_unreadable_span_rejects_its_whole_trace(tmp_path: Path) -> None:
    fleet = Fleet("web-frontend", "payments")
    root = fleet.span("web-frontend", "POST /checkout", 0, 100)
    fleet.span("payments", "charge", 10, 90, parent=root)
    path = tmp_path / "t.jsonl"
    fleet.write(path, batches=1)
    record = json.loads(path.read_text())
    payments = next(
        rs
        for rs in record["resourceSpans"]
        if {"key": "service.name", "value": {"stringValue": "payments"}} in rs["resource"]["attributes"]
    )
    payments["scopeSpans"][0]["spans"][0]["endTimeUnixNano"] = "soon"
    path.write_text("not json at all\n" + json.dumps(record) + "\n[1, 2]\n", encoding="utf-8")
    file = read_trace_file(path)
    assert file.malformed[["row_number", "reason"]].to_dict("records") == [
        {"row_number": 1, "reason": "not valid JSON (Expecting value)"},
        {"row_number": 3, "reason": "expected a JSON object (got list)"},
    ]
    frames = flatten_otlp(file.records)
    assert len(frames.spans) == 1
    assert frames.rejected[["row_number", "field", "reason"]].to_dict("records") == [
        {
            "row_number": 2,
            "field": "endTimeUnixNano",
            "reason": "endTimeUnixNano must be an integer number of nanoseconds",
        }
    ]
    result = assemble_traces(frames, [])
    assert result.traces.empty
    trace_rows = result.rejected[result.rejected["field"] == "trace"]
    assert trace_rows["reason"].tolist() == [
        "span unreadable (line 2: endTimeUnixNano must be an integer number of nanoseconds)"
    ]


def test_several_matching_journeys_reject_the_trace(tmp_path: Path) -> None:
    fleet = Fleet("web-frontend")
    root = fleet.span("web-frontend", "POST /checkout", 0, 100, attributes={"app.journey": "x"})
    path = tmp_path / "t.jsonl"
    fleet.write(path, batches=1)
    journeys = [
        UserJourney("by-name", ("s",), match=JourneyMatch(root_span="POST /checkout")),
        UserJourney("by-attr", ("s",), match=JourneyMatch(attribute_key="app.journey", attribute_value="x")),
        UserJourney("by-team", ("s",), match=JourneyMatch(attribute_key="team", attribute_value="other")),
    ]
    result = assemble_traces(flatten_otlp(read_trace_file(path).records, ["app.journey", "team"]), journeys)
    assert result.traces.empty
    assert result.rejected["trace_id"].tolist() == [tid(root)]
    assert result.rejected["reason"].tolist() == ["root span matches several journeys (by-name, by-attr)"]


def test_resource_attribute_matches_when_the_span_has_none(tmp_path: Path) -> None:
    fleet = Fleet("web-frontend")
    fleet.span("web-frontend", "GET /", 0, 100)
    path = tmp_path / "t.jsonl"
    fleet.write(path, batches=1)
    journeys = [UserJourney("shop", ("s",), match=JourneyMatch(attribute_key="team", attribute_value="shop"))]
    result = assemble_traces(flatten_otlp(read_trace_file(path).records, ["team"]), journeys)
    assert result.traces["journey"].tolist() == ["shop"]


def test_journey_targets() -> None:
    catalog = load_catalog(FLEET)
    ratio = catalog.slos["frontend-latency"]
    from_query = journey_target(UserJourney("j", (ratio.name,), latency_slo=ratio.name), ratio)
    assert (from_query.op, from_query.seconds, from_query.origin) == (
        "lte",
        0.3,
        'good query bucket le="0.3"',
    )
    with pytest.raises(TraceError, match=r"Timeslices thresholdMetric SLO"):
        slo = catalog.slos["catalog-api-latency"]
        journey_target(UserJourney("j", (slo.name,), latency_slo=slo.name), slo)
    availability = catalog.slos["payments-availability"]
    with pytest.raises(TraceError, match=r"states no latency threshold; set spec\.latencyThreshold"):
        journey_target(UserJourney("j", (availability.name,), latency_slo=availability.name), availability)


def test_parse_user_journey() -> None:
    journey, issues = parse_user_journey(
        {
            "slos": ["a", "b"],
            "match": {"attribute": {"key": "http.status_code", "value": 200}},
            "latencySlo": "b",
            "latencyThreshold": {"op": "lt", "value": 1.5},
        },
        "j",
    )
    assert issues == []
    assert journey is not None
    assert journey.match == JourneyMatch(attribute_key="http.status_code", attribute_value="200")
    assert (journey.latency_slo, journey.threshold_op, journey.threshold_seconds) == ("b", "lt", 1.5)

    _, issues = parse_user_journey(
        {
            "slos": ["a"],
            "match": {"rootSpan": "x", "attribute": {"key": "k", "value": "v"}},
            "latencySlo": "z",
            "latencyThreshold": {"op": "below", "value": -1},
            "matches": {},
        }
    )
    assert issues == [
        ("spec.matches", "unknown field; known: description, slos, match, latencySlo, latencyThreshold"),
        ("spec.match", "set exactly one of rootSpan or attribute"),
        ("spec.latencyThreshold.op", 'must be one of lt, lte, gt, gte (got "below")'),
        ("spec.latencyThreshold.value", "must be >= 0 seconds (got -1)"),
        ("spec.latencySlo", 'must be one of spec.slos (got "z")'),
    ]
    _, issues = parse_user_journey({"slos": ["a"], "latencySlo": "a"})
    assert issues == [("spec.latencySlo", "needs spec.match: without it no trace belongs to the journey")]


def test_catalog_reports_journey_errors_and_groups(tmp_path: Path) -> None:
    catalog = load_catalog(FLEET)
    groups = journey_groups(catalog)
    assert groups["month-end-billing"] == [
        "legacy-billing-availability",
        "invoicing-availability",
        "notifications-delivery",
    ]
    assert groups["checkout"][0] == "frontend-latency" and len(groups["checkout"]) == 5

    broken = tmp_path / "fleet"
    shutil.copytree(FLEET, broken)
    docs = list(yaml.safe_load_all((broken / "journeys.yaml").read_text()))
    docs[1]["spec"]["match"] = {"attribute": {"key": "app.journey"}}
    docs[1]["spec"]["latencySlo"] = "ghost"
    (broken / "journeys.yaml").write_text(yaml.safe_dump_all(docs))
    with pytest.raises(CatalogError) as info:
        load_catalog(broken)
    text = str(info.value)
    assert "journeys.yaml[1] spec.match.attribute.value: is required" in text
    assert 'journeys.yaml[1] spec.latencySlo: must be one of spec.slos (got "ghost")' in text


def _cli(*argv: str) -> int:
    from slo_pipelines.cli import main

    return main(["ingest", *argv])


def test_cli_writes_buckets_and_reports(
    exported: tuple[Path, dict[str, Span]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, spans = exported
    out = tmp_path / "samples.csv"
    rejected = tmp_path / "rejected.jsonl"
    code = _cli(
        "traces",
        "--catalog",
        str(FLEET),
        "--traces",
        str(path),
        "--out",
        str(out),
        "--rejected",
        str(rejected),
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    frame = pd.read_csv(out)
    assert frame[["slo", "timestamp", "good", "total"]].to_dict("records") == [
        {"slo": "frontend-latency", "timestamp": "2026-03-02T10:00:00Z", "good": 1, "total": 2},
        {"slo": "frontend-latency", "timestamp": "2026-03-02T10:01:00Z", "good": 2, "total": 3},
    ]
    assert "7 traces accepted, 2 rejected, 1 matched no journey" in captured.out
    assert "service payments: 3 calls" in captured.out
    assert f"trace {tid(spans['g'])}: missing root span" in captured.err
    lines = [json.loads(line) for line in rejected.read_text().splitlines()]
    assert {row["trace_id"] for row in lines} == {tid(spans["g"]), tid(spans["h"])}


def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.jsonl"
    assert (
        _cli("traces", "--catalog", str(FLEET), "--traces", str(missing), "--out", str(tmp_path / "o.csv"))
        == 1
    )
    assert capsys.readouterr().err.strip() == f"slo: error: {missing}: file not found"
    garbage = tmp_path / "g.jsonl"
    garbage.write_text("{oops\n", encoding="utf-8")
    assert (
        _cli("traces", "--catalog", str(FLEET), "--traces", str(garbage), "--out", str(tmp_path / "o.csv"))
        == 1
    )
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"slo: error: {garbage}: no readable span (1 rejected; line 1: not valid JSON")
    assert "\n" not in err
    code = _cli("traces", "--catalog", str(FLEET), "--traces", str(garbage), "--out", str(tmp_path / "o.txt"))
    assert code == 2
    assert "unsupported file type '.txt'" in capsys.readouterr().err
